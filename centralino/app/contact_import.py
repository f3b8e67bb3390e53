"""Contact import as a job (docs/contacts.md): `do_preview` reads and checks the whole file and stores it with
the per-row errors and what would be created or updated — nothing else is written; `do_start` refuses a
file with invalid rows unless "import valid rows" was chosen; `run` applies the rows in chunks, each chunk
one transaction with the job's counts and resume point, so the counts polled by the page are exact and an
interrupted run resumes where it stopped. Importing the same file again updates nothing (`unchanged`)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update

from centralino.app.contact_access import check_supervisor
from centralino.app.contact_csv import ParsedRow, RowError, parse_row, read
from centralino.app.unit_of_work import unit_of_work
from centralino.domain.access import Principal
from centralino.errors import Conflict, InvalidInput, NotFound
from centralino.events.bus import EventBus
from centralino.storage import auth as auth_repo
from centralino.storage import contact_upsert
from centralino.storage.tables_contacts_admin import contact_imports

log = logging.getLogger(__name__)
CHUNK = 200
MAX_ERRORS = 500
STALE = timedelta(seconds=60)  # a running job not heard of for this long was interrupted: it may be resumed
PUBLIC = ("id", "state", "filename", "file_sha256", "valid_rows_only", "total_rows", "invalid_rows", "processed_rows",
          "created_count", "updated_count", "unchanged_count", "skipped_count", "errors", "preview", "actor",
          "created_at", "updated_at", "finished_at")


def parsed_rows(data: bytes) -> list[ParsedRow | list[RowError]]:
    _, rows = read(data)
    return [parse_row(line, raw) for line, raw in rows]


class ContactImports:
    def __init__(self, engine: Any, bus: EventBus | None, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.bus = bus
        self.clock = clock

    def get(self, principal: Principal, job_id: int) -> dict[str, Any]:
        check_supervisor(principal)
        with self.engine.connect() as conn:
            return self._job(conn, job_id)

    def recent(self, principal: Principal, limit: int = 20) -> list[dict[str, Any]]:
        check_supervisor(principal)
        cols = [contact_imports.c[c] for c in PUBLIC]
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(select(*cols).order_by(contact_imports.c.id.desc()).limit(limit))
                    .mappings()]

    def do_preview(self, principal: Principal, data: bytes, filename: str | None) -> dict[str, Any]:
        check_supervisor(principal)
        rows = parsed_rows(data)
        errors = [e.to_dict() for r in rows if isinstance(r, list) for e in r]
        valid = [r for r in rows if isinstance(r, ParsedRow)]
        now = self.clock()
        with unit_of_work(self.engine, self.bus) as uow:
            would = self._would(uow.conn, valid, errors)
            job_id = int(uow.conn.execute(insert(contact_imports).values(
                state="previewed", filename=(filename or "")[:300] or None,
                file_sha256=hashlib.sha256(data).hexdigest(), content=data, valid_rows_only=False,
                total_rows=len(rows), invalid_rows=len({e["row"] for e in errors}), processed_rows=0,
                created_count=0, updated_count=0, unchanged_count=0, skipped_count=0,
                errors=sorted(errors, key=lambda e: e["row"])[:MAX_ERRORS], preview=would, actor=principal.actor,
                created_at=now, updated_at=now).returning(contact_imports.c.id)).scalar_one())
            return self._job(uow.conn, job_id)

    @staticmethod
    def _would(conn: Connection, valid: list[ParsedRow], errors: list[dict[str, Any]]) -> dict[str, int]:
        """What the run would do, from one identity lookup per chunk; rows naming two contacts become errors."""
        counts = {"would_create": 0, "would_update": 0}
        for start in range(0, len(valid), 500):
            chunk = valid[start:start + 500]
            known = contact_upsert.owners(conn, [i for r in chunk for i in r.identities()])
            for row in chunk:
                try:
                    found = contact_upsert.target(conn, row.contact_id, row.identities(), known)
                except contact_upsert.UpsertRefused as exc:
                    errors.append({"row": row.line, "column": exc.column, "message": exc.message})
                    continue
                counts["would_update" if found is not None else "would_create"] += 1
        return counts

    def do_start(self, principal: Principal, job_id: int, valid_rows_only: bool) -> dict[str, Any]:
        """Check that the job may run and mark it running (the caller then runs it, in the background)."""
        check_supervisor(principal)
        now = self.clock()
        with unit_of_work(self.engine, self.bus) as uow:
            job = self._job(uow.conn, job_id)
            if job["state"] == "done":
                return job  # idempotent: a finished import is not run twice
            resumable = job["state"] == "running" and job["updated_at"] < now - STALE
            if job["state"] != "previewed" and not resumable:
                raise Conflict(f"import {job_id} is {job['state']}", field="job_id", code="import.state")
            if job["invalid_rows"] and not valid_rows_only:
                raise InvalidInput(f"{job['invalid_rows']} rows are invalid: fix the file, or choose to import the "
                                   "valid rows only", field="valid_rows_only", code="import.invalid_rows", status=422)
            uow.conn.execute(update(contact_imports).where(contact_imports.c.id == job_id).values(
                state="running", valid_rows_only=valid_rows_only, updated_at=now))
            auth_repo.audit(uow.conn, at=now, actor_user_id=principal.user_id, actor=principal.actor,
                            action="contacts.import_started", target_type="contact_import", target_id=job_id,
                            details={"rows": job["total_rows"], "valid_rows_only": valid_rows_only})
            return self._job(uow.conn, job_id)

    def run(self, job_id: int) -> None:
        """Apply the rows not yet applied, CHUNK per transaction; the job row carries the counts."""
        with self.engine.connect() as conn:
            job = conn.execute(select(contact_imports).where(contact_imports.c.id == job_id)).mappings().one()
        if job["state"] != "running":
            return
        try:
            rows = parsed_rows(job["content"])
            for start in range(int(job["processed_rows"]), len(rows), CHUNK):
                self._chunk(job_id, rows[start:start + CHUNK])
        except Exception:
            log.exception("contact import %s failed", job_id)
            with self.engine.begin() as conn:
                conn.execute(update(contact_imports).where(contact_imports.c.id == job_id).values(
                    state="failed", updated_at=self.clock(), finished_at=self.clock()))
            raise
        with self.engine.begin() as conn:  # the file was only kept to run it: its personal data goes now
            conn.execute(update(contact_imports).where(contact_imports.c.id == job_id).values(
                state="done", content=b"", updated_at=self.clock(), finished_at=self.clock()))

    def _chunk(self, job_id: int, rows: list[ParsedRow | list[RowError]]) -> None:
        now = self.clock()
        counts = {"created": 0, "updated": 0, "unchanged": 0, "skipped": 0}
        with unit_of_work(self.engine, self.bus) as uow:
            job = uow.conn.execute(select(contact_imports).where(contact_imports.c.id == job_id)
                                   .with_for_update()).mappings().one()
            errors = list(job["errors"])
            known = contact_upsert.owners(uow.conn, [i for r in rows if isinstance(r, ParsedRow)
                                                     for i in r.identities()])
            for row in rows:
                if isinstance(row, list):
                    counts["skipped"] += 1
                    continue
                try:
                    outcome, contact_id = contact_upsert.apply(uow.conn, row, now, known)
                except contact_upsert.UpsertRefused as exc:  # the contacts changed since the preview
                    counts["skipped"] += 1
                    if len(errors) < MAX_ERRORS and not any(e["row"] == row.line for e in errors):
                        errors.append({"row": row.line, "column": exc.column, "message": exc.message})
                    continue
                counts[outcome] += 1
                if outcome == "created":
                    uow.emit("contact.created", contact_id=contact_id)
                elif outcome == "updated":
                    uow.emit("contact.updated", contact_id=contact_id, fields=["import"], actor=job["actor"])
            c = contact_imports.c
            uow.conn.execute(update(contact_imports).where(c.id == job_id).values(
                processed_rows=c.processed_rows + len(rows), created_count=c.created_count + counts["created"],
                updated_count=c.updated_count + counts["updated"],
                unchanged_count=c.unchanged_count + counts["unchanged"],
                skipped_count=c.skipped_count + counts["skipped"], errors=errors, updated_at=now))

    @staticmethod
    def _job(conn: Connection, job_id: int) -> dict[str, Any]:
        row = conn.execute(select(*(contact_imports.c[c] for c in PUBLIC)).where(contact_imports.c.id == job_id)
                           ).mappings().first()
        if row is None:
            raise NotFound(f"no import {job_id}", field="job_id")
        return dict(row)

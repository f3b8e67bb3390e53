"""Retention policies (days per kind of data, administrators only) and their application: the worker calls
`run_once` every few minutes; each configured kind gets one bounded batch per call, in its own transaction,
recorded in retention_runs and logged. `preview` is the dry run: what is due now, nothing changed."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from centralino.app.contact_access import check_admin
from centralino.app.unit_of_work import unit_of_work
from centralino.domain.access import Principal
from centralino.domain.retention import DataKind, check_policies
from centralino.errors import InvalidInput
from centralino.events.bus import EventBus
from centralino.storage import auth as auth_repo
from centralino.storage import retention as repo
from centralino.storage.tables_contacts_admin import retention_policies, retention_runs

log = logging.getLogger(__name__)
BATCH = 500


def configured(conn: Connection) -> dict[DataKind, int]:
    out = {}
    for row in conn.execute(select(retention_policies.c.kind, retention_policies.c.days)):
        try:
            out[DataKind(row.kind)] = int(row.days)
        except ValueError:
            continue  # a kind this version no longer knows: ignored, not guessed at
    return out


class Retention:
    def __init__(self, engine: Any, bus: EventBus | None, media_dir: Path, clock: Callable[[], datetime],
                 batch: int = BATCH) -> None:
        self.engine = engine
        self.bus = bus
        self.media_dir = Path(media_dir)
        self.clock = clock
        self.batch = batch

    def policies(self, principal: Principal) -> list[dict[str, Any]]:
        check_admin(principal)
        with self.engine.connect() as conn:
            rows = {r.kind: dict(r._mapping) for r in conn.execute(select(retention_policies))}
        return [{"kind": k.value, "days": rows.get(k.value, {}).get("days"),
                 "updated_at": rows.get(k.value, {}).get("updated_at"),
                 "updated_by": rows.get(k.value, {}).get("updated_by")} for k in DataKind]

    def do_set(self, principal: Principal, body: Any) -> list[dict[str, Any]]:
        check_admin(principal)
        changes = check_policies(body)
        now = self.clock()
        with unit_of_work(self.engine, self.bus) as uow:
            for kind, days in changes.items():
                uow.conn.execute(delete(retention_policies).where(retention_policies.c.kind == kind.value))
                if days is not None:
                    uow.conn.execute(insert(retention_policies).values(kind=kind.value, days=days, updated_at=now,
                                                                       updated_by=principal.actor))
            auth_repo.audit(uow.conn, at=now, actor_user_id=principal.user_id, actor=principal.actor,
                            action="retention.changed", target_type="retention", target_id=None,
                            details={k.value: d for k, d in changes.items()})
            uow.emit("retention.changed", policies={k.value: d for k, d in changes.items()}, actor=principal.actor)
        return self.policies(principal)

    def preview(self, principal: Principal, kind: str | None = None, days: int | None = None) -> list[dict[str, Any]]:
        """The dry run: per configured kind (or the one asked for, with `days` as a what-if), the cutoff and
        how many rows are due."""
        check_admin(principal)
        now = self.clock()
        with self.engine.connect() as conn:
            plans = configured(conn)
            if kind is not None:
                try:
                    asked = DataKind(kind)
                except ValueError:
                    raise InvalidInput(f"unknown kind {kind!r}", field="kind", code="retention.kind") from None
                what_if = days if days is not None else plans.get(asked)
                if what_if is None:
                    raise InvalidInput(f"{kind} has no policy: give days", field="days", code="retention.days")
                check_policies({"policies": {kind: what_if}})
                plans = {asked: what_if}
            return [{"kind": k.value, "days": d, "cutoff": now - timedelta(days=d),
                     "due": repo.due_counts(conn, k, now - timedelta(days=d))} for k, d in plans.items()]

    def run_once(self) -> int:
        """One batch of every configured kind; how many rows were changed or deleted."""
        now = self.clock()
        with self.engine.connect() as conn:
            plans = configured(conn)
        total = 0
        for kind, days in plans.items():
            cutoff = now - timedelta(days=days)
            with unit_of_work(self.engine, self.bus) as uow:
                batch = repo.apply_batch(uow.conn, kind, cutoff, self.batch)
                if batch.removed:
                    uow.conn.execute(insert(retention_runs).values(kind=kind.value, ran_at=now, cutoff=cutoff,
                                                                   removed=batch.removed, details=batch.details))
            if batch.removed:
                log.info("retention %s: %d removed (before %s): %s", kind.value, batch.removed, cutoff.isoformat(),
                         batch.details)
            self._delete_files(batch.files)
            total += batch.removed
        return total

    def runs(self, principal: Principal, limit: int = 50, before_id: int | None = None) -> list[dict[str, Any]]:
        check_admin(principal)
        r = retention_runs.c
        stmt = select(retention_runs).order_by(r.id.desc()).limit(limit)
        if before_id is not None:
            stmt = stmt.where(r.id < before_id)
        with self.engine.connect() as conn:
            return [dict(x) for x in conn.execute(stmt).mappings()]

    def _delete_files(self, paths: list[str]) -> None:
        if not paths:
            return
        with self.engine.connect() as conn:
            keep = repo.still_used(conn, paths)
        root = self.media_dir.resolve()
        for relative in set(paths) - keep:
            path = (root / relative).resolve()
            if path.is_relative_to(root):
                path.unlink(missing_ok=True)


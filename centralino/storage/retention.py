"""Applying retention, one bounded batch of one kind at a time (domain/retention.py says what each kind
covers). Content is erased where rows carry statistics (messages, media rows, deliveries keep their ids,
statuses and times); pure logs (audit, events, sign-in attempts) are deleted."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, delete, func, null, select, update

from centralino.domain.retention import DataKind
from centralino.storage.contact_erase import GONE, allow_audit_redaction, mark_expression
from centralino.storage.tables import (
    audit_log,
    conversations,
    events,
    message_media,
    messages,
    sign_in_attempts,
    status_history,
    webhook_deliveries,
)
from centralino.storage.tables_contacts_admin import contact_imports

m, mm, wd, sh, cv = messages.c, message_media.c, webhook_deliveries.c, status_history.c, conversations.c


@dataclass
class Batch:
    removed: int = 0
    files: list[str] = field(default_factory=list)  # media files to delete once the batch is committed
    details: dict[str, int] = field(default_factory=dict)


def _not_erased() -> Any:
    return m.content["erased"].as_string().is_(None)


def _due(kind: DataKind, cutoff: datetime) -> list[tuple[str, Select[Any]]]:
    """(what, a SELECT of the due rows' ids) for the kind; several for kinds that span tables."""
    if kind is DataKind.MESSAGE_TEXT:
        return [("messages", select(m.id).where(m.sent_at < cutoff, _not_erased()))]
    if kind is DataKind.MEDIA_FILES:
        return [("message_media", select(mm.id).where(mm.state == "stored", mm.fetched_at < cutoff))]
    if kind is DataKind.WEBHOOK_PAYLOADS:
        return [("webhook_deliveries", select(wd.id).where(wd.state != "pending", wd.received_at < cutoff,
                                                           func.length(wd.body) > 0)),
                ("messages.raw", select(m.id).where(m.created_at < cutoff, m.raw.isnot(None))),
                ("status_history.raw", select(sh.id).where(sh.created_at < cutoff, sh.raw.isnot(None)))]
    if kind is DataKind.CLOSED_CONVERSATIONS:
        closed = select(cv.id).where(cv.status == "resolved", func.coalesce(cv.last_message_at, cv.created_at) < cutoff)
        return [("messages", select(m.id).where(m.conversation_id.in_(closed), _not_erased())),
                ("message_media", select(mm.id).join(messages, m.id == mm.message_id)
                 .where(mm.state == "stored", m.conversation_id.in_(closed)))]
    if kind is DataKind.IMPORT_FILES:
        ci = contact_imports.c
        return [("contact_imports", select(ci.id).where(ci.created_at < cutoff, ci.state != "running",
                                                        func.length(ci.content) > 0))]
    if kind is DataKind.AUDIT_LOG:  # append-only: the entries stay, their details (names, old values) go
        return [("audit_log", select(audit_log.c.id).where(audit_log.c.at < cutoff,
                                                           audit_log.c.details["expired"].as_string().is_(None)))]
    table = {DataKind.EVENTS: (events, events.c.occurred_at),
             DataKind.SIGN_IN_ATTEMPTS: (sign_in_attempts, sign_in_attempts.c.at)}[kind]
    return [(table[0].name, select(table[0].c.id).where(table[1] < cutoff))]


def due_counts(conn: Connection, kind: DataKind, cutoff: datetime) -> dict[str, int]:
    return {what: int(conn.execute(select(func.count()).select_from(stmt.subquery())).scalar_one())
            for what, stmt in _due(kind, cutoff)}


def apply_batch(conn: Connection, kind: DataKind, cutoff: datetime, limit: int) -> Batch:
    batch = Batch()
    for what, stmt in _due(kind, cutoff):
        ids = [int(i) for i in conn.execute(stmt.order_by(stmt.selected_columns[0]).limit(limit)).scalars()]
        if not ids:
            continue
        _apply(conn, what, ids, batch)
        batch.details[what] = len(ids)
        batch.removed += len(ids)
    return batch


def _apply(conn: Connection, what: str, ids: list[int], batch: Batch) -> None:
    if what == "messages":
        conn.execute(update(messages).where(m.id.in_(ids)).values(
            text=mark_expression(m.text), content=GONE, raw=null(), referral=null()))
    elif what == "message_media":
        batch.files += [str(p) for p in conn.execute(select(mm.storage_path).where(mm.id.in_(ids))).scalars() if p]
        conn.execute(update(message_media).where(mm.id.in_(ids)).values(state="erased", storage_path=None))
    elif what == "contact_imports":
        conn.execute(update(contact_imports).where(contact_imports.c.id.in_(ids)).values(content=b""))
    elif what == "webhook_deliveries":
        conn.execute(update(webhook_deliveries).where(wd.id.in_(ids)).values(body=b""))
    elif what == "messages.raw":
        conn.execute(update(messages).where(m.id.in_(ids)).values(raw=null()))
    elif what == "status_history.raw":
        conn.execute(update(status_history).where(sh.id.in_(ids)).values(raw=null()))
    elif what == "audit_log":
        allow_audit_redaction(conn)
        conn.execute(update(audit_log).where(audit_log.c.id.in_(ids)).values(details={"expired": True}))
    else:
        table = {"events": events, "sign_in_attempts": sign_in_attempts}[what]
        conn.execute(delete(table).where(table.c.id.in_(ids)))


def still_used(conn: Connection, paths: list[str]) -> set[str]:
    """Of these media files, those another (kept) media row still uses (files are content-addressed)."""
    if not paths:
        return set()
    return {str(p) for p in conn.execute(select(mm.storage_path).where(mm.storage_path.in_(paths))).scalars()}

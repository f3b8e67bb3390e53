"""One-off: timeline entries for what happened before the timeline existed (`centralino timeline-backfill`).

Messages become message_in / message_out / note / notification / campaign entries (at their created_at, the
time Centralino recorded them, as the live writer does); the stored events the writer reads (assignments,
resolutions, consent, failures, cases, tasks…) become entries at their own time. Idempotent: a message that
already has an entry is skipped, and so is an event whose entry (same kind, time, conversation, case,
message) exists — whether the live writer or an earlier backfill wrote it. Chunked, one transaction per
chunk, so it can run beside live traffic and be stopped and run again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, select

from centralino.app.notifications import ORIGIN as NOTIFICATION_ORIGIN
from centralino.app.timeline import TimelineWriter
from centralino.app.unit_of_work import UnitOfWork
from centralino.domain.timeline import EVENT_TYPES, MESSAGE_EVENTS, Draft, draft_for
from centralino.storage.tables import events, messages
from centralino.storage.tables_timeline import timeline_entries

CHUNK = 2000
MESSAGE_ENTRY_KINDS = ("message_in", "message_out", "note", "notification", "campaign")
# Messages are read from their table; the other shown events from the event log (failures among the ticks).
FROM_EVENTS = sorted((EVENT_TYPES - MESSAGE_EVENTS) | {"message.status_changed"})


@dataclass
class BackfillReport:
    messages: int = 0
    events: int = 0
    skipped_events: int = 0


def message_draft(m: Any) -> Draft:
    origin = str(m.origin or "")
    if m.direction == "in":
        kind, actor = "message_in", "customer"
    elif m.direction == "int":
        kind, actor = "note", None
    elif origin.startswith("campaign:"):
        kind, actor = "campaign", origin
    elif origin == NOTIFICATION_ORIGIN:
        kind, actor = "notification", None
    else:
        kind, actor = "message_out", None
    summary: dict[str, Any] = {"type": m.type}
    if kind == "message_out":
        summary["origin"] = m.origin
    return Draft(kind, m.created_at, int(m.contact_id), int(m.conversation_id), int(m.id),
                 channel_id=int(m.channel_id), actor=actor, ref=origin if kind == "campaign" else None,
                 summary=summary)


class TimelineBackfill:
    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.writer = TimelineWriter(clock)

    def run(self, *, chunk: int = CHUNK, progress: Callable[[BackfillReport], None] | None = None) -> BackfillReport:
        report = BackfillReport()
        after = 0
        while True:
            with self.engine.begin() as conn:
                after, done = self._messages(conn, after, chunk, report)
            if progress:
                progress(report)
            if done:
                break
        after = 0
        while True:
            with self.engine.begin() as conn:
                after, done = self._events(conn, after, chunk, report)
            if progress:
                progress(report)
            if done:
                break
        return report

    def _messages(self, conn: Connection, after: int, chunk: int, report: BackfillReport) -> tuple[int, bool]:
        m, t = messages.c, timeline_entries.c
        batch = conn.execute(select(m.id, m.contact_id, m.conversation_id, m.channel_id, m.direction, m.type,
                                    m.origin, m.created_at).where(m.id > after).order_by(m.id).limit(chunk)).all()
        if not batch:
            return after, True
        ids = [int(r.id) for r in batch]
        have = {int(i) for i in conn.execute(select(t.message_id).where(
            t.message_id.in_(ids), t.kind.in_(MESSAGE_ENTRY_KINDS))).scalars()}
        drafts = [message_draft(r) for r in batch if int(r.id) not in have]
        if drafts:
            self.writer.write(UnitOfWork(conn), drafts)
        report.messages += len(drafts)
        return ids[-1], len(batch) < chunk

    def _events(self, conn: Connection, after: int, chunk: int, report: BackfillReport) -> tuple[int, bool]:
        e, t = events.c, timeline_entries.c
        batch = conn.execute(select(e.id, e.type, e.occurred_at, e.payload).where(e.id > after, e.type.in_(FROM_EVENTS))
                             .order_by(e.id).limit(chunk)).all()
        if not batch:
            return after, True
        drafts = [d for d in (draft_for(r.type, dict(r.payload or {}), r.occurred_at) for r in batch) if d is not None]
        if not drafts:
            return int(batch[-1].id), len(batch) < chunk
        first, last = min(d.occurred_at for d in drafts), max(d.occurred_at for d in drafts)
        have = {(r.kind, r.occurred_at, r.conversation_id, r.case_id, r.message_id) for r in conn.execute(
            select(t.kind, t.occurred_at, t.conversation_id, t.case_id, t.message_id).where(
                t.occurred_at >= first, t.occurred_at <= last, t.kind.in_(sorted({d.kind for d in drafts}))))}
        fresh = [d for d in drafts if (d.kind, d.occurred_at, d.conversation_id, d.case_id, d.message_id) not in have]
        report.skipped_events += len(drafts) - len(fresh)
        if fresh:
            self.writer.write(UnitOfWork(conn), fresh)
        report.events += len(fresh)
        return int(batch[-1].id), len(batch) < chunk

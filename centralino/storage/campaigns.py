"""Campaigns and their recipients (tables_campaigns.py). Set-based: planning writes recipients by COPY
(PostgreSQL) or one executemany (SQLite); the feeder takes and moves them in batches. Bound parameters
only; the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, delete, func, insert, select, update

from centralino.domain.campaigns import MOVES_FROM, RecipientState
from centralino.domain.enums import Direction
from centralino.storage import bulk
from centralino.storage.tables import messages
from centralino.storage.tables_campaigns import campaign_recipients, campaigns

c = campaigns.c
r = campaign_recipients.c

COPY_CHUNK = 2000  # recipients rendered, then handed to the COPY writer, at a time
_COPY_COLUMNS = ("campaign_id", "contact_id", "channel_id", "recipient_kind", "recipient", "params", "state",
                 "attempts", "planned_at")
_TIME_COLUMN = {RecipientState.SENT: "sent_at", RecipientState.DELIVERED: "delivered_at",
                RecipientState.READ: "read_at", RecipientState.FAILED: "failed_at"}


def insert_campaign(conn: Connection, values: dict[str, Any]) -> int:
    return int(conn.execute(insert(campaigns).values(**values).returning(c.id)).scalar_one())


def get(conn: Connection, campaign_id: int, *, lock: bool = False) -> dict[str, Any] | None:
    stmt = select(campaigns).where(c.id == campaign_id)
    row = conn.execute(stmt.with_for_update() if lock else stmt).mappings().first()
    return dict(row) if row else None


def list_campaigns(conn: Connection, limit: int = 200) -> list[dict[str, Any]]:
    rows = conn.execute(select(campaigns).order_by(c.id.desc()).limit(limit)).mappings()
    return [dict(x) for x in rows]


def update_campaign(conn: Connection, campaign_id: int, values: dict[str, Any]) -> None:
    conn.execute(update(campaigns).where(c.id == campaign_id).values(**values))


def with_status(conn: Connection, statuses: Sequence[str]) -> list[dict[str, Any]]:
    rows = conn.execute(select(campaigns).where(c.status.in_(list(statuses))).order_by(c.id)).mappings()
    return [dict(x) for x in rows]


# --- planning -------------------------------------------------------------------------------------------------

def delete_recipients(conn: Connection, campaign_id: int) -> None:
    conn.execute(delete(campaign_recipients).where(r.campaign_id == campaign_id))


def insert_recipients(conn: Connection, rows: Iterable[tuple[Any, ...]]) -> int:
    """Rows in _COPY_COLUMNS order (params as a dict), consumed as they come; how many. The planning hot
    path: straight to the driver."""
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    columns = ", ".join(_COPY_COLUMNS)
    written = 0
    try:
        if conn.dialect.name == "postgresql":
            from psycopg.copy import QueuedLibpqWriter

            # COPY's text format built here in one pass (write_row escapes field by field in Python: twice
            # the time of rendering the recipients' messages at 100,000 of them). The queued writer sends
            # from a thread of its own, so the recipients are rendered here while PostgreSQL (on the other
            # core) stores the ones before: the two overlap instead of adding up.
            with cursor.copy(f"COPY campaign_recipients ({columns}) FROM STDIN",
                             writer=QueuedLibpqWriter(cursor)) as copy:  # type: ignore[arg-type]
                for chunk in bulk.chunks(rows, COPY_CHUNK):
                    copy.write(_copy_text(chunk).encode())
                    written += len(chunk)
        else:
            marks = ", ".join("?" for _ in _COPY_COLUMNS)
            for chunk in bulk.chunks(rows, COPY_CHUNK):
                cursor.executemany(
                    f"INSERT INTO campaign_recipients ({columns}) VALUES ({marks})",  # noqa: S608 (constants)
                    [(*row[:5], orjson.dumps(row[5]).decode(), *row[6:8], _sqlite_time(row[8])) for row in chunk])
                written += len(chunk)
    finally:
        cursor.close()
    return written


def _escape(text: str) -> str:
    """A field of COPY's text format."""
    if "\\" in text:
        text = text.replace("\\", "\\\\")
    if "\t" in text or "\n" in text or "\r" in text:
        text = text.replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


def _copy_text(rows: Sequence[tuple[Any, ...]]) -> str:
    """Rows in _COPY_COLUMNS order as COPY text (ids and counts are numbers, state a constant)."""
    stamps: dict[datetime, str] = {}
    out = []
    for campaign_id, contact_id, channel_id, kind, recipient, params, state, attempts, at in rows:
        stamp = stamps.get(at)
        if stamp is None:
            stamp = stamps[at] = at.isoformat()
        out.append(f"{int(campaign_id)}\t{int(contact_id)}\t{int(channel_id)}\t{_escape(str(kind))}\t"
                   f"{_escape(str(recipient))}\t{_escape(orjson.dumps(params).decode())}\t{_escape(str(state))}\t"
                   f"{int(attempts)}\t{stamp}\n")
    return "".join(out)


def _sqlite_time(at: datetime) -> str:
    # The text form SQLAlchemy's SQLite DATETIME writes (UTC, no offset: see storage/types.py).
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


# --- feeding --------------------------------------------------------------------------------------------------

def take_planned(conn: Connection, campaign_id: int, limit: int) -> list[Any]:
    """The next planned recipients, oldest first, locked (another feeder skips them)."""
    return list(conn.execute(
        select(r.id, r.contact_id, r.channel_id, r.recipient_kind, r.recipient, r.params, r.attempts)
        .where(r.campaign_id == campaign_id, r.state == RecipientState.PLANNED.value)
        .order_by(r.id).limit(limit).with_for_update(skip_locked=True)
    ).all())


def mark_queued(conn: Connection, queued: list[dict[str, Any]], now: datetime) -> None:
    """Rows of {rid, mid}: the recipient's message is queued (same transaction as the message)."""
    if queued:
        conn.execute(update(campaign_recipients).where(r.id == bindparam("rid")).values(
            state=RecipientState.QUEUED.value, message_id=bindparam("mid"), queued_at=now,
            attempts=r.attempts + 1, error_code=None, error=None), queued)


def mark_skipped(conn: Connection, skipped: list[dict[str, Any]], state: RecipientState, now: datetime) -> None:
    """Rows of {rid, why}."""
    if skipped:
        conn.execute(update(campaign_recipients).where(r.id == bindparam("rid")).values(
            state=state.value, error=bindparam("why"), failed_at=now), skipped)


def tier_used(conn: Connection, channel_id: int, since: datetime) -> int:
    """Distinct customers sent a business-initiated (template) message on this channel since `since` — by
    campaigns, notifications and agents alike, as Meta counts its daily limit (ix_messages_templates_out)."""
    m = messages.c
    return int(conn.execute(select(func.count(func.distinct(m.contact_id))).where(
        m.channel_id == channel_id, m.type == "template", m.direction == Direction.OUTBOUND.value,
        m.created_at >= since)).scalar_one())


def count_in(conn: Connection, campaign_id: int, state: RecipientState) -> int:
    return int(conn.execute(select(func.count()).select_from(campaign_recipients).where(
        r.campaign_id == campaign_id, r.state == state.value)).scalar_one())


# --- statuses -------------------------------------------------------------------------------------------------

def apply_message_state(conn: Connection, message_id: int, new: RecipientState, at: datetime,
                        error_code: int | None = None, error: str | None = None) -> bool:
    """Move the recipient of this message forward (never back); whether one moved."""
    values: dict[str, Any] = {"state": new.value}
    if new in _TIME_COLUMN:
        values[_TIME_COLUMN[new]] = at
    if new is RecipientState.FAILED:
        values.update(error_code=error_code, error=error)
    moved = conn.execute(update(campaign_recipients).where(
        r.message_id == message_id, r.state.in_([s.value for s in MOVES_FROM[new]])).values(**values))
    return moved.rowcount > 0


def apply_messages_state(conn: Connection, message_ids: list[int], new: RecipientState, at: datetime) -> int:
    """apply_message_state for many messages moving to one (non-failed) state: how many recipients moved."""
    values: dict[str, Any] = {"state": new.value}
    if new in _TIME_COLUMN:
        values[_TIME_COLUMN[new]] = at
    moved = conn.execute(update(campaign_recipients).where(
        r.message_id.in_(message_ids), r.state.in_([s.value for s in MOVES_FROM[new]])).values(**values))
    return int(moved.rowcount)


def mark_replied(conn: Connection, contact_ids: list[int], channel_id: int, at: datetime, since: datetime) -> int:
    """These customers wrote after a campaign message reached them (recently): replied."""
    moved = conn.execute(update(campaign_recipients).where(
        r.contact_id.in_(contact_ids), r.channel_id == channel_id,
        r.state.in_([RecipientState.SENT.value, RecipientState.DELIVERED.value, RecipientState.READ.value]),
        r.queued_at >= since).values(state=RecipientState.REPLIED.value, replied_at=at))
    return int(moved.rowcount)


# --- control --------------------------------------------------------------------------------------------------

def cancel_planned(conn: Connection, campaign_id: int, now: datetime) -> int:
    moved = conn.execute(update(campaign_recipients).where(
        r.campaign_id == campaign_id, r.state == RecipientState.PLANNED.value)
        .values(state=RecipientState.CANCELLED.value, failed_at=now))
    return int(moved.rowcount)


def retry_failed(conn: Connection, campaign_id: int) -> int:
    """Failed recipients back to planned (the feeder gives each a NEW message). Only those whose message
    really failed: a recipient whose message was delivered after all is never sent again."""
    m = messages.c
    really_failed = select(m.id).where(m.id == r.message_id, m.status == "failed").exists()
    moved = conn.execute(update(campaign_recipients).where(
        r.campaign_id == campaign_id, r.state == RecipientState.FAILED.value,
        r.message_id.is_(None) | really_failed)
        .values(state=RecipientState.PLANNED.value, message_id=None, error_code=None, error=None, failed_at=None))
    return int(moved.rowcount)


# --- reading --------------------------------------------------------------------------------------------------

def counts(conn: Connection, campaign_id: int) -> dict[str, int]:
    return {row.state: int(row.n) for row in conn.execute(
        select(r.state, func.count().label("n")).where(r.campaign_id == campaign_id).group_by(r.state))}


def sent_since(conn: Connection, campaign_id: int, since: datetime) -> int:
    """Recipients whose message the provider took since `since` (the recent rate)."""
    return int(conn.execute(select(func.count()).select_from(campaign_recipients).where(
        r.campaign_id == campaign_id, r.sent_at >= since)).scalar_one())


def list_recipients(conn: Connection, campaign_id: int, state: str | None, after_id: int,
                    limit: int) -> list[dict[str, Any]]:
    stmt = select(campaign_recipients).where(r.campaign_id == campaign_id, r.id > after_id)
    if state:
        stmt = stmt.where(r.state == state)
    return [dict(x) for x in conn.execute(stmt.order_by(r.id).limit(limit)).mappings()]


def iter_funnel(conn: Connection, campaign_id: int, chunk: int = 5000) -> Iterator[list[dict[str, Any]]]:
    after = 0
    while True:
        rows = list_recipients(conn, campaign_id, None, after, chunk)
        if not rows:
            return
        yield rows
        after = int(rows[-1]["id"])

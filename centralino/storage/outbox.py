"""The outbox: what is to be sent, claimed by sender workers with a lease; and the channels' sender leases."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, String, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from centralino.domain.sending import OPEN_STATES, OutboxKind, OutboxState
from centralino.storage.batch_rows import row_values
from centralino.storage.tables import messages, outbox, sender_leases, webhook_deliveries
from centralino.storage.types import Id, UTCDateTime

o = outbox.c
m = messages.c


@dataclass(frozen=True)
class DueRow:
    id: int
    kind: str
    next_attempt_at: datetime
    recipient: str


@dataclass(frozen=True)
class Claimed:
    """An attempt committed in flight: everything the sender needs to make the call."""

    id: int
    kind: str
    channel_id: int
    conversation_id: int
    message_id: int | None
    attempt_id: str
    attempts: int
    at: datetime  # when its rate slot comes
    recipient_kind: str
    recipient: str
    target_external_id: str | None
    content: dict[str, Any] | None
    reply_to_external_id: str | None


def enqueue(conn: Connection, values: dict[str, Any]) -> int:
    row = {"state": OutboxState.QUEUED.value, "attempts": 0, **values}
    return int(conn.execute(insert(outbox).values(**row).returning(o.id)).scalar_one())


def open_read_receipt(conn: Connection, conversation_id: int, target_message_id: int) -> int | None:
    """A read receipt for this message still waiting to go out (asking twice queues it once)."""
    found = conn.execute(select(o.id).where(
        o.conversation_id == conversation_id, o.kind == OutboxKind.READ.value,
        o.target_message_id == target_message_id, o.state.in_([s.value for s in OPEN_STATES]))).first()
    return None if found is None else int(found.id)


def due_by_channel(conn: Connection, until: datetime) -> dict[int, datetime]:
    """Channel id → its earliest queued row, for channels with a row due before `until`."""
    rows = conn.execute(
        select(o.channel_id, func.min(o.next_attempt_at).label("due"))
        .where(o.state == OutboxState.QUEUED.value).group_by(o.channel_id)
    ).all()
    return {int(r.channel_id): r.due for r in rows if r.due <= until}


def next_wake(conn: Connection) -> datetime | None:
    """The earliest moment any row needs the sender: due, a lease lapsing, a reconciliation ending."""
    times = [
        conn.execute(select(func.min(o.next_attempt_at)).where(o.state == OutboxState.QUEUED.value)).scalar(),
        conn.execute(select(func.min(o.claimed_until)).where(o.state == OutboxState.SENDING.value)).scalar(),
        conn.execute(select(func.min(o.reconcile_until)).where(o.state == OutboxState.UNCONFIRMED.value)).scalar(),
    ]
    present = [t for t in times if t is not None]
    return min(present) if present else None


def lock_due(conn: Connection, channel_id: int, until: datetime, limit: int) -> list[DueRow]:
    """Queued rows of a channel due before `until`, oldest first, locked (others skip them)."""
    rows = conn.execute(
        select(o.id, o.kind, o.next_attempt_at, o.recipient_kind, o.recipient)
        .where(o.state == OutboxState.QUEUED.value, o.channel_id == channel_id, o.next_attempt_at <= until)
        .order_by(o.next_attempt_at, o.id).limit(limit).with_for_update(skip_locked=True)
    ).all()
    return [DueRow(int(r.id), r.kind, r.next_attempt_at, f"{r.recipient_kind}:{r.recipient}") for r in rows]


def defer(conn: Connection, until: dict[int, datetime]) -> None:
    if until:
        conn.execute(update(outbox).where(o.id == bindparam("rid")).values(next_attempt_at=bindparam("due")),
                     [{"rid": row_id, "due": at} for row_id, at in until.items()])


def start_attempts(conn: Connection, attempts: dict[int, tuple[str, datetime]], lease_until: datetime) -> list[Claimed]:
    """Commit attempts in flight: row id → (attempt id, slot). Returns what to send."""
    if not attempts:
        return []
    ref, params = row_values(conn, [{"rid": row_id, "aid": aid, "slot": at} for row_id, (aid, at) in attempts.items()],
                             ("rid", Id), ("aid", String()), ("slot", UTCDateTime()))
    conn.execute(
        update(outbox).where(o.id == ref["rid"], o.state == OutboxState.QUEUED.value)
        .values(state=OutboxState.SENDING.value, attempt_id=ref["aid"], attempt_started_at=ref["slot"],
                claimed_until=lease_until, attempts=o.attempts + 1), params)
    rows = conn.execute(
        select(outbox, m.content, m.reply_to_external_id)
        .select_from(outbox.outerjoin(messages, m.id == o.message_id))
        .where(o.id.in_(list(attempts)), o.state == OutboxState.SENDING.value)
        .order_by(o.attempt_started_at, o.id)
    ).mappings().all()
    return [
        Claimed(id=int(r["id"]), kind=r["kind"], channel_id=int(r["channel_id"]),
                conversation_id=int(r["conversation_id"]),
                message_id=int(r["message_id"]) if r["message_id"] is not None else None,
                attempt_id=r["attempt_id"], attempts=int(r["attempts"]), at=r["attempt_started_at"],
                recipient_kind=r["recipient_kind"], recipient=r["recipient"],
                target_external_id=r["target_external_id"], content=r["content"],
                reply_to_external_id=r["reply_to_external_id"])
        for r in rows if r["attempt_id"] == attempts[int(r["id"])][0]
    ]


def complete_messages(conn: Connection, message_ids: list[int], now: datetime) -> None:
    if message_ids:
        conn.execute(
            update(outbox).where(o.message_id.in_(message_ids), o.state.in_([s.value for s in OPEN_STATES]))
            .values(state=OutboxState.DONE.value, completed_at=now, claimed_until=None, reconcile_until=None,
                    last_error=None)
        )


def recent_attempts(conn: Connection, channel_id: int, since: datetime) -> list[tuple[str, datetime]]:
    """(recipient, attempt time) of message sends since `since`: seeds a new holder's pair spacing."""
    rows = conn.execute(
        select(o.recipient_kind, o.recipient, func.max(o.attempt_started_at).label("at"))
        .where(o.channel_id == channel_id, o.kind == OutboxKind.MESSAGE.value, o.attempt_started_at >= since)
        .group_by(o.recipient_kind, o.recipient)
    ).all()
    return [(f"{r.recipient_kind}:{r.recipient}", r.at) for r in rows]


def attempt_row(conn: Connection, row_id: int, attempt_id: str) -> Any:
    """The row locked, if this attempt is still the one in flight."""
    return conn.execute(
        select(outbox).where(o.id == row_id, o.attempt_id == attempt_id, o.state == OutboxState.SENDING.value)
        .with_for_update()
    ).mappings().first()


def set_state(conn: Connection, row_id: int, state: OutboxState, **values: Any) -> None:
    conn.execute(update(outbox).where(o.id == row_id).values(state=state.value, **values))


def complete_message(conn: Connection, message_id: int, now: datetime) -> None:
    """The message's send is done (accepted, or recognised from a status webhook)."""
    complete_messages(conn, [message_id], now)


def lapsed_attempts(conn: Connection, now: datetime, limit: int = 500) -> list[Any]:
    """Attempts in flight whose lease ran out (their worker died or hung), locked."""
    return list(conn.execute(
        select(o.id, o.kind, o.attempt_id, o.attempt_started_at, o.message_id)
        .where(o.state == OutboxState.SENDING.value, o.claimed_until < now)
        .order_by(o.id).limit(limit).with_for_update(skip_locked=True)
    ).mappings().all())


def reconciliation_over(conn: Connection, now: datetime, limit: int = 500) -> list[Any]:
    """Unconfirmed rows whose wait for a status webhook is over, with the message's external id, locked."""
    return list(conn.execute(
        select(o.id, o.attempt_id, o.attempts, o.channel_id, o.message_id, m.external_id)
        .select_from(outbox.outerjoin(messages, m.id == o.message_id))
        .where(o.state == OutboxState.UNCONFIRMED.value, o.reconcile_until <= now)
        .order_by(o.id).limit(limit).with_for_update(of=outbox, skip_locked=True)
    ).mappings().all())


def inbound_backlog(conn: Connection, received_by: datetime) -> bool:
    """Whether webhook deliveries received by then are still waiting to be applied (a status naming an
    unconfirmed send may be among them)."""
    d = webhook_deliveries.c
    return conn.execute(select(d.id).where(d.state == "pending", d.received_at <= received_by).limit(1)).first() \
        is not None


def for_messages(conn: Connection, message_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    ids = list(message_ids)
    if not ids:
        return {}
    rows = conn.execute(select(outbox).where(o.message_id.in_(ids))).mappings().all()
    return {int(r["message_id"]): dict(r) for r in rows}


def counts(conn: Connection) -> dict[str, int]:
    return {r.state: int(r.n) for r in conn.execute(select(o.state, func.count().label("n")).group_by(o.state))}


# --- sender leases: one process paces a channel at a time ----------------------------------------------------------

def acquire_lease(conn: Connection, channel_id: int, holder: str, now: datetime, lease: timedelta) -> bool:
    """Take or renew the channel's sender lease; False while another live holder has it."""
    s = sender_leases.c
    make = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    created = conn.execute(
        make(sender_leases).values(channel_id=channel_id, holder=holder, lease_until=now + lease)
        .on_conflict_do_nothing(index_elements=["channel_id"]).returning(s.channel_id)
    ).first()
    if created is not None:
        return True
    taken = conn.execute(
        update(sender_leases)
        .where(s.channel_id == channel_id, or_(s.holder == holder, s.lease_until < now))
        .values(holder=holder, lease_until=now + lease)
    )
    return taken.rowcount == 1


def release_leases(conn: Connection, holder: str) -> None:
    conn.execute(delete(sender_leases).where(sender_leases.c.holder == holder))

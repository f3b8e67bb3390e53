"""Notifications, their status callbacks' outbox and the use-case aliases: queries and writes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update

from centralino.storage.tables import messages, status_history
from centralino.storage.tables_notifications import callback_deliveries, notification_use_cases, notifications

n = notifications.c
cd = callback_deliveries.c
uc = notification_use_cases.c


def insert_notification(conn: Connection, row: dict[str, Any]) -> int:
    return int(conn.execute(insert(notifications).values(**row).returning(n.id)).scalar_one())


def by_idempotency(conn: Connection, scope: str, key: str) -> Any:
    return conn.execute(select(notifications).where(n.idempotency_scope == scope, n.idempotency_key == key)) \
        .mappings().first()


def by_messages(conn: Connection, message_ids: list[int]) -> list[Any]:
    """The notifications among these messages (one query; usually none)."""
    return list(conn.execute(select(n.id, n.message_id, n.callback_url).where(n.message_id.in_(message_ids))).all())


def mirror_status(conn: Connection, notification_id: int, status: str, error_code: int | None,
                  at: datetime) -> None:
    conn.execute(update(notifications).where(n.id == notification_id)
                 .values(status=status, error_code=error_code, status_at=at))


def get(conn: Connection, notification_id: int) -> Any:
    return conn.execute(select(notifications).where(n.id == notification_id)).mappings().first()


def page(conn: Connection, *, status: str | None, use_case: str | None, recipient: str | None,
         before_id: int | None, limit: int) -> list[Any]:
    """Newest first, keyset-paginated by id (`before_id`: the last id of the previous page)."""
    conditions = []
    if status:
        conditions.append(n.status == status)
    if use_case:
        conditions.append(n.use_case == use_case)
    if recipient:
        conditions.append(n.recipient == recipient)
    if before_id is not None:
        conditions.append(n.id < before_id)
    stmt = select(notifications).where(and_(True, *conditions)).order_by(n.id.desc()).limit(limit)
    return list(conn.execute(stmt).mappings().all())


def status_history_of(conn: Connection, message_id: int) -> list[Any]:
    """The message's status changes as the provider reported them, oldest first (ours: queued, accepted)."""
    h = status_history.c
    msg = conn.execute(select(messages.c.queued_at, messages.c.accepted_at).where(messages.c.id == message_id)) \
        .first()
    found = [{"status": "queued", "occurred_at": msg.queued_at, "error_code": None}] if msg and msg.queued_at else []
    if msg is not None and msg.accepted_at is not None:
        found.append({"status": "accepted", "occurred_at": msg.accepted_at, "error_code": None})
    rows = conn.execute(select(h.status, h.occurred_at, h.error_code).where(h.message_id == message_id)
                        .order_by(h.occurred_at, h.id)).all()
    found += [{"status": r.status, "occurred_at": r.occurred_at, "error_code": r.error_code} for r in rows]
    return found


# --- status callbacks -------------------------------------------------------------------------------------------

def enqueue_callback(conn: Connection, notification_id: int, url: str, payload: dict[str, Any],
                     now: datetime) -> int:
    return int(conn.execute(insert(callback_deliveries).values(
        notification_id=notification_id, url=url, payload=payload, state="pending", attempts=0,
        next_attempt_at=now, created_at=now).returning(cd.id)).scalar_one())


def claim_due(conn: Connection, now: datetime, lease_until: datetime, limit: int) -> list[Any]:
    """Due callbacks, at most one per notification and only its oldest pending one (so a receiver never
    gets a later status before an earlier one still being retried), leased to this worker."""
    oldest = (select(func.min(cd.id)).where(cd.state == "pending").group_by(cd.notification_id)).scalar_subquery()
    rows = conn.execute(
        select(callback_deliveries).where(
            cd.state == "pending", cd.next_attempt_at <= now, or_(cd.claimed_until.is_(None), cd.claimed_until < now),
            cd.id.in_(oldest))
        .order_by(cd.next_attempt_at, cd.id).limit(limit)).mappings().all()
    taken = []
    for row in rows:  # a conditional update: of two workers, one gets it
        claimed = conn.execute(update(callback_deliveries).where(
            cd.id == row["id"], cd.state == "pending",
            or_(cd.claimed_until.is_(None), cd.claimed_until < now)).values(claimed_until=lease_until))
        if claimed.rowcount:
            taken.append(row)
    return taken


def delivered(conn: Connection, delivery_id: int, attempts: int, status_code: int, now: datetime) -> None:
    conn.execute(update(callback_deliveries).where(cd.id == delivery_id).values(
        state="delivered", attempts=attempts, last_status_code=status_code, last_error=None, claimed_until=None,
        completed_at=now))


def retry_later(conn: Connection, delivery_id: int, attempts: int, status_code: int | None, error: str,
                at: datetime) -> None:
    conn.execute(update(callback_deliveries).where(cd.id == delivery_id).values(
        attempts=attempts, last_status_code=status_code, last_error=error[:2000], claimed_until=None,
        next_attempt_at=at))


def give_up(conn: Connection, delivery_id: int, attempts: int, status_code: int | None, error: str,
            now: datetime) -> None:
    conn.execute(update(callback_deliveries).where(cd.id == delivery_id).values(
        state="failed", attempts=attempts, last_status_code=status_code, last_error=error[:2000],
        claimed_until=None, completed_at=now))


def callbacks_of(conn: Connection, notification_id: int) -> list[Any]:
    return list(conn.execute(select(callback_deliveries).where(cd.notification_id == notification_id)
                             .order_by(cd.id)).mappings().all())


# --- use-case aliases -------------------------------------------------------------------------------------------

def stored_use_cases(conn: Connection) -> list[Any]:
    return list(conn.execute(select(notification_use_cases).order_by(uc.name)).mappings().all())


def stored_use_case(conn: Connection, name: str) -> Any:
    return conn.execute(select(notification_use_cases).where(uc.name == name)).mappings().first()


def put_use_case(conn: Connection, name: str, values: dict[str, Any], now: datetime) -> bool:
    """Create or replace; True when it was created."""
    done = conn.execute(update(notification_use_cases).where(uc.name == name).values(**values, updated_at=now))
    if done.rowcount:
        return False
    conn.execute(insert(notification_use_cases).values(name=name, **values, created_at=now, updated_at=now))
    return True


def delete_use_case(conn: Connection, name: str) -> bool:
    return bool(conn.execute(delete(notification_use_cases).where(uc.name == name)).rowcount)

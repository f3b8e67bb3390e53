"""Raw webhook deliveries: stored before they are acknowledged, claimed by workers with a lease."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, func, insert, select, update

from centralino.storage.tables import webhook_deliveries

d = webhook_deliveries.c


@dataclass(frozen=True)
class Delivery:
    id: int
    body: bytes
    attempts: int


def store_many(conn: Connection, channel_kind: str, bodies: list[bytes], now: datetime) -> None:
    conn.execute(
        insert(webhook_deliveries),
        [{"channel_kind": channel_kind, "received_at": now, "body": b, "state": "pending", "attempts": 0}
         for b in bodies],
    )


def claim(conn: Connection, limit: int, lease: timedelta, now: datetime | None = None) -> list[Delivery]:
    """Take up to `limit` pending deliveries for `lease`; a worker that dies lets the lease lapse."""
    now = now or datetime.now(UTC)
    due = (
        select(d.id)
        .where(d.state == "pending", (d.claimed_until.is_(None)) | (d.claimed_until < now))
        .order_by(d.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = conn.execute(
        update(webhook_deliveries)
        .where(d.id.in_(due.scalar_subquery()))
        .values(claimed_until=now + lease, attempts=d.attempts + 1)
        .returning(d.id, d.body, d.attempts)
    ).all()
    return sorted((Delivery(int(r.id), bytes(r.body), int(r.attempts)) for r in rows), key=lambda x: x.id)


def mark_processed(conn: Connection, delivery_id: int, now: datetime) -> None:
    conn.execute(
        update(webhook_deliveries).where(d.id == delivery_id)
        .values(state="processed", processed_at=now, claimed_until=None, error=None)
    )


def mark_processed_many(conn: Connection, delivery_ids: list[int], now: datetime) -> None:
    if delivery_ids:
        conn.execute(
            update(webhook_deliveries).where(d.id.in_(delivery_ids))
            .values(state="processed", processed_at=now, claimed_until=None, error=None)
        )


def mark_retry(conn: Connection, delivery_id: int, error: str, retry_at: datetime, give_up: bool) -> None:
    conn.execute(
        update(webhook_deliveries).where(d.id == delivery_id)
        .values(state="failed" if give_up else "pending", claimed_until=retry_at, error=error[:4000])
    )


def counts(conn: Connection) -> dict[str, int]:
    return {r.state: int(r.n) for r in conn.execute(
        select(d.state, func.count().label("n")).group_by(d.state))}

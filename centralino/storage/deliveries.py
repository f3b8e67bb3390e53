"""Raw webhook deliveries: stored before they are acknowledged, claimed by workers with a lease."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, func, select, update

from centralino.storage.tables import webhook_deliveries

d = webhook_deliveries.c


@dataclass(frozen=True)
class Delivery:
    id: int
    body: bytes
    attempts: int


_COLUMNS = "(channel_kind, received_at, body, state, attempts)"
_COPY_TYPES = ["varchar", "timestamptz", "bytea", "varchar", "int4"]


DELIVERIES_CHANNEL = "centralino_deliveries"  # PostgreSQL LISTEN/NOTIFY channel: deliveries were stored


def store_many(conn: Connection, channel_kind: str, bodies: list[bytes], now: datetime) -> None:
    """Insert a group commit's deliveries. This runs once per batch on the webhook hot path, so it
    goes to the driver directly (COPY on PostgreSQL, executemany of tuples on SQLite): about half the
    CPU per delivery of SQLAlchemy's executemany (bench/store_micro.py)."""
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        if conn.dialect.name == "postgresql":
            # Binary COPY: the bodies go as they are, not hex-escaped as text COPY would need.
            with cursor.copy(f"COPY webhook_deliveries {_COLUMNS} FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(_COPY_TYPES)
                for body in bodies:
                    copy.write_row((channel_kind, now, body, "pending", 0))
            # delivered at commit: wakes the delivery workers of other processes (workers/pg_wakeup.py)
            cursor.execute(f"NOTIFY {DELIVERIES_CHANNEL}")
        else:
            # The text form SQLAlchemy's SQLite DATETIME writes (UTC, no offset: see storage/types.py).
            stamp = now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
            cursor.executemany(
                f"INSERT INTO webhook_deliveries {_COLUMNS} VALUES (?, ?, ?, 'pending', 0)",  # noqa: S608 (constants)
                [(channel_kind, stamp, body) for body in bodies])
    finally:
        cursor.close()


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

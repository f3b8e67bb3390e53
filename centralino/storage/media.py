"""Inbound media rows: claimed when due, stored or rescheduled with backoff."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, select, update

from centralino.storage.tables import message_media

mm = message_media.c


@dataclass(frozen=True)
class DueMedia:
    id: int
    message_id: int
    channel_id: int
    provider_id: str
    attempts: int
    mime_type: str | None


def claim_due(conn: Connection, limit: int, lease: timedelta) -> list[DueMedia]:
    now = datetime.now(UTC)
    due = (
        select(mm.id)
        .where(mm.state == "pending", mm.next_attempt_at <= now)
        .order_by(mm.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = conn.execute(
        update(message_media)
        .where(mm.id.in_(due.scalar_subquery()))
        .values(next_attempt_at=now + lease, attempts=mm.attempts + 1)
        .returning(mm.id, mm.message_id, mm.channel_id, mm.provider_id, mm.attempts, mm.mime_type)
    ).all()
    return [DueMedia(int(r.id), int(r.message_id), int(r.channel_id), str(r.provider_id), int(r.attempts),
                     r.mime_type) for r in rows]


def mark_stored(conn: Connection, media_id: int, path: str, size: int, mime_type: str | None) -> None:
    conn.execute(
        update(message_media).where(mm.id == media_id).values(
            state="stored", storage_path=path, size=size, fetched_at=datetime.now(UTC), last_error=None,
            next_attempt_at=None, mime_type=mime_type,
        )
    )


def mark_retry(conn: Connection, media_id: int, error: str, retry_at: datetime | None) -> None:
    """retry_at None: give up (state failed, kept for a manual retry)."""
    conn.execute(
        update(message_media).where(mm.id == media_id).values(
            state="pending" if retry_at else "failed", next_attempt_at=retry_at, last_error=error[:2000],
        )
    )

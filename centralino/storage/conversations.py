"""Conversations: one thread per (contact, channel), its window and activity moving only forward."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, or_, select, update

from centralino.domain import window
from centralino.domain.enums import ConversationStatus
from centralino.storage.sql import insert_ignore
from centralino.storage.tables import conversations


def find_or_open(conn: Connection, contact_id: int, channel_id: int, now: datetime) -> tuple[int, bool]:
    """(conversation id, whether it was opened now)."""
    c = conversations.c
    row = conn.execute(select(c.id).where(c.contact_id == contact_id, c.channel_id == channel_id)).first()
    if row is not None:
        return int(row.id), False
    new_id = insert_ignore(
        conn, conversations,
        {"contact_id": contact_id, "channel_id": channel_id, "status": ConversationStatus.OPEN.value,
         "created_at": now},
        ("contact_id", "channel_id"),
    )
    if new_id is not None:
        return new_id, True
    row = conn.execute(select(c.id).where(c.contact_id == contact_id, c.channel_id == channel_id)).one()
    return int(row.id), False


def advance(conn: Connection, conversation_id: int, message_at: datetime, customer_message: bool) -> None:
    """Move activity (and, for a customer message, the 24-hour window) forward; never backward.

    Conditional updates make this safe under concurrent workers without locking the row.
    """
    _advance_column(conn, conversation_id, "last_message_at", message_at)
    if customer_message:
        _advance_column(conn, conversation_id, "last_inbound_at", message_at)
        _advance_column(conn, conversation_id, "window_expires_at", window.window_expiry(message_at))


def _advance_column(conn: Connection, conversation_id: int, column: str, value: datetime) -> None:
    col = conversations.c[column]
    conn.execute(
        update(conversations)
        .where(conversations.c.id == conversation_id, or_(col.is_(None), col < value))
        .values({column: value})
    )


def get(conn: Connection, conversation_id: int, *, lock: bool = False) -> Any:
    """The conversation row (None if there is none); `lock` serialises sends that check its window."""
    stmt = select(conversations).where(conversations.c.id == conversation_id)
    return conn.execute(stmt.with_for_update() if lock else stmt).mappings().first()

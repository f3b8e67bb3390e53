"""Idempotency keys of send requests: a repeated request returns the message the first one queued."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from centralino.storage.sql import insert_ignore
from centralino.storage.tables import idempotency_keys

k = idempotency_keys.c


def claim(conn: Connection, scope: str, conversation_id: int, key: str, request_hash: str,
          now: datetime) -> Any:
    """Take the key for this request: None when it is new (the caller goes on and records the message);
    else the row a previous request stored (its request hash and message).

    On PostgreSQL a concurrent request with the same key waits here until the first one commits
    or rolls back (the unique index); on SQLite the write lock serialises them."""
    new = insert_ignore(conn, idempotency_keys, {
        "scope": scope, "conversation_id": conversation_id, "key": key, "request_hash": request_hash,
        "created_at": now}, ("scope", "conversation_id", "key"))
    if new is not None:
        return None
    return conn.execute(select(k.request_hash, k.message_id).where(
        k.scope == scope, k.conversation_id == conversation_id, k.key == key)).one()


def attach(conn: Connection, scope: str, conversation_id: int, key: str, message_id: int) -> None:
    conn.execute(update(idempotency_keys).where(k.scope == scope, k.conversation_id == conversation_id, k.key == key)
                 .values(message_id=message_id))


def message_for(conn: Connection, scope: str, conversation_id: int, key: str) -> int | None:
    """The message a request with this key queued (None: the key is unused or still in flight)."""
    found = conn.execute(select(k.message_id).where(
        k.scope == scope, k.conversation_id == conversation_id, k.key == key)).scalar_one_or_none()
    return int(found) if found is not None else None

"""Trained model versions (bot_models): the active one, the history, and state changes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from centralino.storage.tables_bot import bot_examples, bot_intents, bot_models

# Everything but the blob (and the per-example evaluation, which can be long): what a version list shows.
SUMMARY_COLUMNS = [c for c in bot_models.c if c.name != "blob"]


def active_version(conn: Connection) -> int | None:
    """One indexed look-up: cheap enough to repeat every few seconds to notice other processes' activations."""
    version = conn.execute(select(bot_models.c.version).where(bot_models.c.state == "active")
                           .order_by(bot_models.c.version.desc()).limit(1)).scalar()
    return int(version) if version is not None else None


def blob_of(conn: Connection, version: int) -> bytes | None:
    blob = conn.execute(select(bot_models.c.blob).where(bot_models.c.version == version)).scalar()
    return bytes(blob) if blob is not None else None


def get(conn: Connection, version: int) -> dict[str, Any] | None:
    row = conn.execute(select(*SUMMARY_COLUMNS).where(bot_models.c.version == version)).mappings().first()
    return dict(row) if row else None


def listing(conn: Connection, limit: int = 100) -> list[dict[str, Any]]:
    rows = conn.execute(select(*SUMMARY_COLUMNS).order_by(bot_models.c.version.desc()).limit(limit)).mappings()
    return [dict(r) for r in rows]


def next_version(conn: Connection) -> int:
    return int(conn.execute(select(func.coalesce(func.max(bot_models.c.version), 0))).scalar_one()) + 1


def insert_version(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(insert(bot_models).values(**values))


def retire_active(conn: Connection) -> list[int]:
    """Retire whichever version is active (at most one by rule; all of them if a race left two)."""
    rows = conn.execute(update(bot_models).where(bot_models.c.state == "active").values(state="retired")
                        .returning(bot_models.c.version)).scalars().all()
    return [int(v) for v in rows]


def set_active(conn: Connection, version: int, *, reason: str, now: datetime) -> None:
    conn.execute(update(bot_models).where(bot_models.c.version == version)
                 .values(state="active", reason=reason, activated_at=now))


def labelled_examples(conn: Connection) -> list[dict[str, Any]]:
    """Every example of an enabled intent: text, intent (its name), language, split. Ordered for
    reproducible training."""
    e, i = bot_examples.c, bot_intents.c
    rows = conn.execute(select(e.text, i.name.label("intent"), e.language, e.split)
                        .join(bot_intents, i.id == e.intent_id).where(i.enabled.is_(True))
                        .order_by(e.id)).mappings()
    return [dict(r) for r in rows]


def newest_created_at(conn: Connection) -> datetime | None:
    """When the newest version (whatever its state) was trained: the scheduler's reference point."""
    value: datetime | None = conn.execute(select(func.max(bot_models.c.created_at))).scalar()
    return value

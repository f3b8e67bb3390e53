"""Timeline writes: the one multi-row INSERT, the look-ups the writer needs, and a merge's re-pointing.

There is no update or delete of an entry here, on purpose: entries are append-only (the database refuses
anything else, migration 0014) except re-pointing contact_id / conversation_id when contacts merge."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
from sqlalchemy import Connection, insert, select, text, update

from centralino.storage.tables import channels, conversations, messages
from centralino.storage.tables_timeline import timeline_entries

LOOKUP_CHUNK = 500
COLUMNS = ("contact_id", "case_id", "conversation_id", "message_id", "occurred_at", "kind", "channel_kind", "actor",
           "ref", "summary", "recorded_at")
RECORD = ("contact_id bigint, case_id bigint, conversation_id bigint, message_id bigint, occurred_at timestamptz, "
          "kind varchar, channel_kind varchar, actor varchar, ref varchar, summary jsonb, recorded_at timestamptz")
# PostgreSQL: the whole batch as ONE JSON parameter, unpacked by the server (jsonb_to_recordset). One statement,
# compiled once, serialised by orjson in C; a VALUES list's compilation grows with the rows, and arrays per
# column are dumped by psycopg in Python — both cost more than the insert itself on a busy inbound batch.
# (Built from the constants above only: no input reaches the SQL text.)
PG_INSERT = text(f"INSERT INTO timeline_entries ({', '.join(COLUMNS)}) "  # noqa: S608
                 f"SELECT {', '.join(COLUMNS)} FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r({RECORD})")


def insert_entries(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """One INSERT for all the rows: INSERT … SELECT FROM jsonb_to_recordset on PostgreSQL, one prepared
    statement run for every row (executemany) on SQLite."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        conn.execute(PG_INSERT, {"rows": orjson.dumps(rows).decode()})
    else:
        conn.execute(insert(timeline_entries), rows)


def _chunks(ids: Iterable[int]) -> Iterable[list[int]]:
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), LOOKUP_CHUNK):
        yield ordered[start:start + LOOKUP_CHUNK]


def message_refs(conn: Connection, message_ids: Iterable[int]) -> dict[int, Any]:
    """message id → (contact_id, conversation_id, channel_id)."""
    m = messages.c
    found: dict[int, Any] = {}
    for chunk in _chunks(message_ids):
        for row in conn.execute(select(m.id, m.contact_id, m.conversation_id, m.channel_id).where(m.id.in_(chunk))):
            found[int(row.id)] = row
    return found


def conversation_refs(conn: Connection, conversation_ids: Iterable[int]) -> dict[int, Any]:
    """conversation id → (contact_id, channel_id)."""
    c = conversations.c
    found: dict[int, Any] = {}
    for chunk in _chunks(conversation_ids):
        for row in conn.execute(select(c.id, c.contact_id, c.channel_id).where(c.id.in_(chunk))):
            found[int(row.id)] = row
    return found


def channel_kinds(conn: Connection, channel_ids: Iterable[int]) -> dict[int, str]:
    ids = sorted(set(channel_ids))
    if not ids:
        return {}
    return {int(r.id): str(r.kind) for r in conn.execute(select(channels.c.id, channels.c.kind)
                                                         .where(channels.c.id.in_(ids)))}


def campaign_messages(conn: Connection, origin: str, first_id: int, last_id: int) -> list[Any]:
    """The messages a campaign batch queued (campaign.batch_queued names their id range and origin)."""
    m = messages.c
    return list(conn.execute(select(m.id, m.contact_id, m.conversation_id, m.channel_id, m.type)
                             .where(m.id >= first_id, m.id <= last_id, m.origin == origin).order_by(m.id)))


def move_contact(conn: Connection, drop: int, keep: int) -> None:
    """A merge: `drop`'s story becomes `keep`'s (the one UPDATE the append-only trigger allows)."""
    conn.execute(update(timeline_entries).where(timeline_entries.c.contact_id == drop).values(contact_id=keep))


def move_conversation(conn: Connection, drop: int, keep: int) -> None:
    """A merge folded conversation `drop` into `keep` (same channel) and deletes `drop`."""
    t = timeline_entries.c
    conn.execute(update(timeline_entries).where(t.conversation_id == drop).values(conversation_id=keep))

"""Everything stored about a contact, found by walking the foreign keys down from contacts.id (the same
metadata walk as merges, storage/contact_refs.py): its identities, conversations, their messages, those
messages' statuses and media, notifications, campaign rows, consent, cases and their tasks… also tables
added later. Tombstones merged into the contact count as the contact."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, Table, select

from centralino.storage.contact_refs import primary_key, references_to
from centralino.storage.tables import contacts

CHUNK = 500
MAX_DEPTH = 6


def contact_ids(conn: Connection, contact_id: int) -> list[int]:
    """The contact and every tombstone merged into it (merges flatten chains, but older rows may not be)."""
    found, frontier = [contact_id], [contact_id]
    for _ in range(MAX_DEPTH):
        frontier = [int(i) for i in conn.execute(select(contacts.c.id).where(contacts.c.merged_into_id.in_(frontier)))
                    .scalars() if int(i) not in found]
        if not frontier:
            break
        found += frontier
    return found


def _chunks(ids: list[Any]) -> Iterator[list[Any]]:
    for i in range(0, len(ids), CHUNK):
        yield ids[i:i + CHUNK]


def walk(conn: Connection, contact_id: int) -> dict[str, list[dict[str, Any]]]:
    """table name → its rows about the contact (each row once), the contact's own rows under "contacts"."""
    ids = contact_ids(conn, contact_id)
    found: dict[str, dict[Any, dict[str, Any]]] = {"contacts": {}}
    for chunk in _chunks(ids):
        for row in conn.execute(select(contacts).where(contacts.c.id.in_(chunk))).mappings():
            found["contacts"][(row["id"],)] = dict(row)
    frontier: list[tuple[Table, list[Any]]] = [(contacts, ids)]
    for _ in range(MAX_DEPTH):
        following: list[tuple[Table, list[Any]]] = []
        for parent, parent_ids in frontier:
            for ref in references_to(parent):
                table_rows = found.setdefault(ref.table.name, {})
                pk = primary_key(ref.table)
                fresh: list[Any] = []
                for chunk in _chunks(parent_ids):
                    for row in conn.execute(select(ref.table).where(ref.column.in_(chunk))).mappings():
                        key = tuple(row[c.name] for c in pk)
                        if key not in table_rows:
                            table_rows[key] = dict(row)
                            fresh.append(row[pk[0].name])
                if fresh and len(pk) == 1 and ref.table is not contacts:
                    following.append((ref.table, fresh))
        if not following:
            break
        frontier = following
    return {name: list(rows.values()) for name, rows in found.items() if rows}

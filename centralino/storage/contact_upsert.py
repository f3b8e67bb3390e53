"""One imported row applied to the contacts: matched by id or by any of its identities (phone, WhatsApp
address, email), updated in place or created — never a duplicate of a contact that already has one of its
identities. Re-applying the same row changes nothing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from centralino.storage.tables import contact_identities, contact_tags, contacts


class UpsertRefused(Exception):
    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column
        self.message = message


def owners(conn: Connection, identities: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    if not identities:
        return {}
    ci = contact_identities.c
    wanted = set(identities)
    rows = conn.execute(select(ci.kind, ci.value, ci.contact_id).where(ci.value.in_(sorted({v for _, v in wanted}))))
    return {(r.kind, r.value): int(r.contact_id) for r in rows if (r.kind, r.value) in wanted}


def live(conn: Connection, contact_id: int) -> int | None:
    """The contact, or the one it was merged into; None when there is no such contact."""
    for _ in range(10):
        row = conn.execute(select(contacts.c.merged_into_id).where(contacts.c.id == contact_id)).first()
        if row is None:
            return None
        if row.merged_into_id is None:
            return contact_id
        contact_id = int(row.merged_into_id)
    return contact_id


def target(conn: Connection, contact_id: int | None, identities: list[tuple[str, str]],
           known: dict[tuple[str, str], int] | None = None) -> int | None:
    """The one existing contact the row is about, None for a new one; refused when it names two."""
    found = known if known is not None else owners(conn, identities)
    ids = {found[i] for i in identities if i in found}
    if contact_id is not None:
        resolved = live(conn, contact_id)
        if resolved is None:
            raise UpsertRefused("id", f"there is no contact {contact_id}")
        ids.add(resolved)
    if len(ids) > 1:
        names = " and ".join(str(i) for i in sorted(ids))
        kinds = {k for k, v in identities if (k, v) in found}
        column = "email" if kinds == {"email"} else ("phone" if kinds else "id")
        raise UpsertRefused(column, f"the row's id and identities belong to contacts {names}: merge them first")
    return next(iter(ids), None)


def apply(conn: Connection, row: Any, now: datetime) -> tuple[str, int]:
    """("created" | "updated" | "unchanged", contact id) for a ParsedRow (app/contact_csv.py)."""
    identities = row.identities()
    contact_id = target(conn, row.contact_id, identities)
    if contact_id is None:
        contact_id = int(conn.execute(insert(contacts).values(
            display_name=row.display_name, language=row.language, attributes=row.attributes, created_at=now,
            updated_at=now).returning(contacts.c.id)).scalar_one())
        _identities(conn, contact_id, identities, now)
        _tags(conn, contact_id, row.tags, now)
        return "created", contact_id
    current = conn.execute(select(contacts).where(contacts.c.id == contact_id)).mappings().one()
    values: dict[str, Any] = {}
    if row.display_name and row.display_name != current["display_name"]:
        values["display_name"] = row.display_name
    if row.language and row.language != current["language"]:
        values["language"] = row.language
    attributes = {**dict(current["attributes"] or {}), **row.attributes}
    if attributes != dict(current["attributes"] or {}):
        values["attributes"] = attributes
    if values:
        conn.execute(update(contacts).where(contacts.c.id == contact_id).values(**values, updated_at=now))
    added = _identities(conn, contact_id, identities, now) + _tags(conn, contact_id, row.tags, now)
    return ("updated" if values or added else "unchanged"), contact_id


def _identities(conn: Connection, contact_id: int, identities: list[tuple[str, str]], now: datetime) -> int:
    have = owners(conn, identities)
    missing = [(k, v) for k, v in identities if (k, v) not in have]
    if missing:
        conn.execute(insert(contact_identities), [{"contact_id": contact_id, "kind": k, "value": v, "created_at": now}
                                                  for k, v in missing])
    return len(missing)


def _tags(conn: Connection, contact_id: int, tags: list[str], now: datetime) -> int:
    """Tags are added (a file never removes one), so importing twice is the same as once."""
    have = set(conn.execute(select(contact_tags.c.tag).where(contact_tags.c.contact_id == contact_id)).scalars())
    missing = [t for t in tags if t not in have]
    if missing:
        conn.execute(insert(contact_tags), [{"contact_id": contact_id, "tag": t, "created_at": now} for t in missing])
    return len(missing)

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
    """Who has these identities: one query per kind, `kind = … AND value IN (…)`, which the (kind, value)
    unique index answers (a `value IN` alone would scan the table once per row imported)."""
    ci = contact_identities.c
    by_kind: dict[str, set[str]] = {}
    for kind, value in identities:
        by_kind.setdefault(kind, set()).add(value)
    found: dict[tuple[str, str], int] = {}
    for kind, values in by_kind.items():
        listed = sorted(values)
        for start in range(0, len(listed), 1000):
            rows = conn.execute(select(ci.value, ci.contact_id).where(ci.kind == kind,
                                                                      ci.value.in_(listed[start:start + 1000])))
            found.update({(kind, str(r.value)): int(r.contact_id) for r in rows})
    return found


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


def apply(conn: Connection, row: Any, now: datetime, known: dict[tuple[str, str], int]) -> tuple[str, int]:
    """("created" | "updated" | "unchanged", contact id) for a ParsedRow (app/contact_csv.py). `known`: the
    owners of the chunk's identities (`owners`, read once per chunk), kept up to date here as identities are
    added, so a later row of the same chunk finds the contact an earlier one created. Refused (UpsertRefused)
    before anything is written."""
    identities = row.identities()
    contact_id = target(conn, row.contact_id, identities, known)
    if contact_id is None:
        contact_id = int(conn.execute(insert(contacts).values(
            display_name=row.display_name, language=row.language, attributes=row.attributes, created_at=now,
            updated_at=now).returning(contacts.c.id)).scalar_one())
        _identities(conn, contact_id, identities, known, now)
        _tags(conn, contact_id, row.tags, now, fresh=True)
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
    added = _identities(conn, contact_id, identities, known, now) + _tags(conn, contact_id, row.tags, now)
    return ("updated" if values or added else "unchanged"), contact_id


def _identities(conn: Connection, contact_id: int, identities: list[tuple[str, str]],
                known: dict[tuple[str, str], int], now: datetime) -> int:
    missing = list(dict.fromkeys((k, v) for k, v in identities if (k, v) not in known))
    known.update({i: contact_id for i in missing})
    if missing:
        conn.execute(insert(contact_identities), [{"contact_id": contact_id, "kind": k, "value": v, "created_at": now}
                                                  for k, v in missing])
    return len(missing)


def _tags(conn: Connection, contact_id: int, tags: list[str], now: datetime, fresh: bool = False) -> int:
    """Tags are added (a file never removes one), so importing twice is the same as once."""
    if not tags:
        return 0
    have = set() if fresh else set(conn.execute(select(contact_tags.c.tag)
                                                .where(contact_tags.c.contact_id == contact_id)).scalars())
    missing = [t for t in tags if t not in have]
    if missing:
        conn.execute(insert(contact_tags), [{"contact_id": contact_id, "tag": t, "created_at": now} for t in missing])
    return len(missing)

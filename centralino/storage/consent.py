"""The consent ledger's repository: records are only ever inserted (never updated, never deleted) and read
back as domain records, one contact at a time or a batch of contacts in one query (campaigns)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, or_, select

from centralino.domain.consent import Action, ConsentRecord, Purpose, Source
from centralino.storage.sql import insert_ignore
from centralino.storage.tables_consent import consent_records

cr = consent_records.c
# Contact ids per statement in bulk reads: far below SQLite's and PostgreSQL's bound-parameter limits.
CHUNK = 2000


def insert(conn: Connection, values: dict[str, Any]) -> int | None:
    """The new record's id, or None when a record with the same dedupe key exists (a repeat)."""
    return insert_ignore(conn, consent_records, values, ("dedupe_key",))


def to_record(row: Any) -> ConsentRecord:
    return ConsentRecord(purpose=Purpose(row.purpose), action=Action(row.action), source=Source(row.source),
                         occurred_at=row.occurred_at, sequence=int(row.id),
                         channel_id=None if row.channel_id is None else int(row.channel_id),
                         evidence=dict(row.evidence or {}), actor=str(row.actor))


def history(conn: Connection, contact_id: int) -> list[dict[str, Any]]:
    """Every record of the contact, oldest first (as it happened, then as recorded)."""
    rows = conn.execute(select(consent_records).where(cr.contact_id == contact_id)
                        .order_by(cr.occurred_at, cr.id)).mappings().all()
    return [dict(r) for r in rows]


def records_for(conn: Connection, contact_id: int) -> list[ConsentRecord]:
    return [to_record(r) for r in conn.execute(select(consent_records).where(cr.contact_id == contact_id))]


def records_for_many(conn: Connection, contact_ids: Sequence[int], channel_id: int | None,
                     purposes: Iterable[Purpose]) -> dict[int, list[ConsentRecord]]:
    """The records that can decide `purposes` on `channel_id` for many contacts: one statement per
    CHUNK contacts, whatever their number of records."""
    wanted = [p.value for p in purposes]
    found: dict[int, list[ConsentRecord]] = defaultdict(list)
    ids = sorted(set(contact_ids))
    for start in range(0, len(ids), CHUNK):
        query = select(cr.id, cr.contact_id, cr.channel_id, cr.purpose, cr.action, cr.source, cr.evidence,
                       cr.actor, cr.occurred_at).where(cr.contact_id.in_(ids[start:start + CHUNK]),
                                                       cr.purpose.in_(wanted))
        if channel_id is not None:
            query = query.where(or_(cr.channel_id.is_(None), cr.channel_id == channel_id))
        for row in conn.execute(query):
            found[int(row.contact_id)].append(to_record(row))
    return found


def copy_to(conn: Connection, keep: int, drop: int, now: datetime) -> int:
    """A merged contact's records, appended to the contact it was merged into (its own rows stay as they
    were). Repeats are absorbed by the dedupe key. How many were copied."""
    copied = 0
    for row in conn.execute(select(consent_records).where(cr.contact_id == drop).order_by(cr.id)).mappings().all():
        values = {k: row[k] for k in ("channel_id", "purpose", "action", "source", "actor", "occurred_at", "note")}
        values.update(contact_id=keep, recorded_at=now, dedupe_key=f"merge:{keep}:{row['id']}",
                      evidence={**dict(row["evidence"] or {}), "merged_from_contact_id": drop,
                                "merged_record_id": int(row["id"])})
        copied += insert(conn, values) is not None
    return copied

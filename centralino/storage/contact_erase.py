"""What an erasure changes, table by table, in the rows the foreign-key walk found (storage/contact_data.py).
Personal data goes; what statistics count stays (ids, statuses, timestamps, directions, types, scores,
error codes, campaign states, consent purposes and actions).

Tables listed in ERASE get exactly those values; any other table reached (cases, tasks, … added later)
gets the default rule: Text columns and personal-sounding String columns become "[erased]", Json columns
become empty of their own shape ([] or {}). A column marked `info={"gdpr_erase": "keep"}` is never changed,
one marked "erase" always is."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import JSON, Column, Connection, String, Table, Text, case, delete, literal, null, text, update

from centralino.storage.contact_refs import primary_key, referencing_columns
from centralino.storage.tables import metadata

ERASED = "[erased]"
GONE = {"erased": True}
DELETE = "delete"
PERSONAL_NAMES = {"title", "name", "subject", "summary", "body", "text", "note", "notes", "comment", "description",
                  "display_name", "profile_name", "username", "recipient", "address", "phone", "email", "reason"}
MARK = object()  # "[erased]" where there was a value, null stays null

ERASE: dict[str, Any] = {
    "contacts": {"display_name": ERASED, "profile_name": None, "username": None, "attributes": {}, "language": None},
    "contact_identities": "placeholder",
    "contact_tags": DELETE,
    "messages": {"text": MARK, "content": GONE, "raw": None, "referral": None, "error_details": None},
    "message_media": {"filename": None, "storage_path": None, "sha256": None, "state": "erased"},
    "status_history": {"raw": None, "recipient_id": None, "error_details": None},
    "provider_notices": {"data": GONE},
    "notifications": {"recipient": ERASED, "callback_url": None},
    "callback_deliveries": {"payload": GONE, "url": ERASED},
    "campaign_recipients": {"recipient": ERASED, "params": GONE},
    "consent_records": {"evidence": GONE, "note": None},
    "outbox": {"recipient": ERASED, "last_error": None},
    "csat_surveys": {"refused_reason": MARK},
    "contact_merges": {"details": GONE},
    # nothing personal: ids, states, times, codes
    "conversations": {}, "conversation_reads": {}, "verifications": {}, "idempotency_keys": {}, "routing_items": {},
    "service_episodes": {}, "sla_timers": {}, "out_of_hours_replies": {}, "message_reactions": {},
    "gdpr_requests": {},  # the record of the request itself is kept
    "timeline_entries": {},  # ids, kinds, statuses: never free text (tables_timeline.py)
}


def _is_json(col: Column[Any]) -> bool:
    return isinstance(col.type, JSON) or "JSON" in type(col.type).__name__.upper() or any(
        isinstance(v, JSON) for v in getattr(col.type, "_variant_mapping", {}).values())


def default_rule(table: Table) -> dict[str, Any]:
    """Which columns of a table nobody listed are erased, and how (MARK, or "shape" for Json)."""
    rule: dict[str, Any] = {}
    keys = {c.name for c in table.primary_key.columns} | {col.name for col, _ in referencing_columns(table)}
    for col in table.columns:
        marked = col.info.get("gdpr_erase")
        if marked == "keep" or (col.name in keys and marked != "erase"):
            continue
        if marked == "erase" or isinstance(col.type, Text) or (
                isinstance(col.type, String) and col.name in PERSONAL_NAMES):
            rule[col.name] = MARK
        elif _is_json(col):
            rule[col.name] = "shape"
    return rule


def erase_rows(conn: Connection, found: dict[str, list[dict[str, Any]]]) -> dict[str, int]:
    """Apply the rules to every row found; rows changed per table."""
    changed: dict[str, int] = {}
    for name, rows in found.items():
        table = metadata.tables[name]
        rule = ERASE.get(name)
        if rule is None:
            rule = default_rule(table)
        if not rows or rule == {}:
            continue
        pk = primary_key(table)
        if rule == DELETE:
            for row in rows:
                conn.execute(delete(table).where(*(c == row[c.name] for c in pk)))
        elif rule == "placeholder":
            for row in rows:  # random, not a hash: a hash of a phone number can be reversed by trying them all
                conn.execute(update(table).where(*(c == row[c.name] for c in pk))
                             .values(value=f"erased:{secrets.token_hex(12)}"))
        elif len(pk) == 1 and "shape" not in rule.values():  # set-based: thousands of messages in a few statements
            values = {col: _expression(table.c[col], how) for col, how in rule.items()}
            ids = [row[pk[0].name] for row in rows]
            for start in range(0, len(ids), 500):
                conn.execute(update(table).where(pk[0].in_(ids[start:start + 500])).values(values))
        else:
            for row in rows:
                values = {col: _value(table.c[col], how, row[col]) for col, how in rule.items()}
                conn.execute(update(table).where(*(c == row[c.name] for c in pk)).values(values))
        changed[name] = len(rows)
    return changed


def _value(col: Column[Any], how: Any, current: Any) -> Any:
    if how is MARK:
        return None if current is None else ERASED
    if how == "shape":
        if isinstance(current, list):
            return []
        if isinstance(current, dict):
            return {}
        return None if col.nullable else {}
    if how is None:
        return null() if _is_json(col) else None
    return how


def _expression(col: Column[Any], how: Any) -> Any:
    if how is MARK:
        return mark_expression(col)
    if how is None:
        return null() if _is_json(col) else None
    return how


def mark_expression(col: Column[Any]) -> Any:
    """SQL for MARK over many rows at once (retention)."""
    return case((col.is_(None), None), else_=literal(ERASED))


def allow_audit_redaction(conn: Connection) -> None:
    """audit_log is append-only (0014_timeline.py triggers); on PostgreSQL a transaction may rewrite `details`
    only after saying so (SQLite's trigger guards every other column and lets `details` change)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL centralino.audit_redaction = 'on'"))

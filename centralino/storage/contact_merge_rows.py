"""The rows of a contact merge: every reference to the merged contact re-pointed at the survivor, found
from the metadata (storage/contact_refs.py), with the unique collisions settled table by table:

- conversations: two conversations on one channel are folded into the survivor's (messages, outbox,
  SLA timers, surveys… every reference to the conversation follows) and the emptied one is deleted;
- contact_tags: the same tag twice is kept once;
- message_reactions: the newest reaction to a message wins (as inbound merges do);
- consent_records: never re-pointed (append-only: the contact.merged listener appends copies);
- anything else that collides (a campaign that reached both contacts) stays on the tombstone, recorded.

Everything moved, folded or left is returned, for the merge record."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, or_, select, update

from centralino.storage import contacts as contact_repo
from centralino.storage import service_levels
from centralino.storage.contact_refs import Ref, references_to, repoint, where_pk
from centralino.storage.tables import contacts, conversations
from centralino.storage.tables_desk import conversation_reads

# Re-pointed by their own step (or never): the generic pass skips them.
OWN_STEPS = {"conversations.contact_id", "consent_records.contact_id", "contacts.merged_into_id"}
DROP_DUPLICATES = {"contact_tags.contact_id"}
WINDOW_COLUMNS = ("last_inbound_at", "window_expires_at", "last_message_at")


def merge_rows(conn: Connection, keep: int, drop: int, now: datetime,
               between: Callable[[], None] | None = None) -> dict[str, Any]:
    """Move everything of `drop` onto `keep` and leave `drop` as a tombstone (merged_into_id = keep).
    `between` runs once the conversations are settled and before the other references move (the
    contact.merged listeners look for what is still the dropped contact's: routing's orphaned items)."""
    report: dict[str, Any] = {"moved": {}, "left_on_tombstone": {}, "conversations": {"moved": [], "folded": []},
                              "discarded": {}}
    refs = {r.name: r for r in references_to(contacts)}
    _conversations(conn, refs["conversations.contact_id"], keep, drop, report)
    if between is not None:
        between()
    merge_rest(conn, keep, drop, now, report)
    conn.execute(update(contacts).where(contacts.c.id == drop).values(merged_into_id=keep, updated_at=now))
    return report


def merge_rest(conn: Connection, keep: int, drop: int, now: datetime, report: dict[str, Any]) -> None:
    """Every reference but the conversations (settled before) and the ledger, then the profile. Also run
    after the inbound pipeline's own merge (storage/contacts.py merge, which knows only its tables), so the
    rows other areas hang on a contact (cases, notifications, campaign rows…) follow there too."""
    report.setdefault("moved", {})
    report.setdefault("left_on_tombstone", {})
    contact_repo._merge_reactions(conn, keep, drop)  # newest reaction wins before the generic pass
    for ref in references_to(contacts):
        name = ref.name
        if ref.stays or name in OWN_STEPS:
            continue
        moved, collided = repoint(conn, ref, keep, drop)
        if moved:
            report["moved"][name] = moved
        if collided and name in DROP_DUPLICATES:
            for key in collided:
                conn.execute(delete(ref.table).where(where_pk(ref.table, key)))
        elif collided:
            report["left_on_tombstone"][name] = collided
    # tombstones of earlier merges point straight at the survivor: one hop resolves any old link
    flattened = conn.execute(update(contacts).where(contacts.c.merged_into_id == drop, contacts.c.id != keep)
                             .values(merged_into_id=keep, updated_at=now)).rowcount
    if flattened:
        report["moved"]["contacts.merged_into_id"] = int(flattened)
    report["profile"] = _profile(conn, keep, drop, now)


def _conversations(conn: Connection, ref: Ref, keep: int, drop: int, report: dict[str, Any]) -> None:
    before = [int(r) for r in conn.execute(select(conversations.c.id).where(conversations.c.contact_id == drop))
              .scalars()]
    _moved, collided = repoint(conn, ref, keep, drop)
    folded = {int(k["id"]) for k in collided}
    report["conversations"]["moved"] = [c for c in before if c not in folded]
    for key in collided:
        dropped = conn.execute(select(conversations).where(conversations.c.id == key["id"])).mappings().one()
        target = int(conn.execute(select(conversations.c.id).where(
            conversations.c.contact_id == keep, conversations.c.channel_id == dropped["channel_id"])).scalar_one())
        report["conversations"]["folded"].append(fold_conversation(conn, dict(dropped), target, report))


def fold_conversation(conn: Connection, dropped: dict[str, Any], target: int, report: dict[str, Any]) -> dict[str, Any]:
    """Everything of conversation `dropped` into `target`, then `dropped` deleted. What moved."""
    drop_id = int(dropped["id"])
    for col in WINDOW_COLUMNS:
        if dropped[col] is not None:
            c = conversations.c[col]
            conn.execute(update(conversations).where(conversations.c.id == target, or_(c.is_(None), c < dropped[col]))
                         .values({col: dropped[col]}))
    kept = conn.execute(select(conversations.c.status).where(conversations.c.id == target)).scalar_one()
    if kept == "resolved" and dropped["status"] != "resolved":  # the customer is still being served there
        conn.execute(update(conversations).where(conversations.c.id == target).values(
            status=dropped["status"], assignee_user_id=dropped["assignee_user_id"],
            department_id=dropped["department_id"], snoozed_at=dropped["snoozed_at"],
            snoozed_until=dropped["snoozed_until"]))
    # its read marker goes (the survivor's own still counts); contacts, SLA timers, surveys follow
    conn.execute(delete(conversation_reads).where(conversation_reads.c.conversation_id == drop_id))
    service_levels.move_conversation(conn, drop_id, target)
    moved: dict[str, int] = {}
    for ref in references_to(conversations):
        count, collided = repoint(conn, ref, target, drop_id)
        if count:
            moved[ref.name] = count
        for key in collided:  # e.g. the same Idempotency-Key on both: the survivor's stands
            row = conn.execute(select(ref.table).where(where_pk(ref.table, key))).mappings().one()
            report["discarded"].setdefault(ref.name, []).append(
                {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()})
            conn.execute(delete(ref.table).where(where_pk(ref.table, key)))
    conn.execute(delete(conversations).where(conversations.c.id == drop_id))
    return {"from": drop_id, "into": target, "moved": moved}


def _profile(conn: Connection, keep: int, drop: int, now: datetime) -> dict[str, Any]:
    """The survivor's values win; the dropped contact's fill what the survivor lacks; conflicts recorded."""
    kept = conn.execute(select(contacts).where(contacts.c.id == keep)).mappings().one()
    other = conn.execute(select(contacts).where(contacts.c.id == drop)).mappings().one()
    conflicts: dict[str, Any] = {}
    values: dict[str, Any] = {}
    attributes = dict(kept["attributes"] or {})
    for key, value in (other["attributes"] or {}).items():
        if key not in attributes:
            attributes[key] = value
        elif attributes[key] != value:
            conflicts[f"attributes.{key}"] = {"kept": attributes[key], "dropped": value}
    if attributes != dict(kept["attributes"] or {}):
        values["attributes"] = attributes
    for col in ("display_name", "language"):
        if kept[col] is None and other[col] is not None:
            values[col] = other[col]
        elif other[col] is not None and other[col] != kept[col]:
            conflicts[col] = {"kept": kept[col], "dropped": other[col]}
    if values:
        conn.execute(update(contacts).where(contacts.c.id == keep).values(**values, updated_at=now))
    if other["profile_name"]:
        contact_repo.update_profile(conn, keep, other["profile_name"], other["username"], other["display_name_at"],
                                    now)
    return {"filled": sorted(values), "conflicts": conflicts}

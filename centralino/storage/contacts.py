"""Contacts and their identities: resolution by any identity, merging when two meet."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import phonenumbers
from sqlalchemy import Connection, and_, case, delete, func, insert, or_, select, update

from centralino.domain.enums import IdentityKind
from centralino.storage import timeline
from centralino.storage.sql import insert_ignore
from centralino.storage.tables import (
    contact_identities,
    contacts,
    conversations,
    message_reactions,
    messages,
    provider_notices,
)


@dataclass(frozen=True)
class Resolved:
    contact_id: int
    created: bool
    merged_ids: tuple[int, ...] = ()


def e164_from_wa_id(wa_id: str) -> str | None:
    """wa_id is the user's number without '+'; E.164 when it parses as a valid number."""
    if not wa_id.isdigit():
        return None
    try:
        number = phonenumbers.parse("+" + wa_id, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def identities_for(wa_id: str | None, bsuid: str | None) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if wa_id:
        found.append((IdentityKind.WHATSAPP.value, wa_id))
        phone = e164_from_wa_id(wa_id)
        if phone:
            found.append((IdentityKind.PHONE.value, phone))
    if bsuid:
        found.append((IdentityKind.WHATSAPP_BSUID.value, bsuid))
    return found


def owners(conn: Connection, identities: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    if not identities:
        return {}
    cond = or_(*(and_(contact_identities.c.kind == k, contact_identities.c.value == v) for k, v in identities))
    rows = conn.execute(
        select(contact_identities.c.kind, contact_identities.c.value, contact_identities.c.contact_id).where(cond)
    )
    return {(r.kind, r.value): int(r.contact_id) for r in rows}


def resolve(conn: Connection, identities: list[tuple[str, str]], now: datetime) -> Resolved:
    """The contact owning any of these identities, created if none; every identity attached to it,
    and contacts that turn out to share one merged into the oldest."""
    for _attempt in range(3):
        found = owners(conn, identities)
        contact_ids = sorted(set(found.values()))
        created = False
        if contact_ids:
            contact_id = contact_ids[0]
        else:
            contact_id = int(
                conn.execute(
                    insert(contacts).values(created_at=now, updated_at=now).returning(contacts.c.id)
                ).scalar_one()
            )
            created = True
        lost_race = False
        for kind, value in identities:
            if (kind, value) in found:
                continue
            added = insert_ignore(
                conn, contact_identities,
                {"contact_id": contact_id, "kind": kind, "value": value, "created_at": now},
                ("kind", "value"),
            )
            if added is None:  # another worker attached it meanwhile: start over with its owner
                lost_race = True
                break
        if lost_race:
            if created:
                conn.execute(delete(contact_identities).where(contact_identities.c.contact_id == contact_id))
                conn.execute(delete(contacts).where(contacts.c.id == contact_id))
            continue
        merged = tuple(contact_ids[1:])
        for other in merged:
            merge(conn, keep=contact_id, drop=other, now=now)
        return Resolved(contact_id=contact_id, created=created, merged_ids=merged)
    raise RuntimeError("contact identity resolution did not settle after 3 attempts")


def merge(conn: Connection, keep: int, drop: int, now: datetime) -> None:
    """Move everything of `drop` onto `keep`; `drop` stays as a tombstone pointing at `keep`."""
    conn.execute(update(contact_identities).where(contact_identities.c.contact_id == drop).values(contact_id=keep))
    kept_convs = {
        int(r.channel_id): int(r.id)
        for r in conn.execute(
            select(conversations.c.id, conversations.c.channel_id).where(conversations.c.contact_id == keep)
        )
    }
    for conv in conn.execute(select(conversations).where(conversations.c.contact_id == drop)).mappings().all():
        target = kept_convs.get(int(conv["channel_id"]))
        if target is None:
            conn.execute(update(conversations).where(conversations.c.id == conv["id"]).values(contact_id=keep))
            continue
        timeline.move_conversation(conn, int(conv["id"]), target)  # its story too (docs/timeline.md)
        # everything that references the conversation follows it (messages, outbox, notifications, SLA timers,
        # surveys, tables added later), found from the metadata; then it is deleted
        from centralino.storage.contact_merge_rows import fold_conversation  # it imports this module

        fold_conversation(conn, dict(conv), target, {"discarded": {}})
    conn.execute(update(messages).where(messages.c.contact_id == drop).values(contact_id=keep))
    timeline.move_contact(conn, drop, keep)
    _merge_reactions(conn, keep, drop)
    conn.execute(update(provider_notices).where(provider_notices.c.contact_id == drop).values(contact_id=keep))
    dropped = conn.execute(select(contacts).where(contacts.c.id == drop)).mappings().one()
    if dropped["profile_name"]:
        update_profile(conn, keep, dropped["profile_name"], dropped["username"], dropped["display_name_at"], now)
    conn.execute(update(contacts).where(contacts.c.id == drop).values(merged_into_id=keep, updated_at=now))


def _merge_reactions(conn: Connection, keep: int, drop: int) -> None:
    r = message_reactions.c
    for row in conn.execute(select(message_reactions).where(r.contact_id == drop)).mappings().all():
        twin = conn.execute(
            select(r.id, r.reacted_at).where(
                r.contact_id == keep, r.channel_id == row["channel_id"],
                r.target_external_id == row["target_external_id"],
            )
        ).first()
        if twin is None:
            conn.execute(update(message_reactions).where(r.id == row["id"]).values(contact_id=keep))
        else:
            if twin.reacted_at < row["reacted_at"]:
                conn.execute(
                    update(message_reactions).where(r.id == twin.id).values(
                        emoji=row["emoji"], reacted_at=row["reacted_at"],
                        source_external_id=row["source_external_id"],
                    )
                )
            conn.execute(delete(message_reactions).where(r.id == row["id"]))


def update_profile(
    conn: Connection, contact_id: int, name: str | None, username: str | None, at: datetime | None, now: datetime
) -> None:
    """The profile name from the newest message wins, whatever order messages arrive in. It is kept in
    profile_name; display_name follows it unless an agent set another name (then they differ)."""
    if not name or at is None:
        return
    c = contacts.c
    conn.execute(
        update(contacts)
        .where(
            c.id == contact_id,
            # ties broken by the name itself, so the outcome never depends on arrival order
            or_(c.display_name_at.is_(None), c.display_name_at < at,
                and_(c.display_name_at == at, func.coalesce(c.profile_name, "") < name[:300])),
        )
        .values(display_name=follows_profile(name[:300]), profile_name=name[:300], username=username,
                display_name_at=at, updated_at=now)
    )


def follows_profile(new_name: Any) -> Any:
    """display_name becomes the new profile name unless an agent named the contact (it differs from the
    previous profile name). Right-hand sides of an UPDATE read the row's old values."""
    c = contacts.c
    return case((or_(c.display_name.is_(None), c.display_name == c.profile_name), new_name), else_=c.display_name)


def count_live(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(contacts).where(contacts.c.merged_into_id.is_(None)))
               .scalar_one())


def address_for(conn: Connection, contact_id: int, kinds: list[str]) -> tuple[str, str] | None:
    """The identity to send to: the first kind in `kinds` the contact has (its newest value of it)."""
    ci = contact_identities.c
    rows = conn.execute(select(ci.kind, ci.value).where(ci.contact_id == contact_id, ci.kind.in_(kinds))
                        .order_by(ci.id.desc())).all()
    for kind in kinds:
        for r in rows:
            if r.kind == kind:
                return str(r.kind), str(r.value)
    return None

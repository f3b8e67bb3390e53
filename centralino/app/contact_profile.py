"""The customer panel's edits: display name, language, tags and custom attributes. Someone who may see
none of the contact's conversations gets "not found". Every change is checked before anything is
written, audited (`contact.updated`) and announced (`contact.updated` event) in one transaction."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from centralino.app.unit_of_work import unit_of_work
from centralino.domain import contact_profile as rules
from centralino.domain.access import Principal
from centralino.errors import Conflict, InvalidInput, NotFound
from centralino.events.bus import EventBus
from centralino.storage import auth as auth_repo
from centralino.storage import queries
from centralino.storage.tables import contact_tags, contacts
from centralino.storage.visibility import visible_conversations

EDITABLE = ("display_name", "language", "tags", "attributes")


def tags_of(conn: Connection, contact_id: int) -> list[str]:
    return [str(t) for t in conn.execute(select(contact_tags.c.tag).where(contact_tags.c.contact_id == contact_id)
                                         .order_by(contact_tags.c.tag)).scalars()]


def profile(conn: Connection, principal: Principal, contact_id: int) -> dict[str, Any]:
    visible = visible_conversations(principal)
    found = queries.get_contact(conn, contact_id, visible)
    if found is None:
        # a contact merged into another (docs/contacts.md) has no conversations left: its tombstone is shown,
        # naming the survivor in merged_into_id, to whoever may see the survivor (old links resolve)
        survivor = conn.execute(select(contacts.c.merged_into_id).where(contacts.c.id == contact_id)).scalar()
        if survivor is not None and queries.get_contact(conn, int(survivor), visible) is not None:
            found = queries.get_contact(conn, contact_id)
    if found is None:
        raise NotFound(f"no contact {contact_id}", field="contact_id")
    found["tags"] = tags_of(conn, contact_id)
    found["attributes"] = dict(found.get("attributes") or {})
    return found


class ContactProfiles:
    def __init__(self, engine: Any, bus: EventBus | None, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.bus = bus
        self.clock = clock

    def get(self, principal: Principal, contact_id: int) -> dict[str, Any]:
        with self.engine.connect() as conn:
            return profile(conn, principal, contact_id)

    def do_update(self, principal: Principal, contact_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        """`changes`: any of display_name, language (null clears), tags (the whole list), attributes
        (key → text, or null to remove the key). The updated profile."""
        unknown = sorted(set(changes) - set(EDITABLE))
        if unknown:
            raise InvalidInput(f"{unknown[0]} cannot be changed", field=unknown[0], code="contact.not_editable")
        checked: dict[str, Any] = {}
        if "display_name" in changes:
            checked["display_name"] = rules.check_name(changes["display_name"])
        if "language" in changes:
            checked["language"] = rules.check_language(changes["language"])
        if "tags" in changes:
            checked["tags"] = rules.check_tags(changes["tags"])
        now = self.clock()
        with unit_of_work(self.engine, self.bus) as uow:
            current = profile(uow.conn, principal, contact_id)
            if current["merged_into_id"] is not None:
                survivor = int(current["merged_into_id"])
                raise Conflict(f"contact {contact_id} was merged into contact {survivor}: change that one",
                               field="contact_id", code="contact.merged", merged_into_id=survivor)
            uow.conn.execute(select(contacts.c.id).where(contacts.c.id == contact_id).with_for_update())
            if "attributes" in changes:
                checked["attributes"] = rules.merge_attributes(current["attributes"], changes["attributes"])
            diff = {k: {"from": current.get(k), "to": v} for k, v in checked.items() if current.get(k) != v}
            if not diff:
                return current
            columns = {k: checked[k] for k in ("display_name", "language", "attributes") if k in diff}
            if columns:
                uow.conn.execute(update(contacts).where(contacts.c.id == contact_id).values(**columns, updated_at=now))
            if "tags" in diff:
                self._set_tags(uow.conn, contact_id, current["tags"], checked["tags"], now)
            auth_repo.audit(uow.conn, at=now, actor_user_id=principal.user_id, actor=principal.actor,
                            action="contact.updated", target_type="contact", target_id=contact_id, details=diff)
            uow.emit("contact.updated", contact_id=contact_id, fields=sorted(diff), actor=principal.actor)
            return profile(uow.conn, principal, contact_id)

    @staticmethod
    def _set_tags(conn: Connection, contact_id: int, before: list[str], after: list[str], now: datetime) -> None:
        removed, added = sorted(set(before) - set(after)), sorted(set(after) - set(before))
        if removed:
            conn.execute(delete(contact_tags).where(contact_tags.c.contact_id == contact_id,
                                                    contact_tags.c.tag.in_(removed)))
        if added:
            conn.execute(insert(contact_tags), [{"contact_id": contact_id, "tag": t, "created_at": now} for t in added])

"""Who may administer contacts. Merging, importing and duplicates: supervisors and administrators; GDPR
export, erasure and retention: administrators. A contact the caller may not see is "not found"
(administrators see every contact, also one without any conversation; supervisors those with a
conversation they may see, and the tombstones merged into those)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, or_, select

from centralino.domain.access import Principal, Role
from centralino.errors import Forbidden, NotFound
from centralino.storage.tables import contacts, conversations
from centralino.storage.visibility import visible_conversations

SUPERVISING = (Role.SUPERVISOR, Role.ADMIN)


def check_supervisor(principal: Principal) -> None:
    if principal.role not in SUPERVISING:
        raise Forbidden("only supervisors and administrators administer contacts", code="contact.forbidden")


def check_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("only administrators may do this", code="contact.admin_only")


def visible_contact(conn: Connection, principal: Principal, contact_id: int, field: str = "contact_id") -> Any:
    """The contact row (tombstones included), or NotFound naming `field`."""
    stmt = select(contacts).where(contacts.c.id == contact_id)
    if not principal.is_admin:
        seen = select(conversations.c.contact_id).where(visible_conversations(principal))
        # a tombstone is seen through its survivor (a repeated merge answers "already", not 404)
        stmt = stmt.where(or_(contacts.c.id.in_(seen), contacts.c.merged_into_id.in_(seen)))
    row = conn.execute(stmt).mappings().first()
    if row is None:
        raise NotFound(f"no contact {contact_id}", field=field)
    return row

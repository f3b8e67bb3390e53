"""Merging two contacts that are one person (docs/contacts.md): everything of the other contact moves onto
the survivor in one transaction (storage/contact_merge_rows.py), the other stays as a tombstone
(merged_into_id) so old links resolve, the merge is recorded (contact_merges), audited and announced as
`contact.merged`. Merging again is a no-op answering the first merge."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select

from centralino.app.contact_access import check_supervisor, visible_contact
from centralino.app.unit_of_work import UnitOfWork, unit_of_work
from centralino.domain.access import Principal
from centralino.errors import Conflict, InvalidInput
from centralino.events.bus import Event, EventBus
from centralino.storage import auth as auth_repo
from centralino.storage.contact_merge_rows import merge_rest, merge_rows
from centralino.storage.tables import contacts
from centralino.storage.tables_contacts_admin import contact_merges


def check_merge(survivor: Any, other: Any) -> bool:
    """True when `other` is already merged into `survivor` (nothing to do); raises when it cannot be."""
    if int(survivor["id"]) == int(other["id"]):
        raise InvalidInput("a contact cannot be merged into itself", field="contact_id", code="contact.merge_self")
    if survivor["merged_into_id"] is not None:
        raise Conflict(f"contact {survivor['id']} was merged into contact {survivor['merged_into_id']}: merge into "
                       "that one", field="contact_id", code="contact.merged",
                       merged_into_id=int(survivor["merged_into_id"]))
    if other["merged_into_id"] is None:
        return False
    if int(other["merged_into_id"]) == int(survivor["id"]):
        return True
    raise Conflict(f"contact {other['id']} was already merged into contact {other['merged_into_id']}",
                   field="contact_id", code="contact.merged", merged_into_id=int(other["merged_into_id"]))


class ContactMerger:
    def __init__(self, engine: Any, bus: EventBus | None, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.bus = bus
        self.clock = clock

    def do_merge(self, principal: Principal, survivor_id: int, other_id: int) -> dict[str, Any]:
        """Merge contact `other_id` into `survivor_id`. The merge record: {id, survivor_id, merged_id, actor,
        merged_at, details, already}."""
        check_supervisor(principal)
        now = self.clock()
        with unit_of_work(self.engine, self.bus) as uow:
            conn = uow.conn
            # both rows locked in id order (two merges of the same pair never deadlock)
            conn.execute(select(contacts.c.id).where(contacts.c.id.in_([survivor_id, other_id]))
                         .order_by(contacts.c.id).with_for_update())
            survivor = visible_contact(conn, principal, survivor_id)
            other = visible_contact(conn, principal, other_id, field="other_contact_id")
            if check_merge(survivor, other):
                return {**self._record(conn, survivor_id, other_id), "already": True}

            def announce() -> None:
                uow.emit("contact.merged", contact_id=survivor_id, merged_contact_id=other_id, actor=principal.actor)

            details = merge_rows(conn, survivor_id, other_id, now, between=announce)
            conn.execute(insert(contact_merges).values(survivor_id=survivor_id, merged_id=other_id,
                                                       actor=principal.actor, merged_at=now, details=details))
            auth_repo.audit(conn, at=now, actor_user_id=principal.user_id, actor=principal.actor,
                            action="contact.merged", target_type="contact", target_id=survivor_id,
                            details={"merged_contact_id": other_id, "moved": details["moved"]})
            return {**self._record(conn, survivor_id, other_id), "already": False}

    @staticmethod
    def _record(conn: Any, survivor_id: int, other_id: int) -> dict[str, Any]:
        m = contact_merges.c
        row = conn.execute(select(contact_merges).where(m.survivor_id == survivor_id, m.merged_id == other_id)
                           .order_by(m.id.desc()).limit(1)).mappings().first()
        if row is None:  # merged by the inbound pipeline (a shared identity), which keeps no record
            return {"id": None, "survivor_id": survivor_id, "merged_id": other_id, "actor": "system",
                    "merged_at": None, "details": {}}
        return dict(row)


def install_merge_follower(bus: EventBus, clock: Callable[[], datetime]) -> None:
    """The inbound pipeline merges contacts that turn out to share an identity (storage/contacts.py merge, which
    moves the tables it knows); this listener then moves every other reference found from the metadata
    (cases, notifications, campaign rows, tags… and tables added later) and combines the profile. Subscribed
    after routing's and consent's contact.merged listeners, which look at what is still the dropped contact's.
    A merge through ContactMerger (its event names the actor) has moved everything itself."""

    def on_merged(uow: UnitOfWork, event: Event) -> None:
        if "actor" in event.payload:
            return
        merge_rest(uow.conn, int(event.payload["contact_id"]), int(event.payload["merged_contact_id"]), clock(), {})

    bus.subscribe_in_transaction("contact.merged", on_merged)

"""What agents do to a conversation besides sending: private notes, assignment, resolve/reopen, the
customer's display name, their interface language. Each checks visibility (outside the agent's scope a
conversation does not exist), writes an audit entry and emits an event in the same transaction.

A note is a message row with direction `int` and type `note`: it sits in the timeline, but no outbox row
is ever written for it, and the sender only sends outbox rows, so it can never reach the customer.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, or_, select, update

from centralino.app.contact_profile import ContactProfiles
from centralino.app.quick_replies import QuickReplies
from centralino.app.unit_of_work import UnitOfWork, unit_of_work
from centralino.app.visibility import check_conversation_visible
from centralino.domain.access import Language, Principal, may_assign
from centralino.domain.enums import ConversationStatus, DeliveryStatus, Direction, MessageType
from centralino.errors import Forbidden, InvalidInput, NotFound
from centralino.events.bus import Event, EventBus
from centralino.storage import auth as auth_repo
from centralino.storage import bulk
from centralino.storage import conversations as conversation_repo
from centralino.storage import desk as desk_repo
from centralino.storage import messages as message_repo
from centralino.storage import users as user_repo
from centralino.storage.tables import contacts, conversations, users

NOTE_MAX_CHARS = 4096
NAME_MAX_CHARS = 300
SNOOZE_MAX = timedelta(days=30)
PRESENCE_STATES = ("viewing", "typing", "left")


def _utcnow() -> datetime:
    return datetime.now(UTC)


class DeskActions:
    def __init__(self, engine: Engine, bus: EventBus | None, *, clock: Callable[[], datetime] = _utcnow) -> None:
        self.engine = engine
        self.bus = bus
        self.clock = clock
        self.profiles = ContactProfiles(engine, bus, clock)  # the customer panel's edits
        self.quick_replies = QuickReplies(engine, bus, clock)

    def _audit(self, uow: UnitOfWork, actor: Principal, action: str, target_type: str, target_id: int,
               details: dict[str, Any]) -> None:
        auth_repo.audit(uow.conn, at=self.clock(), actor_user_id=actor.user_id, actor=actor.actor, action=action,
                        target_type=target_type, target_id=target_id, details=details)

    def do_add_note(self, principal: Principal, conversation_id: int, body: str) -> int:
        """A private note in the conversation's timeline, seen by agents only; its message id."""
        body = body.strip()
        if not body:
            raise InvalidInput("a note needs some text", field="body", code="note.empty")
        if len(body) > NOTE_MAX_CHARS:
            raise InvalidInput(f"a note has at most {NOTE_MAX_CHARS} characters", field="body", code="note.too_long")
        now = self.clock()
        with unit_of_work(self.engine, self.bus) as uow:
            check_conversation_visible(uow.conn, principal, conversation_id)
            conversation = conversation_repo.get(uow.conn, conversation_id)
            message_id = message_repo.insert(uow.conn, {
                "conversation_id": conversation_id, "channel_id": conversation["channel_id"],
                "contact_id": conversation["contact_id"], "direction": Direction.INTERNAL.value,
                "type": MessageType.NOTE.value, "raw_type": MessageType.NOTE.value, "external_id": None,
                "text": body, "content": {"body": body}, "status": DeliveryStatus.UNKNOWN.value,
                "forwarded": False, "frequently_forwarded": False, "sent_at": now, "created_at": now,
                "origin": principal.origin,
            })
            assert message_id is not None  # no external id: nothing to conflict with
            self._audit(uow, principal, "conversation.note_added", "conversation", conversation_id,
                        {"message_id": message_id})
            uow.emit("message.note_added", message_id=message_id, conversation_id=conversation_id,
                     actor=principal.actor)
        return message_id

    def do_assign(self, principal: Principal, conversation_id: int, assignee_user_id: int | None) -> None:
        """Assign to a user (None: unassign). Agents only take conversations for themselves or give back
        their own (domain.access.may_assign)."""
        with unit_of_work(self.engine, self.bus) as uow:
            check_conversation_visible(uow.conn, principal, conversation_id)
            current = conversation_repo.get(uow.conn, conversation_id, lock=True)["assignee_user_id"]
            if not may_assign(principal, assignee_user_id, current):
                raise Forbidden("agents may take a conversation for themselves or give back their own",
                                code="conversation.assign_forbidden")
            if assignee_user_id is not None:
                active = uow.conn.execute(select(users.c.active).where(users.c.id == assignee_user_id)).scalar()
                if not active:
                    raise InvalidInput(f"no active user {assignee_user_id}", field="user_id")
            if current == assignee_user_id:
                return
            uow.conn.execute(update(conversations).where(conversations.c.id == conversation_id)
                             .values(assignee_user_id=assignee_user_id))
            self._audit(uow, principal, "conversation.assigned", "conversation", conversation_id,
                        {"from": current, "to": assignee_user_id})
            uow.emit("conversation.assigned", conversation_id=conversation_id, assignee_user_id=assignee_user_id,
                     previous_assignee_user_id=current, actor=principal.actor)

    def do_set_status(self, principal: Principal, conversation_id: int, status: ConversationStatus) -> None:
        """Resolve or reopen (open); a new customer message reopens a resolved one (reopen_for_customer)."""
        if status not in (ConversationStatus.OPEN, ConversationStatus.RESOLVED):
            raise InvalidInput("status is open or resolved", field="status")
        with unit_of_work(self.engine, self.bus) as uow:
            check_conversation_visible(uow.conn, principal, conversation_id)
            previous = conversation_repo.get(uow.conn, conversation_id, lock=True)["status"]
            if previous == status.value:
                return
            uow.conn.execute(update(conversations).where(conversations.c.id == conversation_id)
                             .values(status=status.value, snoozed_at=None, snoozed_until=None))
            action = "conversation.resolved" if status is ConversationStatus.RESOLVED else "conversation.reopened"
            self._audit(uow, principal, action, "conversation", conversation_id, {"from": previous})
            uow.emit("conversation.status_changed", conversation_id=conversation_id, status=status.value,
                     previous=previous, actor=principal.actor)

    def do_snooze(self, principal: Principal, conversation_id: int, until: datetime) -> None:
        """Out of the way until `until` or until the customer writes again, whichever comes first
        (wake_snoozed reopens it)."""
        now = self.clock()
        if until.tzinfo is None:
            raise InvalidInput("until needs a time zone", field="until")
        if not now < until <= now + SNOOZE_MAX:
            raise InvalidInput("until is in the future and at most 30 days away", field="until")
        with unit_of_work(self.engine, self.bus) as uow:
            check_conversation_visible(uow.conn, principal, conversation_id)
            previous = conversation_repo.get(uow.conn, conversation_id, lock=True)["status"]
            uow.conn.execute(update(conversations).where(conversations.c.id == conversation_id).values(
                status=ConversationStatus.SNOOZED.value, snoozed_at=now, snoozed_until=until))
            self._audit(uow, principal, "conversation.snoozed", "conversation", conversation_id,
                        {"from": previous, "until": until.isoformat()})
            uow.emit("conversation.status_changed", conversation_id=conversation_id,
                     status=ConversationStatus.SNOOZED.value, previous=previous, actor=principal.actor)

    def wake_snoozed(self) -> int:
        """Reopen snoozed conversations whose time is up or whose customer wrote since; how many."""
        now = self.clock()
        cv = conversations.c
        customer_wrote = and_(cv.last_inbound_at.is_not(None), cv.last_inbound_at > cv.snoozed_at)
        due = and_(cv.status == ConversationStatus.SNOOZED.value, or_(cv.snoozed_until <= now, customer_wrote))
        with unit_of_work(self.engine, self.bus) as uow:
            woken = [int(i) for i in uow.conn.execute(select(cv.id).where(due)).scalars()]
            if not woken:
                return 0
            uow.conn.execute(update(conversations).where(cv.id.in_(woken), due)
                             .values(status=ConversationStatus.OPEN.value, snoozed_at=None, snoozed_until=None))
            for conversation_id in woken:
                uow.emit("conversation.status_changed", conversation_id=conversation_id,
                         status=ConversationStatus.OPEN.value, previous=ConversationStatus.SNOOZED.value,
                         actor="system")
        return len(woken)

    def do_rename_contact(self, principal: Principal, conversation_id: int, name: str) -> None:
        """Set the customer's display name (through a conversation the agent may see). A later WhatsApp
        profile name no longer replaces it: it is kept apart in profile_name (contacts.update_profile)."""
        name = " ".join(name.split())
        if not name or len(name) > NAME_MAX_CHARS:
            raise InvalidInput(f"a name has 1 to {NAME_MAX_CHARS} characters", field="display_name")
        now = self.clock()
        with unit_of_work(self.engine, self.bus) as uow:
            check_conversation_visible(uow.conn, principal, conversation_id)
            contact_id = int(conversation_repo.get(uow.conn, conversation_id)["contact_id"])
            previous = uow.conn.execute(select(contacts.c.display_name).where(contacts.c.id == contact_id)).scalar()
            uow.conn.execute(update(contacts).where(contacts.c.id == contact_id)
                             .values(display_name=name, updated_at=now))
            self._audit(uow, principal, "contact.renamed", "contact", contact_id, {"from": previous, "to": name})
            uow.emit("contact.renamed", contact_id=contact_id, conversation_id=conversation_id, actor=principal.actor)

    def do_mark_read(self, principal: Principal, conversation_id: int) -> bool:
        """An agent opened (read) the conversation: its unread count starts again from zero. Whether the
        marker moved (only then an event, `conversation.read`, tells the inboxes)."""
        with unit_of_work(self.engine, self.bus) as uow:
            check_conversation_visible(uow.conn, principal, conversation_id)
            moved = desk_repo.mark_read(uow.conn, conversation_id, principal.user_id, self.clock())
            if moved:
                uow.emit("conversation.read", conversation_id=conversation_id, user_id=principal.user_id,
                         actor=principal.actor)
        return moved

    def announce_presence(self, principal: Principal, conversation_id: int, state: str) -> None:
        """"Anna is viewing / typing" for the others with this conversation open: published on the bus only
        (the desktop hub and the Redis relay carry it), never stored."""
        if state not in PRESENCE_STATES:
            raise InvalidInput(f"state is one of {', '.join(PRESENCE_STATES)}", field="state")
        if principal.user_id is None or self.bus is None:
            return
        with self.engine.connect() as conn:
            check_conversation_visible(conn, principal, conversation_id)
            name = conn.execute(select(users.c.display_name).where(users.c.id == principal.user_id)).scalar()
        self.bus.publish([Event("desk.presence", {"conversation_id": conversation_id, "user_id": principal.user_id,
                                                  "name": name, "state": state})])

    def do_set_language(self, principal: Principal, language: Language) -> None:
        if principal.user_id is None:
            raise NotFound("no user to set a language for")
        with unit_of_work(self.engine, self.bus) as uow:
            user_repo.update_user(uow.conn, principal.user_id, {"language": language.value}, self.clock())


def reopen_for_customer(uow: UnitOfWork, conversation_ids: list[int]) -> None:
    """Inside the inbound transaction: resolved conversations whose customer wrote again are open again
    (one set-based UPDATE for a whole batch). Snoozed ones are woken by wake_snoozed."""
    if not conversation_ids:
        return
    for conversation_id in bulk.reopen_resolved(uow.conn, conversation_ids):
        uow.emit("conversation.status_changed", conversation_id=conversation_id,
                 status=ConversationStatus.OPEN.value, previous=ConversationStatus.RESOLVED.value, actor="customer")

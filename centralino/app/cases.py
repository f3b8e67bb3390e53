"""Cases (the "pratica"): open one (optionally from a conversation, with the chosen messages), update its
fields, move it through its type's workflow, assign it, link conversations/messages/emails/calls, escalate it
to another department. Each use case checks, changes state in one transaction and emits the events of the
issue-7 contract (case_id, contact_id, actor). Tasks: app/case_tasks.py; reads: app/case_views.py."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, update

from centralino.app.case_handoffs import (
    case_ref,
    case_work_due,
    check_department,
    check_reason,
    move_case,
    refresh_case_work,
)
from centralino.app.case_sla import FIRST_RESPONSE, RESOLUTION, start_case_timers, stop_timers
from centralino.app.case_types import ensure_default_types, load_case_type
from centralino.app.unit_of_work import UnitOfWork, unit_of_work
from centralino.app.visibility import check_conversation_visible, check_message_visible
from centralino.domain.access import Principal, Role
from centralino.domain.cases import Priority, check_fields, check_tags, check_title, check_transition
from centralino.errors import Conflict, Forbidden, InvalidInput, NotFound
from centralino.events.bus import EventBus
from centralino.storage import cases as repo
from centralino.storage.tables import contacts, conversations, messages, users
from centralino.storage.tables_cases import case_links, cases

LINK_KINDS = ("conversation", "message", "email", "call")
UPDATABLE = ("title", "priority", "tags", "due_at", "fields")
MAX_LINKED_MESSAGES = 200


class Unset:
    """A keyword left out (as opposed to given as None, which clears)."""


UNSET = Unset()


def _utcnow() -> datetime:
    return datetime.now(UTC)


def check_due(value: object, field: str = "due_at") -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput("a date and time in ISO 8601, e.g. 2026-12-01T17:00:00Z", field=field) from None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidInput("a date and time with its time zone, e.g. 2026-12-01T17:00:00Z", field=field)
    return value.astimezone(UTC)


def check_user(conn: Connection, user_id: object, field: str) -> int:
    if isinstance(user_id, bool) or not isinstance(user_id, int) or not conn.execute(
            select(users.c.active).where(users.c.id == user_id)).scalar():
        raise InvalidInput(f"no active user {user_id}", field=field)
    return user_id


def visible_case(conn: Connection, principal: Principal, case_id: int, *, lock: bool = False) -> Any:
    """The case row, or 404 when it does not exist or is out of the principal's scope (nothing leaked)."""
    if not repo.is_case_visible(conn, principal, case_id):
        raise NotFound(f"no case {case_id}", field="case_id")
    return repo.case_row(conn, case_id, lock=lock)


class CaseService:
    def __init__(self, engine: Engine, bus: EventBus | None, *, clock: Callable[[], datetime] = _utcnow) -> None:
        self.engine = engine
        self.bus = bus
        self.clock = clock

    # -- creating -------------------------------------------------------------------------------------------

    def do_create_case(self, principal: Principal, *, case_type: int | str, title: str,
                       contact_id: int | None = None, conversation_id: int | None = None,
                       message_ids: Sequence[int] = (), priority: str | None = None,
                       fields: dict[str, Any] | None = None, tags: list[str] | None = None,
                       due_at: datetime | str | None = None, department_id: int | None = None,
                       owner_user_id: int | Unset | None = UNSET) -> dict[str, Any]:
        """A new case in its type's initial status. From a conversation: the contact is the conversation's, the
        conversation and the chosen messages (of that conversation) are linked. The owner defaults to whoever
        opens it; the department to theirs when they have exactly one."""
        now = self.clock()
        clean_title = check_title(title)
        clean_tags = check_tags(tags or [])
        due = check_due(due_at)
        if len(message_ids) > MAX_LINKED_MESSAGES:
            raise InvalidInput(f"at most {MAX_LINKED_MESSAGES} messages", field="message_ids")
        with unit_of_work(self.engine, self.bus) as uow:
            conn = uow.conn
            ensure_default_types(conn, now)
            type_row = (repo.case_type_by_key(conn, case_type) if isinstance(case_type, str)
                        else repo.case_type_row(conn, case_type))
            if type_row is None or not type_row["active"]:
                raise InvalidInput(f"no active case type {case_type}", field="case_type")
            definition = load_case_type(conn, int(type_row["id"]))
            values = check_fields(definition, fields or {}, complete=True)
            level = Priority.parse(priority) if priority is not None else definition.default_priority
            contact_id = self._contact(conn, principal, contact_id, conversation_id, message_ids)
            if department_id is None and len(principal.department_ids) == 1:
                department_id = next(iter(principal.department_ids))
            elif department_id is not None:
                check_department(conn, department_id)
            owner = principal.user_id if isinstance(owner_user_id, Unset) else owner_user_id
            if owner != principal.user_id:
                self._check_may_assign(principal, owner, None)
            if owner is not None:
                check_user(conn, owner, "owner_user_id")
            number = repo.next_case_number(conn, now.year)
            case_id = int(conn.execute(insert(cases).values(
                number=number, case_type_id=type_row["id"], status=definition.workflow.initial,
                priority=level.value, owner_user_id=owner, department_id=department_id, contact_id=contact_id,
                title=clean_title, fields={k: v for k, v in values.items() if v is not None}, tags=clean_tags,
                due_at=due, created_by=principal.actor, created_at=now, updated_at=now,
                work_due_at=repo.NO_DUE).returning(cases.c.id)).scalar_one())
            sla_due = start_case_timers(conn, case_id, definition.sla, now)
            conn.execute(update(cases).where(cases.c.id == case_id).values(
                **sla_due, work_due_at=case_work_due(due, sla_due["first_response_due_at"], None,
                                                     sla_due["resolution_due_at"]),
                open_department_id=department_id))
            case = repo.case_row(conn, case_id)
            uow.emit("case.created", **case_ref(case), case_type=definition.key, status=case["status"],
                     priority=level.value, owner_user_id=owner, department_id=department_id,
                     conversation_id=conversation_id, actor=principal.actor)
            if conversation_id is not None:
                self._link(uow, case, "conversation", conversation_id, principal.actor, now)
            for message_id in dict.fromkeys(message_ids):
                self._link(uow, case, "message", int(message_id), principal.actor, now)
            return dict(repo.case_row(conn, case_id))

    def _contact(self, conn: Connection, principal: Principal, contact_id: int | None, conversation_id: int | None,
                 message_ids: Sequence[int]) -> int | None:
        if conversation_id is not None:
            check_conversation_visible(conn, principal, conversation_id)
            of_conversation = int(conn.execute(select(conversations.c.contact_id)
                                               .where(conversations.c.id == conversation_id)).scalar_one())
            if contact_id is not None and contact_id != of_conversation:
                raise InvalidInput("the contact is the conversation's", field="contact_id")
            contact_id = of_conversation
            mine = set(conn.execute(select(messages.c.id).where(messages.c.conversation_id == conversation_id,
                                                                messages.c.id.in_(list(message_ids)))).scalars())
            strangers = [m for m in message_ids if m not in mine]
            if strangers:
                raise InvalidInput(f"message {strangers[0]} is not in conversation {conversation_id}",
                                   field="message_ids")
        elif message_ids:
            raise InvalidInput("messages are linked together with their conversation", field="message_ids")
        elif contact_id is not None and conn.execute(
                select(contacts.c.id).where(contacts.c.id == contact_id)).scalar() is None:
            raise InvalidInput(f"no contact {contact_id}", field="contact_id")
        return contact_id

    # -- changing -------------------------------------------------------------------------------------------

    def do_update(self, principal: Principal, case_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        """Title, priority, tags, due_at and custom fields (merged: a field given as null is cleared), validated
        against the case's type. Emits case.updated with what changed."""
        unknown = sorted(set(changes) - set(UPDATABLE))
        if unknown:
            raise InvalidInput(f"{unknown[0]} cannot be changed here; changeable: {', '.join(UPDATABLE)}",
                               field=unknown[0])
        now = self.clock()
        with unit_of_work(self.engine, self.bus) as uow:
            case = visible_case(uow.conn, principal, case_id, lock=True)
            definition = load_case_type(uow.conn, int(case["case_type_id"]))
            values: dict[str, Any] = {}
            if "title" in changes:
                values["title"] = check_title(changes["title"])
            if "priority" in changes:
                values["priority"] = Priority.parse(changes["priority"]).value
            if "tags" in changes:
                values["tags"] = check_tags(changes["tags"])
            if "due_at" in changes:
                values["due_at"] = check_due(changes["due_at"])
            if "fields" in changes:
                given = check_fields(definition, changes["fields"], complete=False)
                merged = {**case["fields"], **given}
                values["fields"] = {k: v for k, v in merged.items() if v is not None}
            changed = {k: v for k, v in values.items() if v != case[k]}
            if not changed:
                return dict(case)
            uow.conn.execute(update(cases).where(cases.c.id == case_id).values(**changed, updated_at=now))
            if "due_at" in changed:
                refresh_case_work(uow.conn, case_id)
            uow.emit("case.updated", **case_ref(case), changes={
                k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in changed.items()},
                actor=principal.actor)
            return dict(repo.case_row(uow.conn, case_id))

    def do_transition(self, principal: Principal, case_id: int, to_status: str,
                      note: str | None = None) -> dict[str, Any]:
        """Only the type's allowed transitions (409 case.transition_not_allowed naming from/to). Leaving the
        initial status is the first response; reaching a closed status closes the case and stops its SLA."""
        if note is not None and (not isinstance(note, str) or len(note) > 2000):
            raise InvalidInput("a note has at most 2000 characters", field="note")
        now = self.clock()
        with unit_of_work(self.engine, self.bus) as uow:
            conn = uow.conn
            case = visible_case(conn, principal, case_id, lock=True)
            workflow = load_case_type(conn, int(case["case_type_id"])).workflow
            from_status = case["status"]
            check_transition(workflow, from_status, to_status)
            closing = to_status in workflow.closed
            values: dict[str, Any] = {"status": to_status, "updated_at": now,
                                      "closed_at": (case["closed_at"] or now) if closing else None}
            if case["first_responded_at"] is None:
                values["first_responded_at"] = now
                stop_timers(conn, [f"case:{case_id}:{FIRST_RESPONSE}"], now)
            if closing:
                stop_timers(conn, [f"case:{case_id}:{RESOLUTION}", f"case:{case_id}:{FIRST_RESPONSE}"], now)
            conn.execute(update(cases).where(cases.c.id == case_id).values(**values))
            refresh_case_work(conn, case_id)
            uow.emit("case.status_changed", **case_ref(case), **{"from": from_status, "to": to_status},
                     closed=closing, note=note, actor=principal.actor)
            return dict(repo.case_row(conn, case_id))

    def do_assign(self, principal: Principal, case_id: int, *, owner_user_id: int | Unset | None = UNSET,
                  department_id: int | Unset | None = UNSET, reason: str | None = None) -> dict[str, Any]:
        """Agents take a case for themselves or give back their own; supervisors and administrators assign to
        anyone and change the department — a hand-off recorded with how long the previous one held it (agents
        escalate instead, with a reason)."""
        now = self.clock()
        with unit_of_work(self.engine, self.bus) as uow:
            conn = uow.conn
            case = visible_case(conn, principal, case_id, lock=True)
            if not isinstance(owner_user_id, Unset) and owner_user_id != case["owner_user_id"]:
                self._check_may_assign(principal, owner_user_id, case["owner_user_id"])
                if owner_user_id is not None:
                    check_user(conn, owner_user_id, "owner_user_id")
            else:
                owner_user_id = case["owner_user_id"]
            if not isinstance(department_id, Unset) and department_id != case["department_id"]:
                if principal.role is Role.AGENT:
                    raise Forbidden("agents send a case to another department by escalating it, with a reason",
                                    field="department_id", code="case.forbidden")
                if department_id is not None:
                    check_department(conn, department_id)
                conn.execute(update(cases).where(cases.c.id == case_id).values(owner_user_id=owner_user_id))
                move_case(uow, {**case, "owner_user_id": owner_user_id}, department_id,
                          reason=(reason or "").strip() or "reassigned", actor=principal.actor,
                          by_user_id=principal.user_id, now=now, event="case.assigned")
            elif owner_user_id != case["owner_user_id"]:
                conn.execute(update(cases).where(cases.c.id == case_id).values(owner_user_id=owner_user_id,
                                                                               updated_at=now))
                uow.emit("case.assigned", **case_ref(case), owner_user_id=owner_user_id,
                         department_id=case["department_id"], reason=reason, actor=principal.actor)
            return dict(repo.case_row(conn, case_id))

    @staticmethod
    def _check_may_assign(principal: Principal, owner: int | None, current: int | None) -> None:
        if principal.role in (Role.SUPERVISOR, Role.ADMIN):
            return
        if principal.user_id is not None and owner in (principal.user_id, None) and current in (None,
                                                                                             principal.user_id):
            return
        raise Forbidden("agents take cases for themselves or give back their own", field="owner_user_id",
                        code="case.forbidden")

    def do_escalate_case(self, principal: Principal, case_id: int, to_department_id: int,
                         reason: str) -> dict[str, Any]:
        """The whole case goes to another department's queue with a reason (owner cleared); the hand-off
        records who, when, why and how long the previous department held it. Returns the hand-off."""
        why = check_reason(reason)
        now = self.clock()
        with unit_of_work(self.engine, self.bus) as uow:
            case = visible_case(uow.conn, principal, case_id, lock=True)
            check_department(uow.conn, to_department_id, "to_department_id")
            if to_department_id == case["department_id"]:
                raise Conflict("the case is already in that department", code="case.same_department",
                               field="to_department_id")
            return move_case(uow, case, to_department_id, reason=why, actor=principal.actor,
                             by_user_id=principal.user_id, now=now)

    # -- links ----------------------------------------------------------------------------------------------

    def do_link(self, principal: Principal, case_id: int, kind: str, ref_id: int) -> dict[str, Any]:
        """Link a conversation or message (which the principal must see), an email or a call. Linking twice
        is a no-op."""
        if kind not in LINK_KINDS:
            raise InvalidInput(f"kind is one of {', '.join(LINK_KINDS)}", field="kind")
        if isinstance(ref_id, bool) or not isinstance(ref_id, int) or ref_id < 1:
            raise InvalidInput("ref_id is the linked item's id", field="ref_id")
        with unit_of_work(self.engine, self.bus) as uow:
            case = visible_case(uow.conn, principal, case_id)
            if kind == "conversation":
                check_conversation_visible(uow.conn, principal, ref_id)
            elif kind == "message":
                check_message_visible(uow.conn, principal, ref_id)
            self._link(uow, case, kind, ref_id, principal.actor, self.clock())
            return {"case_id": case_id, "kind": kind, "ref_id": ref_id}

    def do_unlink(self, principal: Principal, case_id: int, kind: str, ref_id: int) -> None:
        with unit_of_work(self.engine, self.bus) as uow:
            case = visible_case(uow.conn, principal, case_id)
            cl = case_links.c
            gone = uow.conn.execute(delete(case_links).where(cl.case_id == case_id, cl.kind == kind,
                                                             cl.ref_id == ref_id)).rowcount
            if not gone:
                raise NotFound(f"case {case_id} has no {kind} {ref_id}", field="ref_id")
            uow.emit("case.unlinked", **case_ref(case), kind=kind, ref_id=ref_id, actor=principal.actor)

    @staticmethod
    def _link(uow: UnitOfWork, case: Any, kind: str, ref_id: int, actor: str, now: datetime) -> None:
        cl = case_links.c
        if uow.conn.execute(select(cl.id).where(cl.case_id == case["id"], cl.kind == kind,
                                                cl.ref_id == ref_id)).first() is not None:
            return
        uow.conn.execute(insert(case_links).values(case_id=case["id"], kind=kind, ref_id=ref_id, created_by=actor,
                                                   created_at=now))
        uow.emit("case.linked", **case_ref(case), kind=kind, ref_id=ref_id, actor=actor,
                 **({f"{kind}_id": ref_id} if kind in ("conversation", "message") else {}))

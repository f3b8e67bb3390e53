"""What a matched rule does, one action at a time, each through the use case that owns the change (desk
assignment, routing's queue, the contact profile, cases and tasks, OutboundService/TemplateSender for
messages) so every check, audit entry and event is the same as when a person does it. Each action runs in
its own transaction: one failing leaves the others' effects in place, and the execution log says which.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from centralino.app.customer_notify import conversation_for, send_to_customer
from centralino.app.desk import DeskActions
from centralino.app.outbound import OutboundService
from centralino.app.template_send import TemplateRequest, TemplateSender
from centralino.app.unit_of_work import unit_of_work
from centralino.domain.access import Principal, Role
from centralino.domain.automation import fill, pick_text
from centralino.errors import Conflict, InvalidInput, NotFound
from centralino.events.bus import EventBus
from centralino.storage import automation as repo
from centralino.storage import routing as routing_repo
from centralino.storage.tables_routing import routing_queues

ORIGIN = "automation"  # messages' origin: business-initiated, so the consent ledger decides
WEBHOOK_QUEUED = "automation.webhook_queued"


@dataclass(frozen=True)
class RulePrincipal(Principal):
    """An administrator acting for a rule: audit entries and events name `automation:<rule id>`."""

    rule_id: int = 0

    @property
    def actor(self) -> str:
        return f"automation:{self.rule_id}"

    @property
    def origin(self) -> str:
        return ORIGIN


def rule_principal(rule_id: int) -> RulePrincipal:
    return RulePrincipal(role=Role.ADMIN, user_id=None, via="integration", rule_id=rule_id)


class ActionRunner:
    def __init__(self, engine: Engine, bus: EventBus | None, desk: DeskActions, outbound: OutboundService,
                 templates: TemplateSender | None, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.bus = bus
        self.desk = desk
        self.outbound = outbound
        self.templates = templates
        self.clock = clock
        # Cases and tasks belong to the cases module (services.cases): its use cases make every change, so a
        # rule's edit is checked, audited and announced like a person's. Read when needed (wired after us).
        self.cases: Callable[[], Any] = lambda: None

    def run(self, action: Mapping[str, Any], facts: Mapping[str, Any], rule: Mapping[str, Any],
            execution_id: int | None) -> dict[str, Any]:
        """Do the action; what it did (ids), or raise CentralinoError saying why not."""
        kind = str(action["type"])
        handler: Callable[..., dict[str, Any]] = getattr(self, f"_{kind}")
        return handler(action, facts, rule_principal(int(rule["id"])), rule, execution_id)

    # --- conversations ----------------------------------------------------------------------------------

    def _assign(self, action: Mapping[str, Any], facts: Mapping[str, Any], who: RulePrincipal, *_: Any
                ) -> dict[str, Any]:
        conversation_id = int(_need(facts, "conversation")["id"])
        if action.get("user_id") is not None:
            self.desk.do_assign(who, conversation_id, int(action["user_id"]))
            return {"conversation_id": conversation_id, "user_id": int(action["user_id"])}
        return self._to_queue(conversation_id, int(action["queue_id"]), who)

    def _to_queue(self, conversation_id: int, queue_id: int, who: RulePrincipal) -> dict[str, Any]:
        """Into the queue's waiting line (routing offers it to an agent); out of any other queue and away from
        its agent first (conversation.assigned → routing closes the previous item)."""
        now = self.clock()
        with unit_of_work(self.engine, self.bus) as uow:
            queue = uow.conn.execute(select(routing_queues.c.id, routing_queues.c.priority)
                                     .where(routing_queues.c.id == queue_id, routing_queues.c.active.is_(True))
                                     ).first()
            if queue is None:
                raise NotFound(f"no active queue {queue_id}", field="queue_id")
            live = routing_repo.live_item(uow.conn, conversation_id)
            if live is not None and int(live["queue_id"]) == queue_id:
                return {"conversation_id": conversation_id, "queue_id": queue_id, "already": True}
            row = routing_repo.facts_row(uow.conn, conversation_id)
            if row["assignee_user_id"] is not None:
                routing_repo.set_assignee(uow.conn, conversation_id, None)
            # announced even when nobody held it, so routing closes an item in another queue
            uow.emit("conversation.assigned", conversation_id=conversation_id, assignee_user_id=None,
                     previous_assignee_user_id=row["assignee_user_id"], actor=who.actor)
            item_id = routing_repo.insert_item(uow.conn, {
                "conversation_id": conversation_id, "open_conversation_id": conversation_id, "queue_id": queue_id,
                "channel_kind": str(row["kind"]), "contact_id": row["contact_id"], "priority": int(queue.priority),
                "enqueued_at": now, "queue_entered_at": now, "state": "waiting", "owner_kind": "queue",
                "rule_id": None, "previous_agent_id": row["assignee_user_id"], "excluded_user_ids": [],
                "attempts": 0})
            uow.emit("routing.item_enqueued", item_id=item_id, conversation_id=conversation_id, queue_id=queue_id,
                     priority=int(queue.priority), rule_id=None, actor=who.actor)
        return {"conversation_id": conversation_id, "queue_id": queue_id, "item_id": item_id}

    # --- fields -----------------------------------------------------------------------------------------

    def _set_field(self, action: Mapping[str, Any], facts: Mapping[str, Any], who: RulePrincipal, *_: Any
                   ) -> dict[str, Any]:
        name, value = str(action["field"]), action["value"]
        if name.startswith("contact."):
            contact = _need(facts, "contact")
            if name == "contact.tags":
                adding = [value] if isinstance(value, str) else list(value)
                changes: dict[str, Any] = {"tags": sorted({*contact["tags"], *(t.lower() for t in adding)})}
            elif name == "contact.language":
                changes = {"language": value}
            else:
                changes = {"attributes": {name.split(".", 2)[2]: None if value is None else str(value)}}
            self.desk.profiles.do_update(who, int(contact["id"]), changes)
            return {"contact_id": int(contact["id"]), **changes}
        case = _need(facts, "case")
        if name == "case.tags":
            adding = [value] if isinstance(value, str) else list(value)
            changes = {"tags": sorted({*case["tags"], *(t.lower() for t in adding)})}
        elif name == "case.priority":
            changes = {"priority": value}
        else:
            changes = {"fields": {name.split(".", 2)[2]: value}}
        self._case_op("cases", "do_update")(who, int(case["id"]), changes)
        return {"case_id": int(case["id"]), **changes}

    # --- cases and tasks --------------------------------------------------------------------------------

    def _add_task(self, action: Mapping[str, Any], facts: Mapping[str, Any], who: RulePrincipal, *_: Any
                  ) -> dict[str, Any]:
        case = _need(facts, "case")
        due = (self.clock() + timedelta(minutes=int(action["due_in_minutes"]))
               if action.get("due_in_minutes") is not None else None)
        task = self._case_op("tasks", "do_add_task")(
            who, int(case["id"]), title=fill(str(action["title"]), facts), department_id=action.get("department_id"),
            assignee_user_id=action.get("assignee_user_id"), due_at=due)
        return {"case_id": int(case["id"]), "task_id": int(task["id"])}

    def _escalate(self, action: Mapping[str, Any], facts: Mapping[str, Any], who: RulePrincipal, *_: Any
                  ) -> dict[str, Any]:
        reason = fill(str(action["reason"]), facts)
        department_id = int(action["department_id"])
        if action.get("target", "case") == "task":
            task = _need(facts, "task")
            self._case_op("tasks", "do_escalate_task")(who, int(task["id"]), department_id, reason)
            return {"task_id": int(task["id"]), "department_id": department_id}
        case = _need(facts, "case")
        self._case_op("cases", "do_escalate_case")(who, int(case["id"]), department_id, reason)
        return {"case_id": int(case["id"]), "department_id": department_id}

    def _case_op(self, part: str, name: str) -> Callable[..., Any]:
        """services.cases.<part>.<name> (app/cases_setup.py: cases = CaseService, tasks = TaskService)."""
        op = getattr(getattr(self.cases(), part, None), name, None)
        if op is None:
            raise Conflict(f"cases are not available in this installation ({part}.{name})",
                           code="automation.no_cases")
        return op  # type: ignore[no-any-return]

    # --- messages ---------------------------------------------------------------------------------------

    def _notify(self, action: Mapping[str, Any], facts: Mapping[str, Any], who: RulePrincipal, *_: Any
                ) -> dict[str, Any]:
        contact = _need(facts, "contact")
        text = fill(pick_text(action["text"], contact.get("language")), facts)
        template_ref = action.get("template")
        template = (TemplateRequest(template_ref["name"], template_ref.get("language"),
                                    dict(template_ref.get("parameters") or {})) if template_ref else None)
        with unit_of_work(self.engine, self.bus) as uow:
            sent = send_to_customer(uow, self.outbound, self._templates(), int(contact["id"]), text=text,
                                    template=template, origin=who.origin, now=self.clock(),
                                    conversation_id=_conversation_id(facts), context=facts)
        return {"outcome": sent.outcome, "message_id": sent.message_id, "conversation_id": sent.conversation_id}

    def _send_template(self, action: Mapping[str, Any], facts: Mapping[str, Any], who: RulePrincipal, *_: Any
                       ) -> dict[str, Any]:
        contact = _need(facts, "contact")
        request = TemplateRequest(str(action["template"]), action.get("language"),
                                  dict(action.get("parameters") or {}))
        with unit_of_work(self.engine, self.bus) as uow:
            target = conversation_for(uow.conn, int(contact["id"]), _conversation_id(facts))
            message = self._templates().check_send(uow.conn, target, request, facts)
            message_id = self.outbound.do_send_within(uow, target, message, origin=who.origin)
        return {"message_id": message_id, "conversation_id": target}

    def _templates(self) -> TemplateSender:
        if self.templates is None:
            raise Conflict("template sending is not configured", code="automation.no_templates")
        return self.templates

    # --- webhooks ---------------------------------------------------------------------------------------

    def _webhook(self, action: Mapping[str, Any], facts: Mapping[str, Any], who: RulePrincipal,
                 rule: Mapping[str, Any], execution_id: int | None) -> dict[str, Any]:
        """Queued in the durable outbox; workers/automation_webhooks.py posts it signed, with retries."""
        now = self.clock()
        payload = {"rule": {"id": int(rule["id"]), "name": rule["name"]},
                   "event": facts.get("event", {}),
                   "subject": {k: v for k, v in facts.items() if k != "event"}}
        with unit_of_work(self.engine, self.bus) as uow:
            webhook_id = repo.enqueue_webhook(uow.conn, {
                "execution_id": execution_id, "rule_id": int(rule["id"]), "url": str(action["url"]),
                "payload": _jsonable(payload), "state": "pending", "attempts": 0, "next_attempt_at": now,
                "created_at": now})
            uow.emit(WEBHOOK_QUEUED, webhook_id=webhook_id, rule_id=int(rule["id"]))  # wakes the worker
        return {"webhook_id": webhook_id}


def _need(facts: Mapping[str, Any], subject: str) -> Mapping[str, Any]:
    found = facts.get(subject)
    if not isinstance(found, Mapping):
        raise InvalidInput(f"the event has no {subject} to act on", field=subject, code="automation.no_subject",
                           status=422)
    return found


def _conversation_id(facts: Mapping[str, Any]) -> int | None:
    conversation = facts.get("conversation")
    return int(conversation["id"]) if isinstance(conversation, Mapping) else None


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


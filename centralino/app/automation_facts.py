"""The typed view of an event's subject that rules' conditions read (domain/automation.py FIELDS):
message, conversation, contact, case, task, business hours, and the event's own payload as `event.*`.

Read after the event's transaction committed, so the view is the state now (a case's status as it is when
the rule runs, which is what its actions will act on).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from centralino.events.bus import Event
from centralino.storage import service_levels as sl_repo
from centralino.storage import tables_cases
from centralino.storage.tables import channels, contact_tags, contacts, conversations, messages
from centralino.storage.tables_routing import routing_items, routing_queues


def build_facts(conn: Connection, event: Event, now: datetime) -> dict[str, Any]:
    p = event.payload
    facts: dict[str, Any] = {"event": {**p, "type": event.type}}
    contact_id = _int(p.get("contact_id"))
    conversation_id = _int(p.get("conversation_id"))
    case_id = _int(p.get("case_id"))
    if event.type == "message.received" and p.get("message_id") is not None:
        row = conn.execute(select(messages.c.id, messages.c.text, messages.c.type)
                           .where(messages.c.id == int(p["message_id"]))).first()
        if row is not None:
            facts["message"] = {"id": int(row.id), "text": row.text or "", "type": row.type}
    task_id = _int(p.get("task_id"))
    if task_id is not None:
        task = _task(conn, task_id)
        if task is not None:
            if event.type == "task.status_changed":
                task["previous_status"] = p.get("from")
            facts["task"] = task
            case_id = case_id or task["case_id"]
    if case_id is not None:
        case = _case(conn, case_id)
        if case is not None:
            if event.type == "case.status_changed":
                case["previous_status"] = p.get("from")
            facts["case"] = case
            contact_id = contact_id or case.get("contact_id")
    if conversation_id is not None:
        conversation = _conversation(conn, conversation_id)
        if conversation is not None:
            facts["conversation"] = conversation
            contact_id = contact_id or conversation["contact_id"]
            facts["business_hours"] = {"open": _open(conn, conversation.get("queue_id"), now)}
            if "case" not in facts:  # the customer writes about an open case: rules may act on it
                linked = _open_case_of(conn, conversation_id)
                case = _case(conn, linked) if linked is not None else None
                if case is not None:
                    facts["case"] = case
    if contact_id is not None:
        contact = _contact(conn, contact_id)
        if contact is not None:
            facts["contact"] = contact
    return facts


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, str)) and str(value).isdigit() else None


def _conversation(conn: Connection, conversation_id: int) -> dict[str, Any] | None:
    c = conversations.c
    row = conn.execute(
        select(c.id, c.contact_id, c.channel_id, c.status, c.assignee_user_id, c.department_id,
               c.window_expires_at, channels.c.kind, routing_items.c.queue_id, routing_queues.c.department_id
               .label("queue_department_id"))
        .join(channels, channels.c.id == c.channel_id)
        .outerjoin(routing_items, routing_items.c.open_conversation_id == c.id)
        .outerjoin(routing_queues, routing_queues.c.id == routing_items.c.queue_id)
        .where(c.id == conversation_id)).first()
    if row is None:
        return None
    return {"id": int(row.id), "contact_id": int(row.contact_id), "channel_id": int(row.channel_id),
            "channel": row.kind, "status": row.status, "assignee_user_id": row.assignee_user_id,
            "department_id": row.department_id if row.department_id is not None else row.queue_department_id,
            "queue_id": row.queue_id, "window_expires_at": row.window_expires_at}


def _open(conn: Connection, queue_id: int | None, now: datetime) -> bool:
    """By the calendar of the conversation's queue; a conversation outside a queue counts as open."""
    if queue_id is None:
        return True
    return sl_repo.calendar_of(sl_repo.queue_settings(conn, int(queue_id))).is_open(now)


def _contact(conn: Connection, contact_id: int) -> dict[str, Any] | None:
    c = contacts.c
    row = conn.execute(select(c.id, c.merged_into_id, c.display_name, c.profile_name, c.language, c.attributes)
                       .where(c.id == contact_id)).first()
    if row is None:
        return None
    if row.merged_into_id is not None:  # the event named a contact merged since: the one kept
        return _contact(conn, int(row.merged_into_id))
    tags = sorted(conn.execute(select(contact_tags.c.tag).where(contact_tags.c.contact_id == row.id)).scalars())
    return {"id": int(row.id), "name": row.display_name or row.profile_name, "language": row.language,
            "tags": tags, "attributes": dict(row.attributes or {})}


def _case(conn: Connection, case_id: int) -> dict[str, Any] | None:
    cases = getattr(tables_cases, "cases", None)
    case_types = getattr(tables_cases, "case_types", None)
    if cases is None or case_types is None:
        return None
    row = conn.execute(select(cases, case_types.c.key.label("type_key"))
                       .join(case_types, case_types.c.id == cases.c.case_type_id)
                       .where(cases.c.id == case_id)).mappings().first()
    if row is None:
        return None
    return {"id": int(row["id"]), "number": row["number"], "type": row["type_key"], "status": row["status"],
            "priority": row["priority"], "department_id": row["department_id"],
            "owner_user_id": row["owner_user_id"], "contact_id": row["contact_id"], "title": row["title"],
            "tags": list(row["tags"] or []), "fields": dict(row["fields"] or {})}


def _open_case_of(conn: Connection, conversation_id: int) -> int | None:
    """The newest open case linked to the conversation (one indexed probe on case_links)."""
    cases, links = getattr(tables_cases, "cases", None), getattr(tables_cases, "case_links", None)
    if cases is None or links is None:
        return None
    found = conn.execute(select(cases.c.id).join(links, links.c.case_id == cases.c.id)
                         .where(links.c.kind == "conversation", links.c.ref_id == conversation_id,
                                cases.c.closed_at.is_(None))
                         .order_by(cases.c.id.desc()).limit(1)).scalar()
    return int(found) if found is not None else None


def _task(conn: Connection, task_id: int) -> dict[str, Any] | None:
    tasks = getattr(tables_cases, "tasks", None)
    if tasks is None:
        return None
    row = conn.execute(select(tasks).where(tasks.c.id == task_id)).mappings().first()
    if row is None:
        return None
    return {"id": int(row["id"]), "case_id": int(row["case_id"]), "title": row["title"], "status": row["status"],
            "department_id": row["department_id"], "assignee_user_id": row["assignee_user_id"]}

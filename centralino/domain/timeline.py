"""What the timeline shows: which events become an entry, of which kind, with which non-personal summary.

Pure rules (no I/O). An entry never carries free text (a message's body, a note, an escalation reason):
only ids, statuses, from/to. The text is joined in at read time from where it lives, so anonymising it
there is enough (docs/timeline.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# The kinds an entry can have, in the groups the desk filters by.
MESSAGE_KINDS = ("message_in", "message_out", "note", "notification", "campaign", "delivery_failed")
CONVERSATION_KINDS = ("conversation_assigned", "conversation_resolved", "conversation_reopened",
                      "conversation_snoozed", "sla_breached", "csat")
CASE_KINDS = ("case_created", "case_status_changed", "case_updated", "case_assigned", "case_linked",
              "case_unlinked", "case_escalated", "case_sla_warning", "case_sla_breached", "case_sla_escalated",
              "case_customer_notified", "case_status_reported")
TASK_KINDS = ("task_created", "task_status_changed", "task_updated", "task_assigned", "task_escalated",
              "task_sla_warning", "task_sla_breached", "task_sla_escalated")
CONTACT_KINDS = ("consent", "contact_merged")
KINDS = MESSAGE_KINDS + CONVERSATION_KINDS + CASE_KINDS + TASK_KINDS + CONTACT_KINDS
GROUPS = {"messages": MESSAGE_KINDS, "conversations": CONVERSATION_KINDS, "cases": CASE_KINDS,
          "tasks": TASK_KINDS, "contact": CONTACT_KINDS}

# Case and task events (the issue 7 contract): the payload keys an entry may keep. Anything else (titles,
# reasons, field values) is free text or personal and stays where it lives.
CASE_SUMMARY_KEYS = frozenset({
    "case_id", "task_id", "number", "from", "to", "status", "fields", "owner_user_id", "assignee_user_id",
    "department_id", "kind", "ref_id", "from_department_id", "to_department_id", "by", "handoff_id", "priority",
    "due_at", "case_type", "sla_kind", "ref", "held_seconds", "via", "update_id", "message_id", "on", "action",
})
CASE_EVENTS = {f"case.{k.removeprefix('case_')}": k for k in CASE_KINDS} | {
    f"task.{k.removeprefix('task_')}": k for k in TASK_KINDS}

# Every event type the timeline reads (the writer ignores the rest without a query).
MESSAGE_EVENTS = frozenset({"message.received", "message.queued", "message.note_added", "message.status_changed",
                            "notification.queued", "campaign.batch_queued"})
EVENT_TYPES = MESSAGE_EVENTS | frozenset({
    "conversation.assigned", "conversation.status_changed", "sla.breached", "csat.answered", "consent.recorded",
    "contact.merged"}) | frozenset(CASE_EVENTS)

STATUS_KINDS = {"resolved": "conversation_resolved", "open": "conversation_reopened",
                "snoozed": "conversation_snoozed"}


@dataclass
class Draft:
    """An entry before the writer has filled in what the event did not say (contact, conversation, channel)."""

    kind: str
    occurred_at: datetime
    contact_id: int | None = None
    conversation_id: int | None = None
    message_id: int | None = None
    case_id: int | None = None
    channel_id: int | None = None
    actor: str | None = None
    ref: str | None = None
    summary: dict[str, Any] = field(default_factory=dict)


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def draft_for(event_type: str, payload: dict[str, Any], occurred_at: datetime) -> Draft | None:
    """The entry an event makes, or None (not shown: ticks other than failed, a no-op, another type).
    notification.queued and campaign.batch_queued are handled by the writer (they name messages)."""
    p = payload
    actor = None if p.get("actor") is None else str(p["actor"])[:64]
    if event_type == "message.received":
        return Draft("message_in", occurred_at, _int(p.get("contact_id")), _int(p.get("conversation_id")),
                     _int(p.get("message_id")), channel_id=_int(p.get("channel_id")), actor="customer",
                     summary={"type": p.get("type"), "has_media": bool(p.get("has_media"))})
    if event_type == "message.queued":
        return Draft("message_out", occurred_at, _int(p.get("contact_id")), _int(p.get("conversation_id")),
                     _int(p.get("message_id")), channel_id=_int(p.get("channel_id")), actor=actor,
                     summary={"type": p.get("type"), "origin": p.get("origin")})
    if event_type == "message.note_added":
        return Draft("note", occurred_at, None, _int(p.get("conversation_id")), _int(p.get("message_id")),
                     actor=actor)
    if event_type == "message.status_changed":
        if p.get("status") != "failed":
            return None  # the current tick is joined from the message at read time
        return Draft("delivery_failed", occurred_at, None, None, _int(p.get("message_id")),
                     channel_id=_int(p.get("channel_id")),
                     summary={"previous": p.get("previous"), "error_code": p.get("error_code")})
    if event_type == "conversation.assigned":
        return Draft("conversation_assigned", occurred_at, None, _int(p.get("conversation_id")), actor=actor,
                     summary={"from": p.get("previous_assignee_user_id"), "to": p.get("assignee_user_id")})
    if event_type == "conversation.status_changed":
        kind = STATUS_KINDS.get(str(p.get("status")))
        if kind is None:
            return None
        return Draft(kind, occurred_at, None, _int(p.get("conversation_id")), actor=actor,
                     summary={"from": p.get("previous"), "to": p.get("status")})
    if event_type == "sla.breached":
        return Draft("sla_breached", occurred_at, None, _int(p.get("conversation_id")), actor="system",
                     summary={"sla_kind": p.get("kind"), "queue_id": p.get("queue_id")})
    if event_type == "csat.answered":
        return Draft("csat", occurred_at, None, _int(p.get("conversation_id")), actor="customer",
                     ref=f"csat:{p.get('survey_id')}", summary={"score": p.get("score")})
    if event_type == "consent.recorded":
        return Draft("consent", occurred_at, _int(p.get("contact_id")), channel_id=_int(p.get("channel_id")),
                     actor=actor, ref=f"consent:{p.get('record_id')}",
                     summary={k: p.get(k) for k in ("purpose", "action", "source")})
    if event_type == "contact.merged":
        return Draft("contact_merged", occurred_at, _int(p.get("contact_id")), actor=actor or "system",
                     summary={"merged_contact_id": p.get("merged_contact_id")})
    kind = CASE_EVENTS.get(event_type)
    if kind is not None:
        return case_draft(kind, p, occurred_at, actor)
    return None


def case_draft(kind: str, p: dict[str, Any], occurred_at: datetime, actor: str | None) -> Draft:
    summary = {k: v for k, v in p.items() if k in CASE_SUMMARY_KEYS and _plain(v)}
    if isinstance(p.get("changes"), dict):  # case.updated / task.updated: which fields, never their values
        summary["fields"] = sorted(str(k) for k in p["changes"])
    task_id = _int(p.get("task_id"))
    handoff_id = _int(p.get("handoff_id"))
    ref = f"handoff:{handoff_id}" if handoff_id is not None else f"task:{task_id}" if task_id is not None else None
    return Draft(kind, occurred_at, _int(p.get("contact_id")), case_id=_int(p.get("case_id")), actor=actor,
                 ref=ref, summary=summary)


def _plain(value: Any) -> bool:
    """Ids, statuses, flags and lists of field names: short values, never a paragraph."""
    if value is None or isinstance(value, bool | int | float):
        return True
    if isinstance(value, str):
        return len(value) <= 64
    if isinstance(value, list):
        return len(value) <= 50 and all(isinstance(v, str) and len(v) <= 64 for v in value)
    return False

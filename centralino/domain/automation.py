"""Automation rules, pure: "when <trigger> if <conditions> then <actions>" (docs/automation.md).

A rule is data: here the catalogue (triggers and their subjects, the typed fields, operators per kind, actions)
and the evaluation — `matches` checks a rule's conditions against the typed view of the event's subject (the
facts, built by app/automation_facts.py). Validation on save is domain/automation_check.py. No I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

MAX_DEPTH = 3  # an action's events may trigger rules, whose actions' events may… up to this many levels
MAX_ACTIONS = 20
MAX_CONDITIONS = 50
NAME_MAX = 100


class Kind(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    BOOL = "bool"
    LIST = "list"  # of strings (tags)
    ANY = "any"  # custom attributes and fields: whatever JSON the business keeps


# Subjects each trigger has: the facts its conditions and actions may use (besides `event.*`).
# On a conversation's events, `case` is the newest open case linked to the conversation, when there is one.
_CONVERSATION = frozenset({"message", "conversation", "contact", "business_hours", "case"})
_CONV_ONLY = frozenset({"conversation", "contact", "business_hours", "case"})
_CASE = frozenset({"case", "contact"})
_TASK = frozenset({"task", "case", "contact"})
TRIGGERS: dict[str, frozenset[str]] = {
    "message.received": _CONVERSATION,
    "conversation.opened": _CONV_ONLY,
    "conversation.assigned": _CONV_ONLY,
    "conversation.status_changed": _CONV_ONLY,
    "conversation.handed_to_bot": _CONV_ONLY,
    "sla.warning": _CONV_ONLY,
    "sla.breached": _CONV_ONLY,
    "case.created": _CASE,
    "case.status_changed": _CASE,
    "case.updated": _CASE,
    "case.assigned": _CASE,
    "case.escalated": _CASE,
    "case.sla_warning": _CASE,
    "case.sla_breached": _CASE,
    "task.created": _TASK,
    "task.status_changed": _TASK,
    "task.assigned": _TASK,
    "task.escalated": _TASK,  # a task overdue is task.sla_breached (its due time passed)
    "task.updated": _TASK,
    "task.sla_warning": _TASK,
    "task.sla_breached": _TASK,
    "consent.recorded": frozenset({"contact"}),
    "contact.preference_changed": frozenset({"contact"}),
}

# The documented, typed view of an event's subject. A name ending in ".*" takes any key after it.
FIELDS: dict[str, Kind] = {
    "message.text": Kind.TEXT, "message.type": Kind.TEXT,
    "conversation.id": Kind.NUMBER, "conversation.channel": Kind.TEXT, "conversation.channel_id": Kind.NUMBER,
    "conversation.status": Kind.TEXT, "conversation.assignee_user_id": Kind.NUMBER,
    "conversation.queue_id": Kind.NUMBER, "conversation.department_id": Kind.NUMBER,
    "contact.id": Kind.NUMBER, "contact.name": Kind.TEXT, "contact.language": Kind.TEXT, "contact.tags": Kind.LIST,
    "contact.attributes.*": Kind.ANY,
    "case.id": Kind.NUMBER, "case.number": Kind.TEXT, "case.type": Kind.TEXT, "case.status": Kind.TEXT,
    "case.previous_status": Kind.TEXT, "case.priority": Kind.ANY, "case.department_id": Kind.NUMBER,
    "case.owner_user_id": Kind.NUMBER, "case.tags": Kind.LIST, "case.fields.*": Kind.ANY,
    "task.id": Kind.NUMBER, "task.title": Kind.TEXT, "task.status": Kind.TEXT, "task.previous_status": Kind.TEXT,
    "task.department_id": Kind.NUMBER, "task.assignee_user_id": Kind.NUMBER,
    "business_hours.open": Kind.BOOL,
    "event.*": Kind.ANY,
}

_VALUE_OPS = {"equals", "not_equals", "in", "not_in"}
OPERATORS: dict[Kind, frozenset[str]] = {
    Kind.TEXT: frozenset({*_VALUE_OPS, "contains", "not_contains", "matches", "exists", "not_exists"}),
    Kind.NUMBER: frozenset({*_VALUE_OPS, "gt", "gte", "lt", "lte", "exists", "not_exists"}),
    Kind.BOOL: frozenset({"equals", "not_equals"}),
    Kind.LIST: frozenset({"contains", "not_contains", "exists", "not_exists"}),
    Kind.ANY: frozenset({*_VALUE_OPS, "contains", "not_contains", "matches", "gt", "gte", "lt", "lte",
                         "exists", "not_exists"}),
}

# Actions: what each needs from the trigger's subjects.
ACTIONS: dict[str, frozenset[str]] = {
    "assign": frozenset({"conversation"}),
    "set_field": frozenset(),  # checked per field
    "add_task": frozenset({"case"}),
    "escalate": frozenset(),  # case or task, per target
    "notify": frozenset({"contact"}),
    "send_template": frozenset({"contact"}),
    "webhook": frozenset(),
}
# The keys each action takes besides "type": a misspelt key is an error, never silently ignored.
ACTION_KEYS: dict[str, frozenset[str]] = {
    "assign": frozenset({"user_id", "queue_id"}),
    "set_field": frozenset({"field", "value"}),
    "add_task": frozenset({"title", "department_id", "assignee_user_id", "due_in_minutes"}),
    "escalate": frozenset({"target", "department_id", "reason"}),
    "notify": frozenset({"text", "template"}),
    "send_template": frozenset({"template", "language", "parameters"}),
    "webhook": frozenset({"url"}),
}
RULE_KEYS = frozenset({"name", "trigger", "conditions", "actions", "enabled", "position"})
SETTABLE: dict[str, Kind] = {
    "case.priority": Kind.ANY, "case.fields.*": Kind.ANY, "case.tags": Kind.LIST,
    "contact.tags": Kind.LIST, "contact.attributes.*": Kind.ANY, "contact.language": Kind.TEXT,
}


@dataclass(frozen=True)
class Rule:
    name: str
    trigger: str
    conditions: dict[str, Any]
    actions: tuple[dict[str, Any], ...]
    enabled: bool = True
    id: int | None = None
    position: int = 0


def field_kind(name: str) -> Kind | None:
    return lookup_kind(FIELDS, name)


def lookup_kind(table: Mapping[str, Kind], name: str) -> Kind | None:
    if name in table:
        return table[name]
    for pattern, kind in table.items():
        if pattern.endswith(".*") and name.startswith(pattern[:-1]) and len(name) > len(pattern) - 1:
            return kind
    return None


def subject_of(name: str) -> str:
    return name.split(".", 1)[0]


# --- evaluation ---------------------------------------------------------------------------------------

_MISSING = object()


def get_path(facts: Mapping[str, Any], name: str) -> Any:
    current: Any = facts
    for part in name.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return _MISSING
        current = current[part]
    return current


def matches(conditions: Mapping[str, Any], facts: Mapping[str, Any]) -> bool:
    """Whether the facts satisfy the conditions (an empty object always does). A missing fact satisfies only
    not_exists, not_equals and not_in/not_contains."""
    if not conditions:
        return True
    if "all" in conditions:
        return all(matches(c, facts) for c in conditions["all"])
    if "any" in conditions:
        return any(matches(c, facts) for c in conditions["any"])
    return _leaf(str(conditions["op"]), get_path(facts, str(conditions["field"])), conditions.get("value"))


def _leaf(op: str, actual: Any, expected: Any) -> bool:
    missing = actual is _MISSING or actual is None
    if op == "exists":
        return not missing and actual not in ("", [], {})
    if op == "not_exists":
        return missing or actual in ("", [], {})
    if op.startswith("not_"):
        return not _leaf(op[4:], actual, expected)
    if missing:
        return False
    if op == "equals":
        return bool(_norm(actual) == _norm(expected))
    if op == "in":
        return _norm(actual) in {_norm(v) for v in expected}
    if op == "contains":
        if isinstance(actual, (list, tuple, set, frozenset)):
            return str(expected).casefold() in {str(v).casefold() for v in actual}
        return str(expected).casefold() in str(actual).casefold()
    if op == "matches":
        return re.search(str(expected), str(actual), re.IGNORECASE) is not None
    if op in ("gt", "gte", "lt", "lte"):
        try:
            number = float(actual)
        except (TypeError, ValueError):
            return False
        bound = float(expected)
        return bool({"gt": number > bound, "gte": number >= bound, "lt": number < bound, "lte": number <= bound}[op])
    raise ValueError(f"unknown operator {op}")


def _norm(value: Any) -> Any:
    """Text compares case-insensitively; numbers by value (2 == 2.0); JSON numbers stored as text too."""
    if isinstance(value, str):
        return value.casefold()
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    return value


def fill(text: str, facts: Mapping[str, Any]) -> str:
    """`{case.number}`-style placeholders replaced by the facts (unknown ones left as written)."""
    def one(found: re.Match[str]) -> str:
        value = get_path(facts, found.group(1))
        return found.group(0) if value is _MISSING or value is None else str(value)
    return re.sub(r"\{([a-z_]+(?:\.[A-Za-z0-9_]+)+)\}", one, text)


def pick_text(text: str | Mapping[str, str], language: str | None, default: str = "it") -> str:
    """One text, or the one for the customer's language, its base (en_US → en), the default, the first."""
    if isinstance(text, str):
        return text
    base = language.split("_")[0].split("-")[0].lower() if language else None
    for key in (language, base, default):
        if key and key in text:
            return text[key]
    return next(iter(text.values()))

"""Automation rules, pure: "when <trigger> if <conditions> then <actions>" (docs/automation.md).

A rule is data. `check_rule` validates one as saved (errors name the field: `conditions.all[0].op`,
`actions[1].template`); `matches` evaluates its conditions against the typed view of the event's subject
(the facts, built by app/automation_facts.py). Nothing here reads the database.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from centralino.errors import InvalidInput

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
_CONVERSATION = frozenset({"message", "conversation", "contact", "business_hours"})
_CONV_ONLY = frozenset({"conversation", "contact", "business_hours"})
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
    return _lookup(FIELDS, name)


def _lookup(table: Mapping[str, Kind], name: str) -> Kind | None:
    if name in table:
        return table[name]
    for pattern, kind in table.items():
        if pattern.endswith(".*") and name.startswith(pattern[:-1]) and len(name) > len(pattern) - 1:
            return kind
    return None


def _subject(name: str) -> str:
    return name.split(".", 1)[0]


# --- validation ---------------------------------------------------------------------------------------

def check_rule(data: Mapping[str, Any]) -> Rule:
    """The rule `data` describes, or InvalidInput naming the first wrong field. Template existence and
    other facts of the database are checked by the app (app/automation.py)."""
    if not isinstance(data, Mapping):
        raise InvalidInput("a rule is a JSON object", field="rule")
    unknown = sorted(set(data) - RULE_KEYS)
    if unknown:
        raise InvalidInput(f"unknown key {unknown[0]!r}; a rule has {', '.join(sorted(RULE_KEYS))}",
                           field=unknown[0], code="automation.unknown_key")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > NAME_MAX:
        raise InvalidInput(f"name: 1 to {NAME_MAX} characters", field="name", code="automation.name")
    trigger = data.get("trigger")
    if trigger not in TRIGGERS:
        raise InvalidInput(f"unknown trigger {trigger!r}; one of {', '.join(sorted(TRIGGERS))}", field="trigger",
                           code="automation.trigger")
    subjects = TRIGGERS[str(trigger)]
    conditions = data.get("conditions") or {}
    counter = [0]
    _check_node(conditions, "conditions", subjects, counter)
    actions = data.get("actions")
    if not isinstance(actions, list) or not actions or len(actions) > MAX_ACTIONS:
        raise InvalidInput(f"actions: a list of 1 to {MAX_ACTIONS} actions", field="actions",
                           code="automation.actions")
    for index, action in enumerate(actions):
        check_action(action, f"actions[{index}]", subjects)
    enabled = data.get("enabled", True)
    if not isinstance(enabled, bool):
        raise InvalidInput("enabled is true or false", field="enabled", code="automation.type")
    position = data.get("position", 0)
    if not isinstance(position, int) or isinstance(position, bool):
        raise InvalidInput("position is an integer", field="position", code="automation.type")
    return Rule(name.strip(), str(trigger), dict(conditions), tuple(dict(a) for a in actions), enabled,
                position=position)


def _check_node(node: Any, path: str, subjects: frozenset[str], counter: list[int]) -> None:
    if not isinstance(node, Mapping):
        raise InvalidInput("a condition is an object", field=path, code="automation.condition")
    if not node:
        return
    groups = [k for k in ("all", "any") if k in node]
    if groups:
        if len(node) != 1:
            raise InvalidInput("a group has exactly one key, all or any", field=path, code="automation.condition")
        key = groups[0]
        items = node[key]
        if not isinstance(items, list) or not items:
            raise InvalidInput(f"{key}: a non-empty list of conditions", field=f"{path}.{key}",
                               code="automation.condition")
        for index, item in enumerate(items):
            _check_node(item, f"{path}.{key}[{index}]", subjects, counter)
        return
    counter[0] += 1
    if counter[0] > MAX_CONDITIONS:
        raise InvalidInput(f"at most {MAX_CONDITIONS} conditions", field=path, code="automation.condition")
    check_condition(node, path, subjects)


def check_condition(node: Mapping[str, Any], path: str, subjects: frozenset[str]) -> None:
    unknown = set(node) - {"field", "op", "value"}
    if unknown:
        raise InvalidInput(f"unknown key {sorted(unknown)[0]!r} (a condition has field, op, value; a group "
                           "has all or any)", field=f"{path}.{sorted(unknown)[0]}", code="automation.condition")
    name = node.get("field")
    kind = field_kind(name) if isinstance(name, str) else None
    if kind is None:
        raise InvalidInput(f"unknown field {name!r}", field=f"{path}.field", code="automation.field")
    assert isinstance(name, str)
    if _subject(name) not in subjects and _subject(name) != "event":
        raise InvalidInput(f"{name} is not available on this trigger (it has {', '.join(sorted(subjects))})",
                           field=f"{path}.field", code="automation.field")
    op = node.get("op")
    if op not in OPERATORS[kind]:
        raise InvalidInput(f"operator {op!r} does not apply to {name} ({kind.value}); one of "
                           f"{', '.join(sorted(OPERATORS[kind]))}", field=f"{path}.op", code="automation.operator")
    _check_value(kind, str(op), node.get("value"), "value" in node, f"{path}.value")


def _check_value(kind: Kind, op: str, value: Any, given: bool, path: str) -> None:
    if op in ("exists", "not_exists"):
        if given:
            raise InvalidInput(f"{op} takes no value", field=path, code="automation.value")
        return
    if not given:
        raise InvalidInput(f"{op} needs a value", field=path, code="automation.value")
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value:
            raise InvalidInput(f"{op} needs a non-empty list", field=path, code="automation.value")
        for index, item in enumerate(value):
            _check_scalar(kind, item, f"{path}[{index}]")
        return
    if op == "matches":
        if not isinstance(value, str):
            raise InvalidInput("matches needs a regular expression", field=path, code="automation.value")
        try:
            re.compile(value)
        except re.error as exc:
            raise InvalidInput(f"not a regular expression: {exc}", field=path, code="automation.value") from None
        return
    if op in ("gt", "gte", "lt", "lte"):
        if not _is_number(value):
            raise InvalidInput(f"{op} needs a number", field=path, code="automation.value")
        return
    if kind is Kind.LIST or op in ("contains", "not_contains"):
        if not isinstance(value, str):
            raise InvalidInput(f"{op} needs a string", field=path, code="automation.value")
        return
    _check_scalar(kind, value, path)


def _check_scalar(kind: Kind, value: Any, path: str) -> None:
    ok = {Kind.TEXT: isinstance(value, str), Kind.NUMBER: _is_number(value), Kind.BOOL: isinstance(value, bool),
          Kind.LIST: isinstance(value, str),
          Kind.ANY: value is None or isinstance(value, (str, int, float, bool))}[kind]
    if not ok:
        raise InvalidInput(f"expected a {kind.value} value, got {type(value).__name__}", field=path,
                           code="automation.value")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _need(action: Mapping[str, Any], key: str, path: str, kinds: tuple[type, ...], what: str,
          required: bool = True) -> Any:
    value = action.get(key)
    if value is None:
        if required:
            raise InvalidInput(f"{key} is required ({what})", field=f"{path}.{key}", code="automation.action")
        return None
    if not isinstance(value, kinds) or (int in kinds and isinstance(value, bool)):
        raise InvalidInput(f"{key}: expected {what}", field=f"{path}.{key}", code="automation.type")
    return value


def _has(subjects: frozenset[str], needed: str, path: str, what: str) -> None:
    if needed not in subjects:
        raise InvalidInput(f"{what} needs a trigger with a {needed} (this one has {', '.join(sorted(subjects))})",
                           field=f"{path}.type", code="automation.action")


def check_action(action: Any, path: str, subjects: frozenset[str]) -> None:
    if not isinstance(action, Mapping):
        raise InvalidInput("an action is an object", field=path, code="automation.action")
    kind = action.get("type")
    if kind not in ACTIONS:
        raise InvalidInput(f"unknown action {kind!r}; one of {', '.join(sorted(ACTIONS))}", field=f"{path}.type",
                           code="automation.action")
    for needed in ACTIONS[str(kind)]:
        _has(subjects, needed, path, str(kind))
    unknown = sorted(set(action) - ACTION_KEYS[str(kind)] - {"type"})
    if unknown:
        raise InvalidInput(f"{kind} takes {', '.join(sorted(ACTION_KEYS[str(kind)]))}, not {unknown[0]!r}",
                           field=f"{path}.{unknown[0]}", code="automation.unknown_key")
    if kind == "assign":
        user = _need(action, "user_id", path, (int,), "a user id", required=False)
        queue = _need(action, "queue_id", path, (int,), "a queue id", required=False)
        if (user is None) == (queue is None):
            raise InvalidInput("assign names either user_id or queue_id", field=f"{path}.user_id",
                               code="automation.action")
    elif kind == "set_field":
        name = _need(action, "field", path, (str,), "a field name")
        settable = _lookup(SETTABLE, name)
        if settable is None:
            raise InvalidInput(f"{name!r} cannot be set; one of {', '.join(sorted(SETTABLE))}",
                               field=f"{path}.field", code="automation.field")
        _has(subjects, _subject(name), path, f"set_field {name}")
        if "value" not in action:
            raise InvalidInput("value is required", field=f"{path}.value", code="automation.action")
        value = action["value"]
        if settable is Kind.LIST:
            if not (isinstance(value, str) or (isinstance(value, list) and value
                                              and all(isinstance(v, str) for v in value))):
                raise InvalidInput("tags: a string or a list of strings", field=f"{path}.value",
                                   code="automation.type")
        else:
            _check_scalar(settable, value, f"{path}.value")
    elif kind == "add_task":
        title = _need(action, "title", path, (str,), "a title")
        if not title.strip():
            raise InvalidInput("title is required", field=f"{path}.title", code="automation.action")
        _need(action, "department_id", path, (int,), "a department id", required=False)
        _need(action, "assignee_user_id", path, (int,), "a user id", required=False)
        _need(action, "due_in_minutes", path, (int,), "a number of minutes", required=False)
    elif kind == "escalate":
        target = action.get("target", "case")
        if target not in ("case", "task"):
            raise InvalidInput("target is case or task", field=f"{path}.target", code="automation.action")
        _has(subjects, str(target), path, f"escalating a {target}")
        _need(action, "department_id", path, (int,), "a department id")
        _need(action, "reason", path, (str,), "a reason")
    elif kind == "notify":
        text = action.get("text")
        if not (isinstance(text, str) and text.strip()) and not (
                isinstance(text, Mapping) and text and all(isinstance(v, str) and v.strip() for v in text.values())):
            raise InvalidInput("text: a message, or one per language ({\"it\": …, \"en\": …})",
                               field=f"{path}.text", code="automation.type")
        template = action.get("template")
        if template is not None:
            if not isinstance(template, Mapping):
                raise InvalidInput("template: {\"name\": …, \"language\"?, \"parameters\"?}",
                                   field=f"{path}.template", code="automation.type")
            _check_template_ref(template, f"{path}.template")
    elif kind == "send_template":
        _need(action, "template", path, (str,), "a template name")
        _need(action, "language", path, (str,), "a language code", required=False)
        _need(action, "parameters", path, (dict,), "an object of parameters", required=False)
    elif kind == "webhook":
        url = _need(action, "url", path, (str,), "an http(s) URL")
        if not re.match(r"^https?://[^\s/]+", url):
            raise InvalidInput("url: an http(s) URL", field=f"{path}.url", code="automation.type")


def _check_template_ref(template: Mapping[str, Any], path: str) -> None:
    name = template.get("name")
    if not isinstance(name, str) or not name:
        raise InvalidInput("name is required", field=f"{path}.name", code="automation.action")
    if template.get("language") is not None and not isinstance(template.get("language"), str):
        raise InvalidInput("language: a language code", field=f"{path}.language", code="automation.type")
    if template.get("parameters") is not None and not isinstance(template.get("parameters"), Mapping):
        raise InvalidInput("parameters: an object", field=f"{path}.parameters", code="automation.type")


@dataclass(frozen=True)
class TemplateRef:
    """A template a rule's action sends, and where the rule names it (for errors at the field)."""

    name: str
    language: str | None
    name_field: str
    language_field: str


def template_refs(rule: Rule) -> list[TemplateRef]:
    found: list[TemplateRef] = []
    for index, action in enumerate(rule.actions):
        at = f"actions[{index}]"
        if action["type"] == "send_template":
            found.append(TemplateRef(action["template"], action.get("language"), f"{at}.template",
                                     f"{at}.language"))
        elif action["type"] == "notify" and action.get("template"):
            found.append(TemplateRef(action["template"]["name"], action["template"].get("language"),
                                     f"{at}.template.name", f"{at}.template.language"))
    return found


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

"""Checking an automation rule as saved (domain/automation.py has the catalogue): every error names the field
(`trigger`, `conditions.all[0].op`, `actions[1].template`, a misspelt key) and nothing is half-accepted. Facts
of the database (templates, queues, people) are the app's to check (app/automation.py). No I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from centralino.domain.automation import (
    ACTION_KEYS,
    ACTIONS,
    MAX_ACTIONS,
    MAX_CONDITIONS,
    NAME_MAX,
    OPERATORS,
    RULE_KEYS,
    SETTABLE,
    TRIGGERS,
    Kind,
    Rule,
    field_kind,
    lookup_kind,
    subject_of,
)
from centralino.errors import InvalidInput


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
    if subject_of(name) not in subjects and subject_of(name) != "event":
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
        settable = lookup_kind(SETTABLE, name)
        if settable is None:
            raise InvalidInput(f"{name!r} cannot be set; one of {', '.join(sorted(SETTABLE))}",
                               field=f"{path}.field", code="automation.field")
        _has(subjects, subject_of(name), path, f"set_field {name}")
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

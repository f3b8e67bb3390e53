"""Cases (the "pratica"): case types with their workflow, custom fields and SLA, priorities and the
human-friendly number. Pure rules and frozen dataclasses; app/cases.py stores and applies them.
docs/cases.md."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from centralino.domain.business_hours import BusinessCalendar, CalendarError, calendar_from_dict
from centralino.errors import Conflict, InvalidInput

KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
NUMBER_RE = re.compile(r"^C-(\d{4})-(\d{6,})$")
MAX_FIELDS = 50
MAX_STATUSES = 30
MAX_TEXT = 2000
MAX_TAGS = 30
MAX_TAG_LENGTH = 50
MAX_SLA_MINUTES = 60 * 24 * 365


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        return list(Priority).index(self)

    @classmethod
    def parse(cls, value: object, field: str = "priority") -> Priority:
        try:
            return cls(str(value))
        except ValueError:
            raise InvalidInput("priority is low, normal, high or urgent", field=field) from None

    def raised(self, by: int = 1) -> Priority:
        members = list(Priority)
        return members[min(len(members) - 1, self.rank + by)]


class FieldKind(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    CHOICE = "choice"


@dataclass(frozen=True)
class FieldDef:
    """A custom field of a case type: `regex` for text, `min`/`max` for numbers (and text length), `options`
    for choices."""

    key: str
    kind: FieldKind
    label: Mapping[str, str]
    required: bool = False
    options: tuple[str, ...] = ()
    regex: str | None = None
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class Workflow:
    statuses: tuple[str, ...]
    initial: str
    transitions: Mapping[str, tuple[str, ...]]  # from status → the statuses it may go to
    closed: frozenset[str]

    def allows(self, from_status: str, to_status: str) -> bool:
        return to_status in self.transitions.get(from_status, ())


class SlaTrigger(StrEnum):
    WARNING = "warning"
    BREACHED = "breached"


class SlaActionKind(StrEnum):
    ESCALATE = "escalate"  # to department_id, with the reason "sla_<trigger>"
    RAISE_PRIORITY = "raise_priority"  # by `by` steps (urgent at most)
    ALERT_SUPERVISOR = "alert_supervisor"  # only the event


@dataclass(frozen=True)
class SlaAction:
    on: SlaTrigger
    action: SlaActionKind
    department_id: int | None = None
    by: int = 1


@dataclass(frozen=True)
class CaseSla:
    """Targets in business minutes of `calendar` (None: always open); None target: no timer of that kind."""

    first_response_min: int | None = None
    resolution_min: int | None = None
    task_min: int | None = None  # a task's default due time, when none is given
    warn_fraction: float = 0.8
    calendar: Mapping[str, Any] | None = None
    escalation: tuple[SlaAction, ...] = ()

    def business_calendar(self) -> BusinessCalendar:
        return calendar_from_dict(dict(self.calendar)) if self.calendar else BusinessCalendar.always_open()


@dataclass(frozen=True)
class CaseType:
    key: str
    name: Mapping[str, str]  # {"it": "Reclamo", "en": "Complaint"}
    workflow: Workflow
    fields: tuple[FieldDef, ...] = ()
    default_priority: Priority = Priority.NORMAL
    sla: CaseSla = CaseSla()

    def field(self, key: str) -> FieldDef | None:
        return next((f for f in self.fields if f.key == key), None)


# -- the case number -------------------------------------------------------------------------------------------

def format_case_number(year: int, sequence: int) -> str:
    return f"C-{year:04d}-{sequence:06d}"


def parse_case_number(text: str) -> tuple[int, int] | None:
    match = NUMBER_RE.match(text.strip().upper())
    return (int(match.group(1)), int(match.group(2))) if match else None


def find_case_number(text: str) -> str | None:
    """A case number written inside a customer's message ("a che punto è la C-2026-000123?")."""
    match = re.search(r"\bC-\d{4}-\d{6,}\b", text.upper())
    return match.group(0) if match else None


# -- checks ----------------------------------------------------------------------------------------------------

def check_transition(workflow: Workflow, from_status: str, to_status: str) -> None:
    if to_status not in workflow.statuses:
        raise InvalidInput(f"{to_status!r} is not a status of this case type; known: {', '.join(workflow.statuses)}",
                           field="status")
    if not workflow.allows(from_status, to_status):
        names: dict[str, Any] = {"from": from_status, "to": to_status}
        raise Conflict(f"a case cannot go from {from_status} to {to_status}", code="case.transition_not_allowed",
                       field="status", **names)


def check_title(value: object, field: str = "title") -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 300:
        raise InvalidInput("a title has 1 to 300 characters", field=field)
    return value.strip()


def check_tags(value: object, field: str = "tags") -> list[str]:
    if not isinstance(value, list) or len(value) > MAX_TAGS:
        raise InvalidInput(f"tags is a list of at most {MAX_TAGS} words", field=field)
    tags: list[str] = []
    for i, tag in enumerate(value):
        if not isinstance(tag, str) or not tag.strip() or len(tag) > MAX_TAG_LENGTH:
            raise InvalidInput(f"a tag has 1 to {MAX_TAG_LENGTH} characters", field=f"{field}[{i}]")
        if tag.strip().lower() not in tags:
            tags.append(tag.strip().lower())
    return tags


def check_fields(case_type: CaseType, values: object, *, complete: bool) -> dict[str, Any]:
    """The custom field values, validated against the type (`complete`: every required field present, as on
    creation; otherwise only the given ones are checked, as on an update). A value of None clears a field
    that is not required. Errors name `fields.<key>`."""
    if not isinstance(values, Mapping):
        raise InvalidInput("fields is an object of field: value", field="fields")
    out: dict[str, Any] = {}
    for key, value in values.items():
        definition = case_type.field(str(key))
        if definition is None:
            raise InvalidInput(f"{case_type.key} has no field {key}", field=f"fields.{key}")
        out[definition.key] = check_field_value(definition, value)
    if complete:
        for definition in case_type.fields:
            if definition.required and out.get(definition.key) is None:
                raise InvalidInput(f"{definition.key} is required", field=f"fields.{definition.key}")
    return out


def check_field_value(definition: FieldDef, value: object) -> Any:
    field = f"fields.{definition.key}"
    if value is None or value == "":
        if definition.required:
            raise InvalidInput(f"{definition.key} is required", field=field)
        return None
    if definition.kind is FieldKind.NUMBER:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidInput("a number is expected", field=field)
        _check_range(definition, float(value), field, "")
        return value
    if definition.kind is FieldKind.DATE:
        try:
            return date.fromisoformat(str(value)).isoformat()
        except ValueError:
            raise InvalidInput("a date is YYYY-MM-DD", field=field) from None
    if not isinstance(value, str):
        raise InvalidInput("a text is expected", field=field)
    if definition.kind is FieldKind.CHOICE:
        if value not in definition.options:
            raise InvalidInput(f"one of: {', '.join(definition.options)}", field=field)
        return value
    if len(value) > MAX_TEXT:
        raise InvalidInput(f"at most {MAX_TEXT} characters", field=field)
    _check_range(definition, float(len(value)), field, " characters")
    if definition.regex is not None and re.fullmatch(definition.regex, value) is None:
        raise InvalidInput("the value does not have the expected format", field=field)
    return value


def _check_range(definition: FieldDef, value: float, field: str, unit: str) -> None:
    if definition.min is not None and value < definition.min:
        raise InvalidInput(f"at least {_num(definition.min)}{unit}", field=field)
    if definition.max is not None and value > definition.max:
        raise InvalidInput(f"at most {_num(definition.max)}{unit}", field=field)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


# -- parsing a case type definition (admin input, and the stored JSON) -----------------------------------------

def parse_case_type(data: object) -> CaseType:
    if not isinstance(data, Mapping):
        raise InvalidInput("a case type is an object", field="definition")
    key = data.get("key")
    if not isinstance(key, str) or not KEY_RE.match(key):
        raise InvalidInput("a key is lower-case letters, digits and _ (at most 64)", field="key")
    return CaseType(
        key=key, name=_names(data.get("name"), "name"), workflow=_workflow(data.get("workflow")),
        fields=_fields(data.get("fields", [])),
        default_priority=Priority.parse(data.get("default_priority", "normal"), "default_priority"),
        sla=_sla(data.get("sla") or {}))


def _names(value: object, field: str) -> dict[str, str]:
    if isinstance(value, str):
        value = {"it": value, "en": value}
    if not isinstance(value, Mapping) or not value:
        raise InvalidInput("a name is an object of language: text, e.g. {\"it\": …, \"en\": …}", field=field)
    names: dict[str, str] = {}
    for lang, text in value.items():
        if not isinstance(lang, str) or not 2 <= len(lang) <= 8:
            raise InvalidInput("a language code has 2 to 8 characters", field=field)
        if not isinstance(text, str) or not text.strip() or len(text) > 100:
            raise InvalidInput("a name has 1 to 100 characters", field=f"{field}.{lang}")
        names[lang] = text.strip()
    return names


def _workflow(value: object) -> Workflow:
    if not isinstance(value, Mapping):
        raise InvalidInput("workflow is {statuses, initial, transitions, closed}", field="workflow")
    statuses = value.get("statuses")
    if not isinstance(statuses, list) or not 2 <= len(statuses) <= MAX_STATUSES:
        raise InvalidInput(f"a workflow has 2 to {MAX_STATUSES} statuses", field="workflow.statuses")
    for i, status in enumerate(statuses):
        if not isinstance(status, str) or not KEY_RE.match(status):
            raise InvalidInput("a status is lower-case letters, digits and _", field=f"workflow.statuses[{i}]")
    if len(set(statuses)) != len(statuses):
        raise InvalidInput("statuses must be distinct", field="workflow.statuses")
    initial = value.get("initial")
    if initial not in statuses:
        raise InvalidInput("the initial status is one of the statuses", field="workflow.initial")
    closed = value.get("closed")
    if not isinstance(closed, list) or not closed or any(s not in statuses for s in closed):
        raise InvalidInput("closed lists at least one of the statuses", field="workflow.closed")
    if initial in closed:
        raise InvalidInput("a case cannot start closed", field="workflow.initial")
    transitions = value.get("transitions")
    if not isinstance(transitions, Mapping):
        raise InvalidInput("transitions is an object of status: [statuses it may go to]", field="workflow.transitions")
    parsed: dict[str, tuple[str, ...]] = {}
    for source, targets in transitions.items():
        field = f"workflow.transitions.{source}"
        if source not in statuses:
            raise InvalidInput(f"{source} is not a status", field=field)
        if not isinstance(targets, list) or any(t not in statuses or t == source for t in targets):
            raise InvalidInput("a list of other statuses of this workflow", field=field)
        parsed[str(source)] = tuple(dict.fromkeys(str(t) for t in targets))
    start = str(initial)
    reachable, frontier = {start}, [start]
    while frontier:
        for target in parsed.get(frontier.pop(), ()):
            if target not in reachable:
                reachable.add(target)
                frontier.append(target)
    if not reachable & set(closed):
        raise InvalidInput("no closed status can be reached from the initial one", field="workflow.transitions")
    return Workflow(tuple(statuses), str(initial), parsed, frozenset(str(s) for s in closed))


def _fields(value: object) -> tuple[FieldDef, ...]:
    if not isinstance(value, list) or len(value) > MAX_FIELDS:
        raise InvalidInput(f"fields is a list of at most {MAX_FIELDS} definitions", field="fields")
    out: list[FieldDef] = []
    for i, entry in enumerate(value):
        at = f"fields[{i}]"
        if not isinstance(entry, Mapping):
            raise InvalidInput("a field is {key, kind, label, …}", field=at)
        key = entry.get("key")
        if not isinstance(key, str) or not KEY_RE.match(key):
            raise InvalidInput("a key is lower-case letters, digits and _", field=f"{at}.key")
        if any(f.key == key for f in out):
            raise InvalidInput(f"{key} is defined twice", field=f"{at}.key")
        try:
            kind = FieldKind(str(entry.get("kind")))
        except ValueError:
            raise InvalidInput("kind is text, number, date or choice", field=f"{at}.kind") from None
        options = entry.get("options", [])
        if kind is FieldKind.CHOICE:
            if not isinstance(options, list) or not options or not all(
                    isinstance(o, str) and o and len(o) <= 100 for o in options) or len(set(options)) != len(options):
                raise InvalidInput("a choice has a list of distinct options", field=f"{at}.options")
        elif options:
            raise InvalidInput("only a choice has options", field=f"{at}.options")
        regex = entry.get("regex")
        if regex is not None:
            if kind is not FieldKind.TEXT or not isinstance(regex, str) or len(regex) > 500:
                raise InvalidInput("a regex (at most 500 characters) applies to text fields", field=f"{at}.regex")
            try:
                re.compile(regex)
            except re.error as err:
                raise InvalidInput(f"not a valid regular expression: {err}", field=f"{at}.regex") from None
        bounds = [_bound(entry.get(b), f"{at}.{b}") for b in ("min", "max")]
        if bounds[0] is not None and bounds[1] is not None and bounds[0] > bounds[1]:
            raise InvalidInput("min is at most max", field=f"{at}.min")
        required = entry.get("required", False)
        if not isinstance(required, bool):
            raise InvalidInput("required is true or false", field=f"{at}.required")
        out.append(FieldDef(key, kind, _names(entry.get("label", key), f"{at}.label"), required,
                            tuple(options or ()), regex, bounds[0], bounds[1]))
    return tuple(out)


def _bound(value: object, field: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput("a number is expected", field=field)
    return float(value)


def _minutes(value: object, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_SLA_MINUTES:
        raise InvalidInput("a target is a whole number of business minutes, 1 to a year", field=field)
    return value


def _sla(value: object) -> CaseSla:
    if not isinstance(value, Mapping):
        raise InvalidInput("sla is an object", field="sla")
    fraction = value.get("warn_fraction", 0.8)
    if isinstance(fraction, bool) or not isinstance(fraction, int | float) or not 0 < fraction < 1:
        raise InvalidInput("warn_fraction is between 0 and 1 (0.8: warn at 80 % of the target)",
                           field="sla.warn_fraction")
    calendar = value.get("calendar")
    if calendar is not None:
        if not isinstance(calendar, Mapping):
            raise InvalidInput("calendar is a business-hours object (docs/service-levels.md)", field="sla.calendar")
        try:
            calendar_from_dict(dict(calendar))
        except CalendarError as err:
            raise InvalidInput(str(err), field=f"sla.calendar.{err.field}") from None
    return CaseSla(_minutes(value.get("first_response_min"), "sla.first_response_min"),
                   _minutes(value.get("resolution_min"), "sla.resolution_min"),
                   _minutes(value.get("task_min"), "sla.task_min"), float(fraction),
                   dict(calendar) if calendar is not None else None, _escalation(value.get("escalation", [])))


def _escalation(value: object) -> tuple[SlaAction, ...]:
    if not isinstance(value, list) or len(value) > 10:
        raise InvalidInput("escalation is a list of at most 10 actions", field="sla.escalation")
    out: list[SlaAction] = []
    for i, entry in enumerate(value):
        at = f"sla.escalation[{i}]"
        if not isinstance(entry, Mapping):
            raise InvalidInput("an action is {on, action, …}", field=at)
        try:
            on = SlaTrigger(str(entry.get("on")))
        except ValueError:
            raise InvalidInput("on is warning or breached", field=f"{at}.on") from None
        try:
            action = SlaActionKind(str(entry.get("action")))
        except ValueError:
            raise InvalidInput("action is escalate, raise_priority or alert_supervisor", field=f"{at}.action") from None
        department = entry.get("department_id")
        if action is SlaActionKind.ESCALATE and (isinstance(department, bool) or not isinstance(department, int)):
            raise InvalidInput("escalate needs the department_id to send the work to", field=f"{at}.department_id")
        by = entry.get("by", 1)
        if isinstance(by, bool) or not isinstance(by, int) or not 1 <= by <= 3:
            raise InvalidInput("by is 1 to 3 priority steps", field=f"{at}.by")
        out.append(SlaAction(on, action, department if action is SlaActionKind.ESCALATE else None, by))
    return tuple(out)


def case_type_to_dict(case_type: CaseType) -> dict[str, Any]:
    """The JSON stored in case_types.definition (parse_case_type reads it back)."""
    sla = case_type.sla
    return {
        "key": case_type.key, "name": dict(case_type.name), "default_priority": case_type.default_priority.value,
        "workflow": {"statuses": list(case_type.workflow.statuses), "initial": case_type.workflow.initial,
                     "transitions": {k: list(v) for k, v in case_type.workflow.transitions.items()},
                     "closed": [s for s in case_type.workflow.statuses if s in case_type.workflow.closed]},
        "fields": [_field_to_dict(f) for f in case_type.fields],
        "sla": {"first_response_min": sla.first_response_min, "resolution_min": sla.resolution_min,
                "task_min": sla.task_min, "warn_fraction": sla.warn_fraction,
                "calendar": dict(sla.calendar) if sla.calendar is not None else None,
                "escalation": [_action_to_dict(a) for a in sla.escalation]},
    }


def _field_to_dict(definition: FieldDef) -> dict[str, Any]:
    out: dict[str, Any] = {"key": definition.key, "kind": definition.kind.value, "label": dict(definition.label),
                           "required": definition.required}
    if definition.options:
        out["options"] = list(definition.options)
    for name in ("regex", "min", "max"):
        if getattr(definition, name) is not None:
            out[name] = getattr(definition, name)
    return out


def _action_to_dict(action: SlaAction) -> dict[str, Any]:
    out: dict[str, Any] = {"on": action.on.value, "action": action.action.value}
    if action.department_id is not None:
        out["department_id"] = action.department_id
    if action.action is SlaActionKind.RAISE_PRIORITY:
        out["by"] = action.by
    return out

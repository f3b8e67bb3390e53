"""Routing configuration as data: queues (required skills, relaxation steps) and ordered rules that pick a
queue for new work. Validated on save with errors that name the field; matched on enqueue. Pure.

A rule's conditions (all given ones must hold; an empty object matches everything):
  {"channel_kind": ["whatsapp"], "channel_id": [3], "language": ["it"], "tags_any": ["vip"],
   "attributes": {"segment": "premium"}, "intent": ["mortgage"], "keywords_any": ["mutuo", "loan"]}
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from centralino.errors import InvalidInput

MAX_LEVEL = 5
SKILL_RE = re.compile(r"^[a-z0-9_.-]+(:[a-z0-9_.-]+)?$")
LIST_CONDITIONS = ("channel_kind", "language", "tags_any", "intent", "keywords_any")
CONDITION_KEYS = (*LIST_CONDITIONS, "channel_id", "attributes")


@dataclass(frozen=True)
class SkillRequirement:
    skill: str
    min_level: int


@dataclass(frozen=True)
class RelaxationStep:
    """From `after_s` seconds of waiting: required levels capped at min_level, or skills dropped (any agent of
    the queue's department), or the item moves to the overflow queue."""

    after_s: int
    min_level: int | None = None
    any_department_agent: bool = False
    overflow: bool = False


@dataclass(frozen=True)
class QueueSpec:
    id: int
    name: str
    department_id: int | None
    priority: int
    required: tuple[SkillRequirement, ...]
    relaxation: tuple[RelaxationStep, ...]
    overflow_queue_id: int | None
    offer_timeout_s: int


@dataclass(frozen=True)
class RoutingFacts:
    """What rules look at: the conversation's channel, the customer, the message that arrived."""

    channel_kind: str
    channel_id: int
    language: str | None = None
    tags: frozenset[str] = frozenset()
    attributes: Mapping[str, Any] = field(default_factory=dict)
    intent: str | None = None
    text: str = ""


def normalise_skill(name: object, field_name: str) -> str:
    if not isinstance(name, str) or not SKILL_RE.match(name.strip().lower()) or len(name) > 100:
        raise InvalidInput("a skill is like language:it or product:mortgages (lower-case, at most 100 characters)",
                           field=field_name, code="routing.invalid_skill")
    return name.strip().lower()


def check_level(value: object, field_name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_LEVEL:
        raise InvalidInput(f"a level is a whole number from 1 to {MAX_LEVEL}", field=field_name,
                           code="routing.invalid_level")
    return value


def _int(value: object, field_name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(f"{field_name} is a whole number from {low} to {high}", field=field_name)
    return value


def parse_required_skills(raw: object, field_name: str = "required_skills") -> tuple[SkillRequirement, ...]:
    if not isinstance(raw, list):
        raise InvalidInput("required_skills is a list of {skill, min_level}", field=field_name)
    seen: set[str] = set()
    out: list[SkillRequirement] = []
    for i, entry in enumerate(raw):
        where = f"{field_name}[{i}]"
        if not isinstance(entry, dict) or set(entry) - {"skill", "min_level"}:
            raise InvalidInput("each required skill is {skill, min_level}", field=where)
        skill = normalise_skill(entry.get("skill"), f"{where}.skill")
        if skill in seen:
            raise InvalidInput(f"{skill} is required twice", field=f"{where}.skill", code="routing.duplicate_skill")
        seen.add(skill)
        out.append(SkillRequirement(skill, check_level(entry.get("min_level", 1), f"{where}.min_level")))
    return tuple(out)


def parse_relaxation(raw: object, field_name: str = "relaxation") -> tuple[RelaxationStep, ...]:
    if not isinstance(raw, list):
        raise InvalidInput("relaxation is a list of steps like {after_s: 60, min_level: 2}", field=field_name)
    steps: list[RelaxationStep] = []
    for i, entry in enumerate(raw):
        where = f"{field_name}[{i}]"
        if not isinstance(entry, dict):
            raise InvalidInput("a relaxation step is an object", field=where)
        unknown = set(entry) - {"after_s", "min_level", "any_department_agent", "overflow"}
        if unknown:
            raise InvalidInput(f"unknown key {sorted(unknown)[0]}", field=f"{where}.{sorted(unknown)[0]}")
        after = _int(entry.get("after_s"), f"{where}.after_s", 0, 7 * 86400)
        if steps and after <= steps[-1].after_s:
            raise InvalidInput("steps come in increasing after_s", field=f"{where}.after_s",
                               code="routing.steps_out_of_order")
        level = entry.get("min_level")
        any_agent = entry.get("any_department_agent", False)
        overflow = entry.get("overflow", False)
        if not isinstance(any_agent, bool) or not isinstance(overflow, bool):
            raise InvalidInput("any_department_agent and overflow are true or false", field=where)
        if level is None and not any_agent and not overflow:
            raise InvalidInput("a step sets min_level, any_department_agent or overflow", field=where,
                               code="routing.empty_step")
        steps.append(RelaxationStep(after, None if level is None else check_level(level, f"{where}.min_level"),
                                    any_agent, overflow))
    return tuple(steps)


def check_queue(data: Mapping[str, Any], *, queue_id: int | None = None) -> dict[str, Any]:
    """A queue's fields, normalised; raises InvalidInput naming the first wrong field."""
    name = data.get("name")
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 100:
        raise InvalidInput("name has 1 to 100 characters", field="name")
    relaxation = parse_relaxation(data.get("relaxation", []))
    overflow_id = data.get("overflow_queue_id")
    if overflow_id is not None:
        overflow_id = _int(overflow_id, "overflow_queue_id", 1, 2**62)
        if overflow_id == queue_id:
            raise InvalidInput("a queue cannot overflow into itself", field="overflow_queue_id")
    if any(s.overflow for s in relaxation) and overflow_id is None:
        raise InvalidInput("an overflow step needs overflow_queue_id", field="overflow_queue_id",
                           code="routing.overflow_without_queue")
    department_id = data.get("department_id")
    return {
        "name": name.strip(),
        "department_id": None if department_id is None else _int(department_id, "department_id", 1, 2**62),
        "priority": _int(data.get("priority", 0), "priority", -100, 100),
        "required_skills": [{"skill": r.skill, "min_level": r.min_level}
                            for r in parse_required_skills(data.get("required_skills", []))],
        "relaxation": [{k: v for k, v in vars(s).items() if v not in (None, False)} | {"after_s": s.after_s}
                       for s in relaxation],
        "overflow_queue_id": overflow_id,
        "offer_timeout_s": _int(data.get("offer_timeout_s", 120), "offer_timeout_s", 5, 86400),
        "active": _bool(data.get("active", True), "active"),
    }


def _bool(value: object, field_name: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(f"{field_name} is true or false", field=field_name)
    return value


def check_conditions(raw: object, field_name: str = "conditions") -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise InvalidInput("conditions is an object", field=field_name)
    out: dict[str, Any] = {}
    for key, value in raw.items():
        where = f"{field_name}.{key}"
        if key not in CONDITION_KEYS:
            raise InvalidInput(f"unknown condition {key}; known: {', '.join(CONDITION_KEYS)}", field=where,
                               code="routing.unknown_condition")
        if key in LIST_CONDITIONS:
            if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
                raise InvalidInput(f"{key} is a non-empty list of texts", field=where)
            out[key] = sorted({v.strip().lower() for v in value})
        elif key == "channel_id":
            if not isinstance(value, list) or not value:
                raise InvalidInput("channel_id is a non-empty list of channel ids", field=where)
            out[key] = [_int(v, where, 1, 2**62) for v in value]
        else:
            if not isinstance(value, dict) or not value:
                raise InvalidInput("attributes is an object of name: value", field=where)
            for name, expected in value.items():
                if not isinstance(expected, str | int | float | bool):
                    raise InvalidInput("an attribute condition is a text, number or true/false",
                                       field=f"{where}.{name}")
            out[key] = dict(value)
    return out


def check_rule(data: Mapping[str, Any]) -> dict[str, Any]:
    name = data.get("name")
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 100:
        raise InvalidInput("name has 1 to 100 characters", field="name")
    priority = data.get("priority")
    return {
        "name": name.strip(),
        "position": _int(data.get("position", 0), "position", 0, 1_000_000),
        "queue_id": _int(data.get("queue_id"), "queue_id", 1, 2**62),
        "priority": None if priority is None else _int(priority, "priority", -100, 100),
        "conditions": check_conditions(data.get("conditions", {})),
        "active": _bool(data.get("active", True), "active"),
    }


def rule_matches(conditions: Mapping[str, Any], facts: RoutingFacts) -> bool:
    if "channel_kind" in conditions and facts.channel_kind.lower() not in conditions["channel_kind"]:
        return False
    if "channel_id" in conditions and facts.channel_id not in conditions["channel_id"]:
        return False
    if "language" in conditions and (facts.language or "").lower().split("-")[0] not in conditions["language"]:
        return False
    if "tags_any" in conditions and not facts.tags & set(conditions["tags_any"]):
        return False
    if "intent" in conditions and (facts.intent or "").lower() not in conditions["intent"]:
        return False
    if "keywords_any" in conditions:
        text = facts.text.casefold()
        if not any(k in text for k in conditions["keywords_any"]):
            return False
    wanted = conditions.get("attributes", {})
    return all(facts.attributes.get(name) == expected for name, expected in wanted.items())


def queue_spec(row: Mapping[str, Any]) -> QueueSpec:
    return QueueSpec(
        id=int(row["id"]), name=str(row["name"]),
        department_id=None if row["department_id"] is None else int(row["department_id"]),
        priority=int(row["priority"]), required=parse_required_skills(list(row["required_skills"] or [])),
        relaxation=parse_relaxation(list(row["relaxation"] or [])),
        overflow_queue_id=None if row["overflow_queue_id"] is None else int(row["overflow_queue_id"]),
        offer_timeout_s=int(row["offer_timeout_s"]),
    )

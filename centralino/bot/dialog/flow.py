"""A dialog flow as data (docs/bot.md "Dialogs"): loaded from YAML text or a mapping and checked as a whole.

Every error is an `InvalidInput` naming the field in the flow's own shape (`steps[2].slot`), so the flow editor
can point at the line. Texts are `{it: …, en: …}` (or one string for every language) and may use `{{ slot }}`
placeholders; their Jinja2 syntax is checked here, rendering happens in the engine (a sandbox).

Step kinds: ask, say, confirm, call, branch, end (see the dataclasses below for their fields).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from jinja2 import TemplateSyntaxError

from centralino.bot.templating import sandbox
from centralino.errors import InvalidInput

# Entity kinds the NLU extracts (bot/nlu/entities.py) plus "text": the customer's message as it is.
ENTITY_KINDS = frozenset({
    "order_number", "tracking_code", "booking_code", "date", "time", "datetime", "amount", "number", "email",
    "phone", "fiscal_code", "iban", "text",
})
STEP_KINDS = ("ask", "say", "confirm", "call", "branch", "end")
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
CHOICES_MAX = 10  # a WhatsApp list holds 10 rows
CHOICE_ID_MAX = 200
TEXT_MAX = 4096
DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_MAX_VISITS = 5
CONDITION_KEYS = ("equals", "in", "matches", "present", "lt", "gt")
SLOT_SOURCES = ("slot", "entity", "result")  # what a branch may look at: `on: slot.x`, `entity.date`, `result.ok`

Texts = Mapping[str, str]  # language -> template; "*" when one text serves every language

_syntax = sandbox()
_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: ~10x faster than the pure-Python loader


@dataclass(frozen=True)
class Choice:
    id: str
    title: Texts
    value: str  # what the slot gets (the id unless given)


@dataclass(frozen=True)
class Validation:
    regex: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    minimum: float | None = None  # numbers only
    maximum: float | None = None


@dataclass(frozen=True)
class Condition:
    next: str
    equals: Any = None
    one_of: tuple[Any, ...] | None = None
    matches: str | None = None
    present: bool | None = None
    lt: float | None = None
    gt: float | None = None


@dataclass(frozen=True)
class Step:
    id: str
    kind: str
    next: str | None = None  # default: the following step
    # ask
    slot: str | None = None
    prompt: Texts | None = None
    entity: str | None = None
    regex: str | None = None
    choices: tuple[Choice, ...] = ()
    validation: Validation | None = None
    reprompt: Texts | None = None
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    on_fail: str | None = None  # after max_attempts (default: hand off)
    # say (and end's text)
    text: Texts | None = None
    # confirm
    yes: str | None = None
    no: str | None = None
    # call
    service: str | None = None
    inputs: Mapping[str, str] = field(default_factory=dict)
    outputs: Mapping[str, str] = field(default_factory=dict)  # slot -> key of the service's data
    on_error: str | None = None
    document: Texts | None = None  # send the service's document with this caption
    # branch
    on: str | None = None
    cases: tuple[Condition, ...] = ()
    default: str | None = None
    # end: exactly one of answer / open_case / handoff
    answer: Texts | None = None
    open_case: Mapping[str, Any] | None = None  # {type, title: Texts, fields: {name: template}}
    handoff: Mapping[str, Any] | None = None  # {reason}


@dataclass(frozen=True)
class Flow:
    name: str
    steps: tuple[Step, ...]
    intents: tuple[str, ...] = ()  # intents this flow serves: not a topic change while in it
    language: str = "it"  # when the customer's language has no text
    max_visits: int = DEFAULT_MAX_VISITS  # a step entered more often than this in one dialog: hand off
    description: str = ""

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    def following(self, step_id: str) -> str | None:
        """The step's `next`, or the step after it in the list."""
        ids = [s.id for s in self.steps]
        index = ids.index(step_id)
        step = self.steps[index]
        if step.next:
            return step.next
        return ids[index + 1] if index + 1 < len(ids) else None


def load_flow(source: str | Mapping[str, Any]) -> Flow:
    """Parse and check a flow; raises InvalidInput naming the first wrong field."""
    if isinstance(source, str):
        try:
            data = yaml.load(source, Loader=_YamlLoader)  # noqa: S506 - a safe loader (libyaml's when present)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
            raise InvalidInput(f"source: the flow is not valid YAML{where}", field="source", code="flow.yaml") from None
    else:
        data = source
    return _Parser().flow(data)


def flow_to_dict(flow: Flow) -> dict[str, Any]:
    """A JSON-ready form (bot_flows.definition); load_flow reads it back."""
    return {"name": flow.name, "intents": list(flow.intents), "language": flow.language,
            "max_visits": flow.max_visits, "description": flow.description,
            "steps": [_step_dict(s) for s in flow.steps]}


def _step_dict(step: Step) -> dict[str, Any]:
    out: dict[str, Any] = {"id": step.id, "kind": step.kind}
    for name in ("next", "slot", "entity", "regex", "on_fail", "yes", "no", "service", "on_error", "on", "default"):
        value = getattr(step, name)
        if value is not None:
            out[name] = value
    for name in ("prompt", "reprompt", "text", "document", "answer"):
        value = getattr(step, name)
        if value is not None:
            out[name] = dict(value)
    if step.kind in ("ask", "confirm"):
        out["max_attempts"] = step.max_attempts
    if step.choices:
        out["choices"] = [{"id": c.id, "title": dict(c.title), "value": c.value} for c in step.choices]
    if step.validation is not None:
        out["validation"] = {k: v for k, v in vars(step.validation).items() if v is not None}
    if step.inputs:
        out["inputs"] = dict(step.inputs)
    if step.outputs:
        out["outputs"] = dict(step.outputs)
    if step.cases:
        out["cases"] = [_case_dict(c) for c in step.cases]
    if step.open_case is not None:
        out["open_case"] = dict(step.open_case)
    if step.handoff is not None:
        out["handoff"] = dict(step.handoff)
    return out


def _case_dict(cond: Condition) -> dict[str, Any]:
    out: dict[str, Any] = {"next": cond.next}
    if cond.one_of is not None:
        out["in"] = list(cond.one_of)
    for name in ("equals", "matches", "present", "lt", "gt"):
        value = getattr(cond, name)
        if value is not None:
            out[name] = value
    return out


# --- checking ---------------------------------------------------------------------------------------------------

def _fail(path: str, message: str, code: str = "flow.invalid") -> InvalidInput:
    return InvalidInput(f"{path}: {message}", field=path, code=code)


_STEP_FIELDS = {
    "ask": {"slot", "prompt", "entity", "regex", "choices", "validation", "reprompt", "max_attempts", "on_fail"},
    "say": {"text"},
    "confirm": {"prompt", "slot", "yes", "no", "reprompt", "max_attempts", "on_fail"},
    "call": {"service", "inputs", "outputs", "on_error", "document"},
    "branch": {"on", "cases", "default"},
    "end": {"answer", "open_case", "handoff", "text"},
}
_COMMON_FIELDS = {"id", "kind", "next", "description"}


class _Parser:
    def flow(self, data: Any) -> Flow:
        if not isinstance(data, Mapping):
            raise _fail("flow", "a flow is a mapping with name and steps")
        unknown = set(data) - {"name", "steps", "intents", "language", "max_visits", "description"}
        if unknown:
            raise _fail(sorted(map(str, unknown))[0], "unknown field")
        name = self.name(data.get("name"), "name")
        language = self.string(data.get("language", "it"), "language", limit=8)
        max_visits = self.integer(data.get("max_visits", DEFAULT_MAX_VISITS), "max_visits", 1, 50)
        intents_raw = data.get("intents", [])
        if isinstance(intents_raw, str):
            intents_raw = [intents_raw]
        if not isinstance(intents_raw, list):
            raise _fail("intents", "a list of intent names")
        intents = tuple(self.string(v, f"intents[{i}]", limit=64) for i, v in enumerate(intents_raw))
        raw_steps = data.get("steps")
        if not isinstance(raw_steps, list) or not raw_steps:
            raise _fail("steps", "a flow needs a non-empty list of steps")
        steps = tuple(self.step(raw, f"steps[{i}]") for i, raw in enumerate(raw_steps))
        self.references(steps)
        description = data.get("description", "")
        if not isinstance(description, str):
            raise _fail("description", "a text")
        return Flow(name=name, steps=steps, intents=intents, language=language, max_visits=max_visits,
                    description=description)

    def step(self, raw: Any, path: str) -> Step:
        if not isinstance(raw, Mapping):
            raise _fail(path, "a step is a mapping with id and kind")
        kind = raw.get("kind")
        if True in raw or False in raw:  # YAML 1.1 reads bare `on:`, `yes:` and `no:` keys as booleans
            true_key = "on" if kind == "branch" else "yes"
            raw = {(true_key if k is True else "no" if k is False else k): v for k, v in raw.items()}
        if kind not in STEP_KINDS:
            raise _fail(f"{path}.kind", f"one of {', '.join(STEP_KINDS)}")
        unknown = set(raw) - _STEP_FIELDS[kind] - _COMMON_FIELDS
        if unknown:
            field_name = sorted(map(str, unknown))[0]
            raise _fail(f"{path}.{field_name}", f"not a field of a {kind} step")
        step_id = self.name(raw.get("id"), f"{path}.id")
        nxt = self.optional_name(raw.get("next"), f"{path}.next")
        kw: dict[str, Any] = {"id": step_id, "kind": kind, "next": nxt}
        getattr(self, f"step_{kind}")(raw, path, kw)
        return Step(**kw)

    def step_ask(self, raw: Mapping[str, Any], path: str, kw: dict[str, Any]) -> None:
        kw["slot"] = self.name(raw.get("slot"), f"{path}.slot")
        kw["prompt"] = self.texts(raw.get("prompt"), f"{path}.prompt")
        kw["reprompt"] = self.optional_texts(raw.get("reprompt"), f"{path}.reprompt")
        sources = [k for k in ("entity", "regex", "choices") if raw.get(k) is not None]
        if len(sources) > 1 and "choices" in sources:
            raise _fail(f"{path}.choices", "choices cannot be combined with entity or regex")
        entity = raw.get("entity")
        if entity is not None:
            if entity not in ENTITY_KINDS:
                raise _fail(f"{path}.entity", f"one of {', '.join(sorted(ENTITY_KINDS))}")
            kw["entity"] = entity
        if raw.get("regex") is not None:
            kw["regex"] = self.regex(raw.get("regex"), f"{path}.regex")
        if raw.get("choices") is not None:
            kw["choices"] = self.choices(raw.get("choices"), f"{path}.choices")
        if raw.get("validation") is not None:
            kw["validation"] = self.validation(raw.get("validation"), f"{path}.validation")
        kw["max_attempts"] = self.integer(raw.get("max_attempts", DEFAULT_MAX_ATTEMPTS), f"{path}.max_attempts", 1, 10)
        kw["on_fail"] = self.optional_name(raw.get("on_fail"), f"{path}.on_fail")

    def step_say(self, raw: Mapping[str, Any], path: str, kw: dict[str, Any]) -> None:
        kw["text"] = self.texts(raw.get("text"), f"{path}.text")

    def step_confirm(self, raw: Mapping[str, Any], path: str, kw: dict[str, Any]) -> None:
        kw["prompt"] = self.texts(raw.get("prompt"), f"{path}.prompt")
        kw["reprompt"] = self.optional_texts(raw.get("reprompt"), f"{path}.reprompt")
        kw["slot"] = self.optional_name(raw.get("slot"), f"{path}.slot")
        kw["yes"] = self.name(raw.get("yes"), f"{path}.yes")
        kw["no"] = self.name(raw.get("no"), f"{path}.no")
        kw["max_attempts"] = self.integer(raw.get("max_attempts", DEFAULT_MAX_ATTEMPTS), f"{path}.max_attempts", 1, 10)
        kw["on_fail"] = self.optional_name(raw.get("on_fail"), f"{path}.on_fail")

    def step_call(self, raw: Mapping[str, Any], path: str, kw: dict[str, Any]) -> None:
        kw["service"] = self.string(raw.get("service"), f"{path}.service", limit=64)
        kw["inputs"] = self.string_map(raw.get("inputs", {}), f"{path}.inputs", templates=True)
        kw["outputs"] = self.string_map(raw.get("outputs", {}), f"{path}.outputs", templates=False)
        for slot in kw["outputs"]:
            self.name(slot, f"{path}.outputs.{slot}")
        kw["on_error"] = self.optional_name(raw.get("on_error"), f"{path}.on_error")
        kw["document"] = self.optional_texts(raw.get("document"), f"{path}.document")

    def step_branch(self, raw: Mapping[str, Any], path: str, kw: dict[str, Any]) -> None:
        on = raw.get("on")
        if not isinstance(on, str) or "." not in on or on.split(".", 1)[0] not in SLOT_SOURCES:
            raise _fail(f"{path}.on", "slot.NAME, entity.KIND or result.ok / result.status / result.KEY")
        kw["on"] = on
        cases = raw.get("cases")
        if not isinstance(cases, list) or not cases:
            raise _fail(f"{path}.cases", "a non-empty list of conditions, each with next")
        kw["cases"] = tuple(self.condition(c, f"{path}.cases[{i}]") for i, c in enumerate(cases))
        kw["default"] = self.optional_name(raw.get("default"), f"{path}.default")

    def step_end(self, raw: Mapping[str, Any], path: str, kw: dict[str, Any]) -> None:
        given = [k for k in ("answer", "open_case", "handoff") if raw.get(k) is not None]
        if len(given) != 1:
            raise _fail(path, "an end step has exactly one of answer, open_case or handoff")
        if raw.get("next") is not None:
            raise _fail(f"{path}.next", "an end step has no next")
        kw["text"] = self.optional_texts(raw.get("text"), f"{path}.text")
        if given[0] == "answer":
            kw["answer"] = self.texts(raw["answer"], f"{path}.answer")
        elif given[0] == "open_case":
            spec = raw["open_case"]
            if not isinstance(spec, Mapping):
                raise _fail(f"{path}.open_case", "a mapping with type and title")
            unknown = set(spec) - {"type", "title", "fields"}
            if unknown:
                raise _fail(f"{path}.open_case.{sorted(map(str, unknown))[0]}", "unknown field")
            kw["open_case"] = {
                "type": self.string(spec.get("type"), f"{path}.open_case.type", limit=64),
                "title": dict(self.texts(spec.get("title"), f"{path}.open_case.title")),
                "fields": self.string_map(spec.get("fields", {}), f"{path}.open_case.fields", templates=True),
            }
        else:
            spec = raw["handoff"]
            if spec is True:
                spec = {}
            if not isinstance(spec, Mapping) or set(spec) - {"reason"}:
                raise _fail(f"{path}.handoff", "a mapping with an optional reason")
            reason = spec.get("reason", "flow")
            kw["handoff"] = {"reason": self.string(reason, f"{path}.handoff.reason", limit=200)}

    # --- pieces ---

    def name(self, value: Any, path: str) -> str:
        if not isinstance(value, str) or not NAME_RE.match(value):
            raise _fail(path, "required: lowercase letters, digits and _ (starting with a letter, up to 64)")
        return value

    def optional_name(self, value: Any, path: str) -> str | None:
        return None if value is None else self.name(value, path)

    def string(self, value: Any, path: str, *, limit: int) -> str:
        if not isinstance(value, str) or not value.strip():
            raise _fail(path, "required: a non-empty text")
        if len(value) > limit:
            raise _fail(path, f"at most {limit} characters")
        return value

    def integer(self, value: Any, path: str, low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise _fail(path, f"a whole number from {low} to {high}")
        return value

    def number(self, value: Any, path: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _fail(path, "a number")
        return float(value)

    def template(self, value: str, path: str) -> str:
        if len(value) > TEXT_MAX:
            raise _fail(path, f"at most {TEXT_MAX} characters")
        try:
            _syntax.parse(value)
        except TemplateSyntaxError as exc:
            raise _fail(path, f"template error: {exc.message}", "flow.template") from None
        return value

    def texts(self, value: Any, path: str) -> Texts:
        if isinstance(value, str):
            if not value.strip():
                raise _fail(path, "required: a text")
            return {"*": self.template(value, path)}
        if not isinstance(value, Mapping) or not value:
            raise _fail(path, "required: a text, or texts per language like {it: …, en: …}")
        out: dict[str, str] = {}
        for lang, text in value.items():
            if not isinstance(lang, str) or not re.fullmatch(r"[a-z]{2,3}(_[A-Za-z]{2})?|\*", lang):
                raise _fail(f"{path}.{lang}", "a language code like it or en")
            if not isinstance(text, str) or not text.strip():
                raise _fail(f"{path}.{lang}", "required: a text")
            out[lang] = self.template(text, f"{path}.{lang}")
        return out

    def optional_texts(self, value: Any, path: str) -> Texts | None:
        return None if value is None else self.texts(value, path)

    def regex(self, value: Any, path: str) -> str:
        if not isinstance(value, str) or not value:
            raise _fail(path, "a regular expression")
        try:
            re.compile(value)
        except re.error as exc:
            raise _fail(path, f"not a valid regular expression: {exc}") from None
        return value

    def string_map(self, value: Any, path: str, *, templates: bool) -> dict[str, str]:
        if not isinstance(value, Mapping):
            raise _fail(path, "a mapping of names to texts")
        out: dict[str, str] = {}
        for key, text in value.items():
            if not isinstance(key, str) or not key:
                raise _fail(path, "names must be texts")
            if isinstance(text, (int, float)) and not isinstance(text, bool):
                text = str(text)
            if not isinstance(text, str) or not text:
                raise _fail(f"{path}.{key}", "required: a text")
            out[key] = self.template(text, f"{path}.{key}") if templates else text
        return out

    def choices(self, value: Any, path: str) -> tuple[Choice, ...]:
        if not isinstance(value, list) or not value:
            raise _fail(path, "a non-empty list of choices")
        if len(value) > CHOICES_MAX:
            raise _fail(path, f"at most {CHOICES_MAX} choices (a WhatsApp list holds {CHOICES_MAX} rows)")
        out: list[Choice] = []
        seen: set[str] = set()
        for i, raw in enumerate(value):
            item = f"{path}[{i}]"
            if isinstance(raw, str):
                raw = {"id": raw, "title": raw}
            if not isinstance(raw, Mapping) or set(raw) - {"id", "title", "value"}:
                raise _fail(item, "a choice has id, title and an optional value")
            choice_id = self.string(raw.get("id"), f"{item}.id", limit=CHOICE_ID_MAX)
            if choice_id in seen:
                raise _fail(f"{item}.id", f"{choice_id!r} is used twice")
            seen.add(choice_id)
            title = self.texts(raw.get("title"), f"{item}.title")
            for lang, text in title.items():
                if len(text) > 24:  # a list row's title limit; buttons (20) fall back to a list when longer
                    raise _fail(f"{item}.title" if lang == "*" else f"{item}.title.{lang}", "at most 24 characters")
            raw_value = raw.get("value", choice_id)
            out.append(Choice(id=choice_id, title=title, value=str(raw_value)))
        return tuple(out)

    def validation(self, value: Any, path: str) -> Validation:
        if not isinstance(value, Mapping):
            raise _fail(path, "a mapping: regex, min_length, max_length, min, max")
        unknown = set(value) - {"regex", "min_length", "max_length", "min", "max"}
        if unknown:
            raise _fail(f"{path}.{sorted(map(str, unknown))[0]}", "unknown field")
        return Validation(
            regex=self.regex(value["regex"], f"{path}.regex") if value.get("regex") is not None else None,
            min_length=self.integer(value["min_length"], f"{path}.min_length", 0, TEXT_MAX)
            if value.get("min_length") is not None else None,
            max_length=self.integer(value["max_length"], f"{path}.max_length", 1, TEXT_MAX)
            if value.get("max_length") is not None else None,
            minimum=self.number(value["min"], f"{path}.min") if value.get("min") is not None else None,
            maximum=self.number(value["max"], f"{path}.max") if value.get("max") is not None else None,
        )

    def condition(self, raw: Any, path: str) -> Condition:
        if not isinstance(raw, Mapping):
            raise _fail(path, "a condition: one of equals, in, matches, present, lt, gt, and next")
        unknown = set(raw) - set(CONDITION_KEYS) - {"next"}
        if unknown:
            raise _fail(f"{path}.{sorted(map(str, unknown))[0]}", "unknown field")
        tests = [k for k in CONDITION_KEYS if k in raw]
        if len(tests) != 1:
            raise _fail(path, "exactly one of equals, in, matches, present, lt, gt")
        kw: dict[str, Any] = {"next": self.name(raw.get("next"), f"{path}.next")}
        test = tests[0]
        value = raw[test]
        if test == "in":
            if not isinstance(value, list) or not value:
                raise _fail(f"{path}.in", "a non-empty list")
            kw["one_of"] = tuple(value)
        elif test == "matches":
            kw["matches"] = self.regex(value, f"{path}.matches")
        elif test == "present":
            if not isinstance(value, bool):
                raise _fail(f"{path}.present", "true or false")
            kw["present"] = value
        elif test in ("lt", "gt"):
            kw[test] = self.number(value, f"{path}.{test}")
        else:
            if isinstance(value, (Mapping, list)):
                raise _fail(f"{path}.equals", "a single value")
            kw["equals"] = value
        return Condition(**kw)

    def references(self, steps: tuple[Step, ...]) -> None:
        index: dict[str, int] = {}
        for i, step in enumerate(steps):
            if step.id in index:
                raise _fail(f"steps[{i}].id", f"{step.id!r} is already the id of steps[{index[step.id]}]")
            index[step.id] = i
        for i, step in enumerate(steps):
            path = f"steps[{i}]"
            targets = [("next", step.next), ("on_fail", step.on_fail), ("yes", step.yes), ("no", step.no),
                       ("on_error", step.on_error), ("default", step.default)]
            targets += [(f"cases[{j}].next", c.next) for j, c in enumerate(step.cases)]
            for name, target in targets:
                if target is not None and target not in index:
                    raise _fail(f"{path}.{name}", f"no step has the id {target!r}")
            falls_through = step.kind in ("ask", "say", "call") or (step.kind == "branch" and step.default is None)
            if falls_through and step.next is None and i == len(steps) - 1:
                field_name = "default" if step.kind == "branch" else "next"
                raise _fail(f"{path}.{field_name}", "the last step must be an end step or say where to go next")

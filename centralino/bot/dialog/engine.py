"""The dialog engine: PURE (no I/O, no clock). The runtime feeds it the customer's turns and the results of the
service calls it asked for, stores the `DialogState` (JSON) between messages and sends what it says.

    start(flow, turn)            the flow's first steps for the turn that started it
    advance(flow, state, turn)   the customer answered (the step waiting is an ask or a confirm)
    resume(flow, state, result)  the service the last StepResult's `call` named has answered

A StepResult holds, in order: `says` to send now; then either `call` (run that service, then `resume`), or
`ending` (the dialog is over: send `ending.text` if any, then answer / open the case / hand off; `state` is the
final state, for the handoff summary), or `topic_change` (the customer confidently asked for something else:
the runtime drops this dialog and handles that intent; nothing was said), or nothing else (wait for the next
turn with `state`).

A Say with `document` carries a service's binary answer (a boarding pass): the runtime uploads it and sends it
as a document with `text` as caption. Texts are Jinja2 templates over the slots, rendered in a sandbox with
autoescape off: the output is a chat message (plain text), never HTML.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Protocol

from jinja2 import Template, TemplateError

from centralino.bot.actions.types import ServiceResult
from centralino.bot.dialog.flow import Condition, Flow, Step, Texts
from centralino.bot.templating import sandbox

MAX_STEPS_PER_TURN = 100  # a branch cycle without an ask in it: hand off instead of spinning
TEXT_MAX = 4096
HANDOFF_WORDS = frozenset({"operatore", "operatrice", "operator", "agent", "agente", "human", "umano", "persona"})
YES_WORDS = frozenset({"si", "sì", "sí", "s", "yes", "y", "ok", "okay", "certo", "confermo", "esatto", "giusto",
                       "va bene", "vabene", "yeah", "yep", "sure", "correct", "confirm", "👍"})
NO_WORDS = frozenset({"no", "n", "nope", "annulla", "negativo", "cancel", "sbagliato", "wrong", "non confermo",
                      "non va bene", "non ora", "not now", "no way", "👎"})
DEFAULT_TOPIC_THRESHOLD = 0.8

_UI = {
    "it": {"yes": "Sì", "no": "No", "choose": "Scegli", "again": "Non ho capito."},
    "en": {"yes": "Yes", "no": "No", "choose": "Choose", "again": "Sorry, I didn't get that."},
}


class EntityLike(Protocol):
    """bot/nlu/types.Entity (only what the engine reads)."""

    @property
    def kind(self) -> str: ...

    @property
    def value(self) -> str: ...


@dataclass(frozen=True)
class DialogState:
    flow: str
    step: str  # the step waiting for the customer (ask, confirm) or for a service (call)
    slots: Mapping[str, Any] = field(default_factory=dict)
    attempts: int = 0  # wrong answers to the waiting step
    language: str = "it"
    visits: Mapping[str, int] = field(default_factory=dict)  # step id -> times entered (loop guard)
    entities: Mapping[str, str] = field(default_factory=dict)  # kind -> latest value seen in the dialog
    result: Mapping[str, Any] | None = None  # the last service result: ok, status, error, data

    def to_json(self) -> dict[str, Any]:
        return {"flow": self.flow, "step": self.step, "slots": dict(self.slots), "attempts": self.attempts,
                "language": self.language, "visits": dict(self.visits), "entities": dict(self.entities),
                "result": dict(self.result) if self.result is not None else None}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DialogState:
        return cls(flow=str(data["flow"]), step=str(data["step"]), slots=dict(data.get("slots") or {}),
                   attempts=int(data.get("attempts") or 0), language=str(data.get("language") or "it"),
                   visits=dict(data.get("visits") or {}), entities=dict(data.get("entities") or {}),
                   result=dict(data["result"]) if data.get("result") is not None else None)


@dataclass(frozen=True)
class TurnInput:
    text: str
    reply_id: str | None = None  # the id of the button or list row the customer tapped
    entities: Sequence[EntityLike] = ()
    intent: str | None = None
    confidence: float = 0.0
    language: str = "it"
    threshold: float = DEFAULT_TOPIC_THRESHOLD  # `intent` at or above this is a topic change (its own threshold)


@dataclass(frozen=True)
class Say:
    text: str
    buttons: tuple[tuple[str, str], ...] = ()  # (id, title): reply buttons (<= 3)
    list_rows: tuple[tuple[str, str], ...] = ()  # (id, title): a list (<= 10)
    list_button: str | None = None  # the list's button label
    document: bytes | None = None
    content_type: str | None = None
    filename: str | None = None


@dataclass(frozen=True)
class CallService:
    service: str
    inputs: Mapping[str, str]


@dataclass(frozen=True)
class Ending:
    kind: str  # answer | open_case | handoff
    text: str | None = None
    case: Mapping[str, Any] | None = None  # open_case: {type, title, fields, slots}
    reason: str | None = None  # handoff: customer_asked | max_attempts | service_failed | loop | flow | …


@dataclass(frozen=True)
class StepResult:
    state: DialogState | None
    says: tuple[Say, ...] = ()
    call: CallService | None = None
    ending: Ending | None = None
    topic_change: str | None = None


# --- entry points -----------------------------------------------------------------------------------------------

def start(flow: Flow, turn: TurnInput) -> StepResult:
    state = DialogState(flow=flow.name, step=flow.steps[0].id, language=turn.language or flow.language,
                        entities=_entity_map({}, turn))
    if wants_human(turn.text):
        return _end(state, [], Ending("handoff", reason="customer_asked"))
    return _Run(flow, turn).go(state, flow.steps[0].id)


def advance(flow: Flow, state: DialogState, turn: TurnInput) -> StepResult:
    if state.flow != flow.name:
        raise ValueError(f"state of flow {state.flow!r} given to flow {flow.name!r}")
    state = replace(state, entities=_entity_map(state.entities, turn))
    try:
        step = flow.step(state.step)
    except KeyError:  # the flow was edited under a running dialog
        return _end(state, [], Ending("handoff", reason="flow_changed"))
    tapped = turn.reply_id is not None and any(c.id == turn.reply_id for c in step.choices)
    if not tapped and wants_human(turn.text):
        return _end(state, [], Ending("handoff", reason="customer_asked"))
    run = _Run(flow, turn)
    if step.kind == "ask":
        value = _answer(step, turn, state.language)
        if value is not None:
            assert step.slot is not None
            state = replace(state, slots={**state.slots, step.slot: value}, attempts=0)
            return run.go(state, flow.following(step.id))
        return run.wrong(state, step)
    if step.kind == "confirm":
        yes = _yes_no(turn)
        if yes is not None:
            slots = {**state.slots, step.slot: yes} if step.slot else state.slots
            state = replace(state, slots=slots, attempts=0)
            return run.go(state, step.yes if yes else step.no)
        return run.wrong(state, step)
    if step.kind == "call":  # still waiting for the service: ask for it again
        return StepResult(state=state, call=run.call(state, step))
    return run.go(state, step.id)


def resume(flow: Flow, state: DialogState, result: ServiceResult) -> StepResult:
    if state.flow != flow.name:
        raise ValueError(f"state of flow {state.flow!r} given to flow {flow.name!r}")
    try:
        step = flow.step(state.step)
    except KeyError:
        return _end(state, [], Ending("handoff", reason="flow_changed"))
    if step.kind != "call":
        raise ValueError(f"step {step.id!r} is not waiting for a service")
    data = dict(result.data)
    slots = dict(state.slots)
    if result.ok:
        if step.outputs:
            slots.update({slot: data[key] for slot, key in step.outputs.items() if key in data})
        else:
            slots.update(data)
    error = result.error
    ok = result.ok
    if ok and step.document is not None and result.document is None:
        ok, error = False, "the service answered without a document"
    state = replace(state, slots=slots, attempts=0,
                    result={"ok": ok, "status": result.status, "error": error, "data": data})
    run = _Run(flow, None)
    if not ok:
        if step.on_error:
            return run.go(state, step.on_error)
        return _end(state, [], Ending("handoff", reason="service_failed"))
    says: list[Say] = []
    if step.document is not None:
        caption = run.text(step.document, state)
        says.append(Say(text=caption, document=result.document, content_type=result.content_type,
                        filename=result.filename))
    return run.go(state, flow.following(step.id), says)


def wants_human(text: str) -> bool:
    """The customer asks for a person ("operatore", "agent", "human", …) anywhere in the message."""
    return any(word in HANDOFF_WORDS for word in _words(text))


# --- running steps ----------------------------------------------------------------------------------------------

class _Run:
    def __init__(self, flow: Flow, turn: TurnInput | None) -> None:
        self.flow = flow
        self.turn = turn  # may still fill slots of the steps entered now (entities said in the same message)

    def go(self, state: DialogState, step_id: str | None, says: list[Say] | None = None) -> StepResult:
        said = list(says or [])
        for _ in range(MAX_STEPS_PER_TURN):
            if step_id is None:  # ran off the end: load_flow forbids it, but never leave a dialog hanging
                return _end(state, said, Ending("handoff", reason="flow"))
            step = self.flow.step(step_id)
            visits = {**state.visits, step.id: state.visits.get(step.id, 0) + 1}
            state = replace(state, step=step.id, visits=visits)
            if visits[step.id] > self.flow.max_visits:
                return _end(state, said, Ending("handoff", reason="loop"))
            if step.kind == "ask":
                value = self.prefill(step, state)
                if value is not None:
                    assert step.slot is not None
                    state = replace(state, slots={**state.slots, step.slot: value}, attempts=0)
                    step_id = self.flow.following(step.id)
                    continue
                said.append(self.prompt(step, state))
                return StepResult(state=replace(state, attempts=0), says=tuple(said))
            if step.kind == "confirm":
                said.append(self.prompt(step, state))
                return StepResult(state=replace(state, attempts=0), says=tuple(said))
            if step.kind == "say":
                assert step.text is not None
                said.append(Say(self.text(step.text, state)))
                step_id = self.flow.following(step.id)
            elif step.kind == "call":
                return StepResult(state=state, says=tuple(said), call=self.call(state, step))
            elif step.kind == "branch":
                step_id = self.branch(step, state)
            else:
                return _end(state, said, self.ending(step, state))
        return _end(state, said, Ending("handoff", reason="loop"))

    def wrong(self, state: DialogState, step: Step) -> StepResult:
        """The answer did not fit the waiting step: a topic change, a re-prompt, or too many tries."""
        assert self.turn is not None
        topic = _topic_change(self.flow, self.turn)
        if topic is not None:
            return StepResult(state=state, topic_change=topic)
        attempts = state.attempts + 1
        if attempts >= step.max_attempts:
            state = replace(state, attempts=attempts)
            if step.on_fail:
                return self.go(replace(state, attempts=0), step.on_fail)
            return _end(state, [], Ending("handoff", reason="max_attempts"))
        state = replace(state, attempts=attempts)
        return StepResult(state=state, says=(self.prompt(step, state, again=True),))

    def prefill(self, step: Step, state: DialogState) -> Any:
        """A slot the message that led here already answers (an order number in "where is order 12345?").
        Only from an extracted entity: a regex would take any word of a message that answered something else
        ("boarding pass please" is not booking code "please")."""
        if self.turn is None or step.entity is None or step.entity == "text":
            return None
        if not any(e.kind == step.entity for e in self.turn.entities):
            return None
        return _answer(step, self.turn, state.language, whole_text=False)

    def prompt(self, step: Step, state: DialogState, *, again: bool = False) -> Say:
        lang = state.language
        ui = _UI.get(lang, _UI["en"])
        assert step.prompt is not None
        text = self.text(step.prompt, state)
        if again:
            text = self.text(step.reprompt, state) if step.reprompt else f"{ui['again']} {text}"
        if step.kind == "confirm":
            return Say(text, buttons=(("yes", ui["yes"]), ("no", ui["no"])))
        options = tuple((c.id, self.text(c.title, state)) for c in step.choices)
        if not options:
            return Say(text)
        if len(options) <= 3:
            return Say(text, buttons=options)
        return Say(text, list_rows=options, list_button=ui["choose"])

    def call(self, state: DialogState, step: Step) -> CallService:
        assert step.service is not None
        inputs = {name: _render(template, _context(state)) for name, template in step.inputs.items()}
        return CallService(service=step.service, inputs=inputs)

    def branch(self, step: Step, state: DialogState) -> str | None:
        assert step.on is not None
        value = _lookup(step.on, state)
        for cond in step.cases:
            if _holds(cond, value):
                return cond.next
        return step.default or self.flow.following(step.id)

    def ending(self, step: Step, state: DialogState) -> Ending:
        text = self.text(step.text, state) if step.text else None
        if step.answer is not None:
            return Ending("answer", text=self.text(step.answer, state))
        if step.open_case is not None:
            ctx = _context(state)
            case = {"type": step.open_case["type"], "title": self.text(step.open_case["title"], state),
                    "fields": {k: _render(v, ctx) for k, v in step.open_case.get("fields", {}).items()},
                    "slots": dict(state.slots)}
            return Ending("open_case", text=text, case=case)
        assert step.handoff is not None
        return Ending("handoff", text=text, reason=str(step.handoff.get("reason") or "flow"))

    def text(self, texts: Texts | None, state: DialogState) -> str:
        if not texts:
            return ""
        return _render(_pick(texts, state.language, self.flow.language), _context(state))


def _end(state: DialogState, said: list[Say], ending: Ending) -> StepResult:
    return StepResult(state=state, says=tuple(said), ending=ending)


# --- reading the customer ---------------------------------------------------------------------------------------

def _answer(step: Step, turn: TurnInput, language: str, *, whole_text: bool = True) -> Any:
    """The slot's value from this turn, validated; None when the turn does not answer the step."""
    value: str | None = None
    text = turn.text.strip()
    if step.choices:
        value = _choice(step, turn)
    else:
        if step.entity and step.entity != "text":
            value = next((str(e.value) for e in turn.entities if e.kind == step.entity), None)
        if value is None and step.regex:
            match = re.search(step.regex, text)
            if match:
                value = match.group(1) if match.groups() else match.group(0)
        if value is None and whole_text and (step.entity == "text" or (step.entity is None and step.regex is None)):
            value = text or None
    if value is None or not _valid(step, value):
        return None
    return value


def _choice(step: Step, turn: TurnInput) -> str | None:
    if turn.reply_id is not None:
        for choice in step.choices:
            if choice.id == turn.reply_id:
                return choice.value
    said = _normal(turn.text)
    if said.isdigit() and 1 <= int(said) <= len(step.choices):  # "2": the numbered options of plain text
        return step.choices[int(said) - 1].value
    named: list[str] = []
    for choice in step.choices:
        names = {_normal(choice.id), _normal(choice.value)} | {_normal(t) for t in choice.title.values()}
        if said in names:
            return choice.value
        if any(name and f" {name} " in f" {said} " for name in names):
            named.append(choice.value)
    # "di pomeriggio, grazie": the one choice whose title is said among other words
    return named[0] if len(named) == 1 else None


def _valid(step: Step, value: str) -> bool:
    rule = step.validation
    if rule is None:
        return True
    if rule.regex is not None and not re.fullmatch(rule.regex, value):
        return False
    if rule.min_length is not None and len(value) < rule.min_length:
        return False
    if rule.max_length is not None and len(value) > rule.max_length:
        return False
    if rule.minimum is not None or rule.maximum is not None:
        number = _number(value)
        if number is None:
            return False
        if rule.minimum is not None and number < rule.minimum:
            return False
        if rule.maximum is not None and number > rule.maximum:
            return False
    return True


def _yes_no(turn: TurnInput) -> bool | None:
    if turn.reply_id in ("yes", "no"):
        return turn.reply_id == "yes"
    said = _normal(turn.text)
    if said in ("1", "2"):  # the numbered options of plain text: 1. yes 2. no
        return said == "1"
    words = said.split()
    for candidate in (said, " ".join(words[:3]), " ".join(words[:2]), words[0] if words else ""):
        if candidate in YES_WORDS:
            return True
        if candidate in NO_WORDS:
            return False
    return None


def _topic_change(flow: Flow, turn: TurnInput) -> str | None:
    intent = turn.intent
    if intent is None or turn.confidence < turn.threshold or intent in flow.intents or intent == flow.name:
        return None
    return intent


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.casefold())


def _normal(text: str) -> str:
    """Lower case, punctuation dropped, spaces collapsed ("Sì!" -> "sì"); emoji kept."""
    kept = "".join(c if not unicodedata.category(c).startswith("P") else " " for c in text.casefold())
    return " ".join(kept.split())


def _entity_map(previous: Mapping[str, str], turn: TurnInput) -> dict[str, str]:
    seen = dict(previous)
    for entity in reversed(list(turn.entities)):  # the first mention in this turn wins
        seen[entity.kind] = str(entity.value)
    return seen


# --- values and texts -------------------------------------------------------------------------------------------

def _lookup(on: str, state: DialogState) -> Any:
    source, _, name = on.partition(".")
    if source == "slot":
        return state.slots.get(name)
    if source == "entity":
        return state.entities.get(name)
    result = state.result or {}
    if name in ("ok", "status", "error"):
        return result.get(name)
    return (result.get("data") or {}).get(name)


def _holds(cond: Condition, value: Any) -> bool:
    if cond.present is not None:
        return (value is not None and _plain(value) != "") == cond.present
    if cond.one_of is not None:
        return _plain(value) in {_plain(v) for v in cond.one_of}
    if cond.matches is not None:
        return value is not None and re.search(cond.matches, str(value)) is not None
    if cond.lt is not None or cond.gt is not None:
        number = _number(value) if value is not None else None
        if number is None:
            return False
        return number < cond.lt if cond.lt is not None else number > (cond.gt or 0.0)
    return _plain(value) == _plain(cond.equals)


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip().casefold()


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    match = re.search(r"-?\d+(?:[.,]\d+)?", str(value))
    return float(match.group(0).replace(",", ".")) if match else None


def _pick(texts: Texts, language: str, fallback: str) -> str:
    for key in (language, "*", fallback):
        if key in texts:
            return texts[key]
    return next(iter(texts.values()))


def _context(state: DialogState) -> dict[str, Any]:
    return {**state.slots, "language": state.language, "entities": dict(state.entities)}


_env = sandbox()  # chat text, never HTML: the channel sends it as plain text


@lru_cache(maxsize=512)
def _template(source: str) -> Template:
    return _env.from_string(source)


def _render(source: str, context: Mapping[str, Any]) -> str:
    try:
        text = _template(source).render(context)
    except (TemplateError, TypeError, ValueError, ArithmeticError):
        # a template that only fails on some values (the flow was checked when loaded): drop the placeholders
        # rather than show the customer "{{ … }}"
        text = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", "", source)
    return text.strip()[:TEXT_MAX]

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from centralino.bot.actions.types import ServiceResult
from centralino.bot.dialog.engine import (
    DialogState,
    StepResult,
    TurnInput,
    advance,
    resume,
    start,
    wants_human,
)
from centralino.bot.dialog.flow import Flow, load_flow

FLOW = """
name: delivery
intents: [delivery]
steps:
  - id: ask_order
    kind: ask
    slot: order_number
    entity: order_number
    regex: '\\b(\\d+)\\b'
    validation: {regex: '\\d{6}'}
    prompt: {it: "Numero d'ordine?", en: "Order number?"}
    reprompt: {it: "Sono 6 cifre. Numero d'ordine?", en: "Six digits please. Order number?"}
    max_attempts: 2
  - id: lookup
    kind: call
    service: orders
    inputs: {number: "{{ order_number }}"}
    outputs: {state: status}
    on_error: failed
  - id: route
    kind: branch
    on: slot.state
    cases:
      - {equals: delivered, next: delivered}
    default: ask_when
  - id: delivered
    kind: end
    answer: {it: "Consegnato!", en: "Delivered!"}
  - id: ask_when
    kind: ask
    slot: when
    choices:
      - {id: morning, title: {it: Mattina, en: Morning}}
      - {id: afternoon, title: {it: Pomeriggio, en: Afternoon}}
    prompt: {it: "Quando?", en: "When?"}
  - id: confirm
    kind: confirm
    slot: agreed
    prompt: {it: "Confermi {{ when }} per {{ order_number }}?", en: "Confirm {{ when }} for {{ order_number }}?"}
    yes: booked
    no: not_booked
  - id: booked
    kind: end
    open_case: {type: delivery_change, title: "Ordine {{ order_number }}: {{ when }}", fields: {slot: "{{ when }}"}}
    text: {it: "Pratica aperta.", en: "Case opened."}
  - id: not_booked
    kind: end
    answer: {it: "Ok, non cambio nulla.", en: "Ok, nothing changes."}
  - id: failed
    kind: end
    handoff: {reason: service_down}
"""


@dataclass(frozen=True)
class Ent:
    kind: str
    value: str


@pytest.fixture
def flow() -> Flow:
    return load_flow(FLOW)


def turn(text: str, **kw: object) -> TurnInput:
    return TurnInput(text=text, **kw)  # type: ignore[arg-type]


def _texts(result: StepResult) -> list[str]:
    return [say.text for say in result.says]


def _to_confirm(flow: Flow, language: str = "it") -> DialogState:
    result = start(flow, turn("123456", language=language, entities=[Ent("order_number", "123456")]))
    assert result.call is not None
    result = resume(flow, result.state, ServiceResult(ok=True, data={"status": "shipped"}))  # type: ignore[arg-type]
    assert result.state is not None and result.state.step == "ask_when"
    result = advance(flow, result.state, turn("", reply_id="afternoon"))
    assert result.state is not None and result.state.step == "confirm"
    return result.state


def test_slot_filling_with_a_reprompt_then_a_service_call_a_choice_and_a_confirmed_case(flow: Flow) -> None:
    first = start(flow, turn("voglio cambiare la consegna", intent="delivery", confidence=0.95))
    assert _texts(first) == ["Numero d'ordine?"] and first.call is None and first.ending is None
    assert first.state is not None and first.state.step == "ask_order"

    wrong = advance(flow, first.state, turn("è il 12"))  # found by the regex, refused by the validation
    assert _texts(wrong) == ["Sono 6 cifre. Numero d'ordine?"]
    assert wrong.state is not None and wrong.state.attempts == 1 and "order_number" not in wrong.state.slots

    asked = advance(flow, wrong.state, turn("ordine 654321", entities=[Ent("order_number", "654321")]))
    assert asked.call is not None and asked.call.service == "orders" and asked.call.inputs == {"number": "654321"}
    assert asked.says == () and asked.state is not None and asked.state.attempts == 0

    answered = resume(flow, asked.state, ServiceResult(ok=True, status=200, data={"status": "shipped", "x": 1}))
    assert answered.state is not None
    assert answered.state.slots == {"order_number": "654321", "state": "shipped"}  # only the mapped output
    assert [(s.text, s.buttons) for s in answered.says] == [
        ("Quando?", (("morning", "Mattina"), ("afternoon", "Pomeriggio")))]

    picked = advance(flow, answered.state, turn("Pomeriggio"))  # the title typed, not tapped
    assert picked.state is not None and picked.state.slots["when"] == "afternoon"
    assert [(s.text, s.buttons) for s in picked.says] == [
        ("Confermi afternoon per 654321?", (("yes", "Sì"), ("no", "No")))]

    done = advance(flow, picked.state, turn("Sì!"))
    assert done.ending is not None and done.ending.kind == "open_case"
    assert done.ending.text == "Pratica aperta."
    assert done.ending.case == {"type": "delivery_change", "title": "Ordine 654321: afternoon",
                                "fields": {"slot": "afternoon"},
                                "slots": {"order_number": "654321", "state": "shipped", "when": "afternoon",
                                          "agreed": True}}


def test_too_many_wrong_answers_hand_off(flow: Flow) -> None:
    result = start(flow, turn("ciao"))
    result = advance(flow, result.state, turn("non lo so"))  # type: ignore[arg-type]
    assert result.ending is None and result.state is not None and result.state.attempts == 1
    result = advance(flow, result.state, turn("boh"))
    assert result.ending is not None and result.ending.kind == "handoff" and result.ending.reason == "max_attempts"
    assert result.says == ()


def test_on_fail_goes_to_its_step_instead_of_handing_off() -> None:
    flow = load_flow("""
name: f
steps:
  - {id: a, kind: ask, slot: n, entity: number, prompt: "Quanti?", max_attempts: 1, on_fail: giveup}
  - {id: ok, kind: end, answer: "{{ n }}"}
  - {id: giveup, kind: end, answer: "Pazienza."}
""")
    result = advance(flow, start(flow, turn("ciao")).state, turn("tanti"))  # type: ignore[arg-type]
    assert result.ending is not None and result.ending.kind == "answer" and result.ending.text == "Pazienza."


def test_an_entity_in_the_first_message_fills_the_slot_without_asking(flow: Flow) -> None:
    result = start(flow, turn("dov'è l'ordine 777777?", entities=[Ent("order_number", "777777")], language="en"))
    assert result.says == () and result.call is not None and result.call.inputs == {"number": "777777"}
    delivered = resume(flow, result.state, ServiceResult(ok=True, data={"status": "delivered"}))  # type: ignore[arg-type]
    assert delivered.ending is not None and delivered.ending.kind == "answer" and delivered.ending.text == "Delivered!"


def test_an_invalid_entity_in_the_first_message_is_asked_for(flow: Flow) -> None:
    result = start(flow, turn("ordine 12", entities=[Ent("order_number", "12")]))
    assert _texts(result) == ["Numero d'ordine?"] and result.call is None


@pytest.mark.parametrize(("answer", "reply_id", "expected"), [
    ("sì", None, "booked"), ("Si, grazie", None, "booked"), ("yes", None, "booked"), ("ok", None, "booked"),
    ("1", None, "booked"), ("", "yes", "booked"),
    ("no", None, "not_booked"), ("No grazie.", None, "not_booked"), ("2", None, "not_booked"),
    ("", "no", "not_booked"), ("nope", None, "not_booked"), ("non va bene, grazie", None, "not_booked"),
    ("Non confermo", None, "not_booked"), ("va bene", None, "booked"),
])
def test_confirm_understands_yes_and_no(flow: Flow, answer: str, reply_id: str | None, expected: str) -> None:
    result = advance(flow, _to_confirm(flow), turn(answer, reply_id=reply_id))
    assert result.ending is not None
    assert result.ending.kind == ("open_case" if expected == "booked" else "answer")
    assert result.state is not None and result.state.slots["agreed"] is (expected == "booked")


def test_confirm_reprompts_an_unclear_answer_with_the_buttons_again(flow: Flow) -> None:
    assert advance(flow, _to_confirm(flow), turn("non lo so")).says[0].text.startswith("Non ho capito.")
    result = advance(flow, _to_confirm(flow, "en"), turn("maybe later"))
    assert result.ending is None and [(s.text, s.buttons) for s in result.says] == [
        ("Sorry, I didn't get that. Confirm afternoon for 123456?", (("yes", "Yes"), ("no", "No")))]


@pytest.mark.parametrize("answer", [("", "morning"), ("1", None), ("mattina", None), ("Morning", None),
                                    ("di mattina, grazie", None)])
def test_a_choice_is_a_tap_a_number_or_its_title_in_any_language(flow: Flow, answer: tuple[str, str | None]) -> None:
    state = _to_confirm(flow)
    at_choice = DialogState.from_json({**state.to_json(), "step": "ask_when"})
    result = advance(flow, at_choice, turn(answer[0], reply_id=answer[1]))
    assert result.state is not None and result.state.slots["when"] == "morning"


@pytest.mark.parametrize("text", ["operatore", "Vorrei parlare con un OPERATORE per favore", "agent please",
                                  "I want a human", "una persona vera", "operator!"])
def test_asking_for_a_person_hands_off_at_any_step(flow: Flow, text: str) -> None:
    at_start = start(flow, turn(text))
    assert at_start.ending is not None and at_start.ending.reason == "customer_asked"
    asking = start(flow, turn("ciao")).state
    assert asking is not None
    in_ask = advance(flow, asking, turn(text))
    assert in_ask.ending is not None and in_ask.ending.kind == "handoff" and in_ask.ending.reason == "customer_asked"
    in_confirm = advance(flow, _to_confirm(flow), turn(text))
    assert in_confirm.ending is not None and in_confirm.ending.reason == "customer_asked"


def test_words_that_merely_contain_a_handoff_word_do_not_hand_off() -> None:
    assert not wants_human("agenda di domani")
    assert not wants_human("the agents' rules")
    assert wants_human("Operatore?")


def test_a_confident_other_intent_is_a_topic_change_and_changes_nothing(flow: Flow) -> None:
    state = start(flow, turn("ciao")).state
    assert state is not None
    result = advance(flow, state, turn("quanto costa la spedizione?", intent="shipping_cost", confidence=0.93))
    assert result.topic_change == "shipping_cost"
    assert result.says == () and result.ending is None and result.call is None
    assert result.state == state  # no wrong attempt counted


def test_no_topic_change_when_the_answer_fits_or_the_intent_is_unsure_or_the_same(flow: Flow) -> None:
    state = start(flow, turn("ciao")).state
    assert state is not None
    fits = advance(flow, state, turn("123456", intent="shipping_cost", confidence=0.99))
    assert fits.topic_change is None and fits.call is not None
    unsure = advance(flow, state, turn("spedizione?", intent="shipping_cost", confidence=0.5))
    assert unsure.topic_change is None and unsure.state is not None and unsure.state.attempts == 1
    same = advance(flow, state, turn("il mio ordine", intent="delivery", confidence=0.99))
    assert same.topic_change is None
    own_threshold = advance(flow, state, turn("spedizione?", intent="shipping_cost", confidence=0.6, threshold=0.55))
    assert own_threshold.topic_change == "shipping_cost"


def test_a_failed_service_goes_to_on_error_or_hands_off(flow: Flow) -> None:
    asked = start(flow, turn("123456", entities=[Ent("order_number", "123456")]))
    failed = resume(flow, asked.state, ServiceResult(ok=False, status=503, error="HTTP 503"))  # type: ignore[arg-type]
    assert failed.ending is not None and failed.ending.kind == "handoff" and failed.ending.reason == "service_down"
    assert failed.state is not None and failed.state.result == {"ok": False, "status": 503, "error": "HTTP 503",
                                                                "data": {}}
    bare = load_flow("name: f\nsteps:\n  - {id: c, kind: call, service: s}\n  - {id: e, kind: end, answer: x}\n")
    called = start(bare, turn("hi"))
    assert called.call is not None
    result = resume(bare, called.state, ServiceResult(ok=False, error="timeout"))  # type: ignore[arg-type]
    assert result.ending is not None and result.ending.reason == "service_failed"


def test_branch_on_the_service_result_and_a_loop_guard() -> None:
    flow = load_flow("""
name: lookup
max_visits: 2
steps:
  - {id: ask, kind: ask, slot: code, entity: text, prompt: "Codice?"}
  - {id: call, kind: call, service: s, inputs: {code: "{{ code }}"}, on_error: why}
  - {id: found, kind: end, answer: "Trovato {{ code }}"}
  - id: why
    kind: branch
    on: result.status
    cases:
      - {equals: 404, next: again}
      - {gt: 499, next: down}
  - {id: down, kind: end, handoff: {reason: down}}
  - {id: again, kind: say, text: "Non trovo {{ code }}.", next: ask}
""")
    state = start(flow, turn("ciao")).state
    called = advance(flow, state, turn("X1"))  # type: ignore[arg-type]
    missing = resume(flow, called.state, ServiceResult(ok=False, status=404))  # type: ignore[arg-type]
    assert _texts(missing) == ["Non trovo X1.", "Codice?"]
    called = advance(flow, missing.state, turn("X2"))  # type: ignore[arg-type]
    looped = resume(flow, called.state, ServiceResult(ok=False, status=404))  # type: ignore[arg-type]
    assert looped.ending is not None and looped.ending.reason == "loop"  # `ask` entered a third time
    assert _texts(looped) == ["Non trovo X2."]
    down = resume(flow, called.state, ServiceResult(ok=False, status=502))  # type: ignore[arg-type]
    assert down.ending is not None and down.ending.reason == "down"


def test_a_document_is_said_with_its_caption() -> None:
    flow = load_flow("""
name: bp
steps:
  - {id: get, kind: call, service: bp, document: {it: "Ecco la carta {{ code }}", en: "Here it is"}}
  - {id: bye, kind: end, answer: "Buon viaggio"}
""")
    called = start(flow, turn("carta d'imbarco"))
    pdf = ServiceResult(ok=True, status=200, data={"code": "ABC123"}, document=b"%PDF-1.4 ...",
                        content_type="application/pdf", filename="bp.pdf")
    result = resume(flow, called.state, pdf)  # type: ignore[arg-type]
    assert [(s.text, s.document, s.filename, s.content_type) for s in result.says] == [
        ("Ecco la carta ABC123", b"%PDF-1.4 ...", "bp.pdf", "application/pdf")]
    assert result.ending is not None and result.ending.text == "Buon viaggio"
    no_document = resume(flow, called.state, ServiceResult(ok=True, status=200))  # type: ignore[arg-type]
    assert no_document.ending is not None and no_document.ending.reason == "service_failed"


def test_an_answer_naming_two_choices_is_asked_again(flow: Flow) -> None:
    at_choice = DialogState.from_json({**_to_confirm(flow).to_json(), "step": "ask_when"})
    result = advance(flow, at_choice, turn("mattina o pomeriggio"))
    assert result.state is not None and result.state.step == "ask_when" and result.state.attempts == 1
    assert result.says[0].text == "Non ho capito. Quando?"


def test_more_than_three_choices_are_a_list() -> None:
    flow = load_flow("""
name: pick
steps:
  - {id: a, kind: ask, slot: c, prompt: {it: "Quale?", en: "Which?"}, choices: [uno, due, tre, quattro]}
  - {id: e, kind: end, answer: "{{ c }}"}
""")
    said = start(flow, turn("hi", language="en")).says[0]
    assert said.buttons == () and said.list_button == "Choose"
    assert said.list_rows == (("uno", "uno"), ("due", "due"), ("tre", "tre"), ("quattro", "quattro"))
    result = advance(flow, start(flow, turn("hi")).state, turn("4"))  # type: ignore[arg-type]
    assert result.ending is not None and result.ending.text == "quattro"


def test_customer_text_is_never_a_template_and_flow_templates_are_sandboxed() -> None:
    flow = load_flow("""
name: echo
steps:
  - {id: a, kind: ask, slot: name, prompt: "Nome?"}
  - {id: b, kind: say, text: "Ciao {{ name }}!"}
  - {id: c, kind: say, text: "Classi: {{ ''.__class__.__mro__[1].__subclasses__() }}"}
  - {id: e, kind: end, answer: "Fine {{ name | upper }}"}
""")
    result = advance(flow, start(flow, turn("x")).state, turn("<b>{{ 7*7 }}</b>"))  # type: ignore[arg-type]
    # plain text: neither escaped nor evaluated; the sandbox refuses the attribute walk (placeholder dropped)
    assert _texts(result) == ["Ciao <b>{{ 7*7 }}</b>!", "Classi:"]
    assert result.ending is not None and result.ending.text == "Fine <B>{{ 7*7 }}</B>"


def test_the_state_survives_json(flow: Flow) -> None:
    state = _to_confirm(flow)
    again = DialogState.from_json(json.loads(json.dumps(state.to_json())))
    assert again == state
    result = advance(flow, again, turn("no"))
    assert result.ending is not None and result.ending.text == "Ok, non cambio nulla."


def test_a_step_removed_from_the_flow_hands_off(flow: Flow) -> None:
    state = DialogState(flow="delivery", step="gone")
    result = advance(flow, state, turn("123456"))
    assert result.ending is not None and result.ending.reason == "flow_changed"

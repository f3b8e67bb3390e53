from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from centralino.bot.dialog.flow import flow_to_dict, load_flow
from centralino.errors import InvalidInput

DEMO = Path(__file__).resolve().parents[3] / "centralino" / "bot" / "demo"

GOOD = """
name: sample
intents: [order_status]
steps:
  - id: ask_number
    kind: ask
    slot: order_number
    entity: order_number
    prompt: {it: "Numero?", en: "Number?"}
  - id: check
    kind: branch
    on: slot.order_number
    cases:
      - {matches: '^9', next: nope}
    default: ok
  - id: ok
    kind: end
    answer: "Ok {{ order_number }}"
  - id: nope
    kind: end
    handoff: {reason: odd}
"""


def _error(source: str | dict[str, Any]) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        load_flow(source)
    return caught.value


def _with_step(step: str) -> str:
    return "name: f\nsteps:\n" + step + "\n  - {id: last, kind: end, answer: bye}\n"


def test_a_good_flow_loads_and_round_trips_through_its_json_form() -> None:
    flow = load_flow(GOOD)
    assert [s.kind for s in flow.steps] == ["ask", "branch", "end", "end"]
    assert flow.steps[1].on == "slot.order_number"  # `on:` is not YAML 1.1's boolean here
    assert load_flow(flow_to_dict(flow)) == flow


def test_every_demo_flow_is_valid_and_round_trips() -> None:
    flows = [load_flow(path.read_text(encoding="utf-8")) for path in sorted(DEMO.glob("*.yaml"))]
    assert [f.name for f in flows] == ["boarding_pass", "change_delivery_date", "order_status"]
    for flow in flows:
        assert load_flow(json.loads(json.dumps(flow_to_dict(flow)))) == flow


def test_a_confirm_keeps_its_attempts_through_the_json_form() -> None:
    flow = load_flow("name: f\nsteps:\n  - {id: c, kind: confirm, prompt: '?', yes: e, no: e, max_attempts: 1}\n"
                     "  - {id: e, kind: end, handoff: true}\n")
    assert load_flow(flow_to_dict(flow)).steps[0].max_attempts == 1


@pytest.mark.parametrize(("source", "field"), [
    ("name: f\nsteps: []", "steps"),
    ("name: Bad Name\nsteps: [{id: a, kind: end, answer: x}]", "name"),
    ("steps: [{id: a, kind: end, answer: x}]\nname: f\nextra: 1", "extra"),
    (_with_step("  - {id: a, kind: ask, prompt: x}"), "steps[0].slot"),
    (_with_step("  - {id: a, kind: ask, slot: s}"), "steps[0].prompt"),
    (_with_step("  - {id: a, kind: ask, slot: s, prompt: x, entity: shoe_size}"), "steps[0].entity"),
    (_with_step("  - {id: a, kind: ask, slot: s, prompt: x, regex: '('}"), "steps[0].regex"),
    (_with_step("  - {id: a, kind: ask, slot: s, prompt: {it: 'Ciao {{ x'}}"), "steps[0].prompt.it"),
    (_with_step("  - {id: a, kind: ask, slot: s, prompt: x, max_attempts: 0}"), "steps[0].max_attempts"),
    (_with_step("  - {id: a, kind: ask, slot: s, prompt: x, choices: [{id: a, title: "
                "'a title much longer than twenty-four'}]}"), "steps[0].choices[0].title"),
    (_with_step("  - {id: a, kind: ask, slot: s, prompt: x, choices: [a, a]}"), "steps[0].choices[1].id"),
    (_with_step("  - {id: a, kind: ask, slot: s, prompt: x, choices: [a,b,c,d,e,f,g,h,i,j,k]}"),
     "steps[0].choices"),
    (_with_step("  - {id: a, kind: ask, slot: s, prompt: x, validation: {min_len: 3}}"),
     "steps[0].validation.min_len"),
    (_with_step("  - {id: a, kind: say, text: x, next: nowhere}"), "steps[0].next"),
    (_with_step("  - {id: a, kind: say, text: x, slot: s}"), "steps[0].slot"),
    (_with_step("  - {id: a, kind: dance}"), "steps[0].kind"),
    (_with_step("  - {id: a, kind: confirm, prompt: 'ok?', yes: last}"), "steps[0].no"),
    (_with_step("  - {id: a, kind: call, service: s, on_error: gone}"), "steps[0].on_error"),
    (_with_step("  - {id: a, kind: branch, on: weather, cases: [{equals: 1, next: last}]}"), "steps[0].on"),
    (_with_step("  - {id: a, kind: branch, on: slot.x, cases: [{equals: 1, lt: 2, next: last}]}"),
     "steps[0].cases[0]"),
    (_with_step("  - {id: a, kind: branch, on: slot.x, cases: [{equals: 1, next: nope}]}"),
     "steps[0].cases[0].next"),
    (_with_step("  - {id: a, kind: end, answer: x, handoff: {reason: r}}"), "steps[0]"),
    (_with_step("  - {id: a, kind: end, open_case: {type: t}}"), "steps[0].open_case.title"),
    (_with_step("  - {id: last, kind: say, text: x}"), "steps[1].id"),
    ("name: f\nsteps:\n  - {id: a, kind: say, text: x}", "steps[0].next"),
    ("name: f\nsteps: [{id: a, kind: end, answer: x}\n", "source"),
])
def test_errors_name_the_field(source: str, field: str) -> None:
    error = _error(source)
    assert error.field == field
    assert error.message.startswith(field)
    assert error.status == 400


def test_a_mapping_is_checked_like_yaml_text() -> None:
    error = _error({"name": "f", "steps": [{"id": "a", "kind": "ask", "slot": "s", "prompt": {"it": ""}},
                                           {"id": "b", "kind": "end", "answer": "x"}]})
    assert error.field == "steps[0].prompt.it"

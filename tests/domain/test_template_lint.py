"""The local template linter: every rule with a template that passes and one that fails it."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from centralino.domain.template_lint import LintProblem, lint

T = dict[str, Any]


def utility() -> T:
    return {
        "name": "order_shipped", "language": "it", "category": "UTILITY",
        "components": [
            {"type": "HEADER", "format": "TEXT", "text": "Ordine {{1}}", "example": {"header_text": ["A-1"]}},
            {"type": "BODY", "text": "Ciao {{1}}, il tuo ordine {{2}} è stato spedito oggi.",
             "example": {"body_text": [["Anna", "A-1"]]}},
            {"type": "FOOTER", "text": "Negozio Rossi"},
            {"type": "BUTTONS", "buttons": [
                {"type": "URL", "text": "Traccia", "url": "https://shop.example/t/{{1}}",
                 "example": ["https://shop.example/t/A-1"]},
                {"type": "PHONE_NUMBER", "text": "Chiamaci", "phone_number": "+390212345678"}]},
        ],
    }


def named() -> T:
    return {
        "name": "welcome_named", "language": "en_US", "category": "marketing", "parameter_format": "named",
        "components": [
            {"type": "BODY", "text": "Hello {{first_name}}, your points balance is {{points}} today.",
             "example": {"body_text_named_params": [{"param_name": "first_name", "example": "Ann"},
                                                    {"param_name": "points", "example": "120"}]}},
            {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Stop promotions"},
                                            {"type": "COPY_CODE", "example": "SAVE10"}]},
        ],
    }


def document() -> T:
    return {
        "name": "boarding_pass", "language": "en", "category": "utility",
        "components": [
            {"type": "HEADER", "format": "DOCUMENT", "example": {"header_handle": ["4::aW1hZ2U="]}},
            {"type": "BODY", "text": "Here is your boarding pass for flight {{1}}, have a good trip.",
             "example": {"body_text": [["AZ610"]]}},
        ],
    }


def authentication() -> T:
    return {
        "name": "login_code", "language": "en_US", "category": "AUTHENTICATION",
        "components": [
            {"type": "BODY", "add_security_recommendation": True},
            {"type": "FOOTER", "code_expiration_minutes": 10},
            {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE", "text": "Copy code"}]},
        ],
    }


@pytest.mark.parametrize("good", [utility, named, document, authentication])
def test_good_templates_have_no_problems(good: Callable[[], T]) -> None:
    assert lint(good()) == []


def _set(path: list[Any], value: Any) -> Callable[[T], None]:
    def change(t: T) -> None:
        target: Any = t
        for key in path[:-1]:
            target = target[key]
        if value is _DELETE:
            del target[path[-1]]
        else:
            target[path[-1]] = value
    return change


_DELETE = object()
BODY = ["components", 1, "text"]
BODY_EX = ["components", 1, "example", "body_text"]
BUTTONS = ["components", 3, "buttons"]
URL_BTN = {"type": "URL", "text": "Open", "url": "https://a.example/{{1}}", "example": ["https://a.example/x"]}
QR = {"type": "QUICK_REPLY", "text": "Yes"}


def _body(text: str, examples: list[str]) -> Callable[[T], None]:
    def change(t: T) -> None:
        t["components"][1]["text"] = text
        t["components"][1]["example"] = {"body_text": [examples]}
    return change


# (base, change, expected code, expected field)
BAD: list[tuple[Callable[[], T], Callable[[T], None], str, str]] = [
    (utility, _set(["name"], "Order-Shipped"), "name.format", "name"),
    (utility, _set(["name"], "a" * 513), "name.too_long", "name"),
    (utility, _set(["name"], ""), "name.required", "name"),
    (utility, _set(["language"], "italian"), "language.unknown", "language"),
    (utility, _set(["language"], _DELETE), "language.required", "language"),
    (utility, _set(["category"], "PROMOTIONS"), "category.unknown", "category"),
    (utility, _set(["parameter_format"], "numbers"), "parameter_format.unknown", "parameter_format"),
    (utility, _set(["components"], []), "components.required", "components"),
    (utility, _set(["components", 2, "type"], "SIGNATURE"), "component.type_unknown", "components[2].type"),
    (utility, _set(["components", 2], {"type": "BODY", "text": "again and again"}), "component.duplicate",
     "components[2].type"),
    (document, _set(["components"], [{"type": "FOOTER", "text": "x"}]), "body.required", "components"),
    # header
    (utility, _set(["components", 0, "format"], "AUDIO"), "header.format_unknown", "components[0].format"),
    (utility, _set(["components", 0, "text"], "x" * 61), "header.too_long", "components[0].text"),
    (utility, _set(["components", 0, "text"], "Ordine {{1}} di {{2}}"), "header.too_many_variables",
     "components[0].text"),
    (utility, _set(["components", 0, "example"], _DELETE), "header.examples_missing",
     "components[0].example.header_text"),
    (utility, _set(["components", 0, "example"], {"header_text": ["a", "b"]}), "header.examples_count",
     "components[0].example.header_text"),
    (utility, _set(["components", 0, "text"], " "), "header.text_required", "components[0].text"),
    (document, _set(["components", 0, "example"], _DELETE), "header.media_example_missing",
     "components[0].example.header_handle"),
    # body
    (utility, _body("Ciao " + "parola " * 200 + "{{1}} e {{2}} fine.", ["a", "b"]), "body.too_long",
     "components[1].text"),
    (utility, _body("Ciao {{1}}, il tuo ordine {{3}} è in viaggio oggi.", ["a", "b"]),
     "body.variables_not_contiguous", "components[1].text"),
    (utility, _body("Ciao {{2}}, il tuo ordine {{1}} è in viaggio oggi.", ["a", "b"]),
     "body.variables_out_of_order", "components[1].text"),
    (utility, _body("{{1}}, il tuo ordine {{2}} è in viaggio oggi.", ["a", "b"]), "body.variable_at_start",
     "components[1].text"),
    (utility, _body("Ciao cara cliente, il tuo ordine in viaggio è {{1}} e arriva {{2}}.", ["a", "b"]),
     "body.variable_at_end", "components[1].text"),
    (utility, _body("Ciao cara cliente, il tuo ordine {{1}} {{2}} è in viaggio oggi.", ["a", "b"]),
     "body.adjacent_variables", "components[1].text"),
    (utility, _body("Ciao {{1}}, ordine {{order}} in viaggio da oggi.", ["a", "b"]), "body.mixed_variables",
     "components[1].text"),
    (utility, _body("Ciao {{nome}}, ordine {{order}} in viaggio da oggi.", ["a", "b"]),
     "body.named_variables_not_declared", "components[1].text"),
    (utility, _body("Ciao {{Nome-Cliente}}, il tuo ordine è in viaggio.", ["a"]), "body.variable_format",
     "components[1].text"),
    (utility, _body("Ciao {{1}, il tuo ordine è in viaggio da oggi.", []), "body.braces", "components[1].text"),
    (utility, _body("Ciao {{1}}, il tuo ordine {{2}} è spedito.", ["a"]), "body.examples_count",
     "components[1].example.body_text"),
    (utility, _set(["components", 1, "example"], _DELETE), "body.examples_missing",
     "components[1].example.body_text"),
    (utility, _body("Ciao {{1}} e {{2}} e {{3}} ok.", ["a", "b", "c"]), "body.too_many_variables",
     "components[1].text"),
    (utility, _set(BODY, _DELETE), "body.text_required", "components[1].text"),
    (utility, _body("Ciao {{1}}, oggi 20% off su tutto e il tuo ordine {{2}} parte.", ["a", "b"]),
     "utility.promotional_wording", "components[1].text"),
    (named, _set(["components", 0, "text"], "Hello {{1}}, your points balance is {{2}} today."),
     "body.positional_in_named", "components[0].text"),
    (named, _set(["components", 0, "example", "body_text_named_params"],
                 [{"param_name": "first_name", "example": "Ann"}]), "body.examples_count",
     "components[0].example.body_text_named_params"),
    (named, _set(["components", 0, "example"], {}), "body.examples_missing",
     "components[0].example.body_text_named_params"),
    # footer
    (utility, _set(["components", 2, "text"], "x" * 61), "footer.too_long", "components[2].text"),
    (utility, _set(["components", 2, "text"], "Ciao {{1}}"), "footer.variables", "components[2].text"),
    # buttons
    (utility, _set(BUTTONS, [dict(QR, text=f"R{i}") for i in range(11)]), "buttons.too_many",
     "components[3].buttons"),
    (utility, _set(BUTTONS, [URL_BTN, URL_BTN, URL_BTN]), "buttons.too_many_url", "components[3].buttons"),
    (utility, _set(BUTTONS, [{"type": "PHONE_NUMBER", "text": "A", "phone_number": "+3902123456"}] * 2),
     "buttons.too_many_phone_number", "components[3].buttons"),
    (named, _set(["components", 1, "buttons"], [{"type": "COPY_CODE", "example": "A"}] * 2),
     "buttons.too_many_copy_code", "components[1].buttons"),
    (utility, _set(BUTTONS, [QR, URL_BTN, dict(QR, text="No")]), "buttons.quick_replies_not_grouped",
     "components[3].buttons"),
    (utility, _set(BUTTONS, []), "buttons.required", "components[3].buttons"),
    (utility, _set(BUTTONS, [{"type": "SMOKE_SIGNAL", "text": "x"}]), "button.type_unknown",
     "components[3].buttons[0].type"),
    (utility, _set(BUTTONS, [{"type": "QUICK_REPLY"}]), "button.text_required", "components[3].buttons[0].text"),
    (utility, _set(BUTTONS, [dict(QR, text="x" * 26)]), "button.text_too_long", "components[3].buttons[0].text"),
    (utility, _set(BUTTONS, [dict(URL_BTN, url="https://a.example/{{1}}/{{2}}")]), "button.url_too_many_variables",
     "components[3].buttons[0].url"),
    (utility, _set(BUTTONS, [dict(URL_BTN, url="https://a.example/{{1}}/track")]), "button.url_variable_position",
     "components[3].buttons[0].url"),
    (utility, _set(BUTTONS, [{k: v for k, v in URL_BTN.items() if k != "example"}]), "button.url_example_missing",
     "components[3].buttons[0].example"),
    (utility, _set(BUTTONS, [dict(URL_BTN, url="shop.example")]), "button.url_required",
     "components[3].buttons[0].url"),
    (utility, _set(BUTTONS, [{"type": "PHONE_NUMBER", "text": "Call"}]), "button.phone_number",
     "components[3].buttons[0].phone_number"),
    (utility, _set(BUTTONS, [{"type": "OTP", "otp_type": "COPY_CODE"}]), "button.otp_outside_authentication",
     "components[3].buttons[0].type"),
    (utility, _set(BUTTONS, [{"type": "COPY_CODE", "example": "SAVE"}]), "button.copy_code_not_marketing",
     "components[3].buttons[0].type"),
    (named, _set(["components", 1, "buttons", 1, "example"], "X" * 16), "button.copy_code_example",
     "components[1].buttons[1].example"),
    # authentication
    (authentication, _set(["components", 0, "text"], "Your code is {{1}} ok."), "authentication.custom_body",
     "components[0].text"),
    (authentication, _set(["components", 0, "add_security_recommendation"], "yes"),
     "authentication.security_recommendation", "components[0].add_security_recommendation"),
    (authentication, _set(["components", 1, "code_expiration_minutes"], 120), "authentication.code_expiration",
     "components[1].code_expiration_minutes"),
    (authentication, _set(["components", 1, "text"], "Thanks"), "authentication.custom_footer",
     "components[1].text"),
    (authentication, _set(["components", 2, "buttons"], [QR]), "authentication.otp_button_required", "components"),
    (authentication, _set(["components", 2, "buttons"], [{"type": "OTP", "otp_type": "COPY_CODE"}, QR]),
     "authentication.other_buttons", "components[2].buttons"),
    (authentication, _set(["components", 2, "buttons", 0, "otp_type"], "SMS"), "button.otp_type",
     "components[2].buttons[0].otp_type"),
    (authentication, _set(["components", 2, "buttons", 0, "otp_type"], "ONE_TAP"), "button.otp_app_missing",
     "components[2].buttons[0].supported_apps"),
    (authentication, lambda t: t["components"].insert(0, {"type": "HEADER", "format": "TEXT", "text": "Code"}),
     "authentication.header_not_allowed", "components[0]"),
]


@pytest.mark.parametrize(("base", "change", "code", "field"), BAD, ids=[b[2] for b in BAD])
def test_each_rule_names_its_problem(base: Callable[[], T], change: Callable[[T], None], code: str,
                                     field: str) -> None:
    template = copy.deepcopy(base())
    change(template)
    problems = lint(template)
    assert LintProblem in {type(p) for p in problems}
    matching = [p for p in problems if p.code == code]
    assert matching, f"expected {code}, got {[p.code for p in problems]}"
    assert matching[0].field == field
    assert len(matching[0].message) > 20


def test_every_problem_is_reported_not_just_the_first() -> None:
    template = utility()
    template["name"] = "Bad Name"
    template["components"][2]["text"] = "{{1}}"
    codes = {p.code for p in lint(template)}
    assert {"name.format", "footer.variables"} <= codes


def test_the_rules_are_the_ones_the_simulator_enforces() -> None:
    """What our linter passes, Meta's stand-in accepts; what it rejects for format, the simulator rejects too."""
    from centralino.simulator.errors import GraphError
    from centralino.simulator.template_rules import review, validate_create

    for good in (utility, document):  # (the simulator still wants a label on a copy-code button)
        assert review(validate_create(good())).status == "APPROVED"
    bad = utility()
    bad["components"][1]["text"] = "Ciao {{1}}, il tuo ordine {{3}} è stato spedito."
    assert lint(bad)
    with pytest.raises(GraphError):
        validate_create(bad)

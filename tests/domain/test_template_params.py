"""Send parameters against a stored template: Meta's components, the preview, and every refusal naming its field."""

from __future__ import annotations

from typing import Any

import pytest

from centralino.domain.media_rules import MediaKind
from centralino.domain.outbound import Media
from centralino.domain.template_params import parse, render
from centralino.errors import InvalidInput

SHIPPED = [
    {"type": "HEADER", "format": "TEXT", "text": "Ordine {{1}}", "example": {"header_text": ["A-1"]}},
    {"type": "BODY", "text": "Ciao {{1}}, il tuo ordine di {{2}} arriva il {{3}}.",
     "example": {"body_text": [["Anna", "€ 10", "lunedì"]]}},
    {"type": "FOOTER", "text": "Negozio Rossi"},
    {"type": "BUTTONS", "buttons": [
        {"type": "URL", "text": "Traccia", "url": "https://shop.example/t/{{1}}", "example": ["https://x/1"]},
        {"type": "QUICK_REPLY", "text": "Non mi interessa"},
        {"type": "PHONE_NUMBER", "text": "Chiamaci", "phone_number": "+390212345678"}]},
]
EUR = {"type": "currency", "currency": {"fallback_value": "€ 12,50", "code": "EUR", "amount_1000": 12500}}
WHEN = {"type": "date_time", "date_time": {"fallback_value": "lunedì 3 marzo"}}


def shipped() -> Any:
    return parse("order_shipped", "it", "UTILITY", "positional", SHIPPED, template_id=7)


def good() -> dict[str, Any]:
    return {"header": "A-1", "body": ["Anna", EUR, WHEN], "buttons": [{"index": 0, "value": "A-1"}]}


def test_positional_parameters_become_meta_components_and_the_preview() -> None:
    rendered = render(shipped(), good())
    assert rendered.components == (
        {"type": "header", "parameters": [{"type": "text", "text": "A-1"}]},
        {"type": "body", "parameters": [{"type": "text", "text": "Anna"}, EUR, WHEN]},
        {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "A-1"}]},
    )
    assert rendered.preview == ("Ordine A-1\nCiao Anna, il tuo ordine di € 12,50 arriva il lunedì 3 marzo.\n"
                                "Negozio Rossi\n[Traccia]\n[Non mi interessa]\n[Chiamaci]")
    assert rendered.header_media is None


def test_named_parameters_carry_their_names_in_any_order() -> None:
    template = parse("welcome", "en", "marketing", "named", [
        {"type": "BODY", "text": "Hi {{first_name}}, you have {{points}} points, {{first_name}}!"}])
    rendered = render(template, {"body": {"points": 120, "first_name": "Ann"}})
    assert rendered.components == ({"type": "body", "parameters": [
        {"type": "text", "text": "Ann", "parameter_name": "first_name"},
        {"type": "text", "text": "120", "parameter_name": "points"}]},)
    assert rendered.preview == "Hi Ann, you have 120 points, Ann!"


def test_parameters_mapped_from_the_contact_the_case_and_the_payload() -> None:
    context = {"contact": {"name": "Anna", "attributes": {"tier": "gold"}}, "case": {"eta": "lunedì"},
               "payload": {"order": {"id": "A-9", "lines": [{"sku": "X1"}]}}}
    params = {"header": {"from": "payload.order.id"},
              "body": [{"from": "contact.name"}, {"from": "contact.attributes.tier"}, {"from": "case.eta"}],
              "buttons": [{"index": 0, "value": {"from": "payload.order.lines.0.sku"}}]}
    rendered = render(shipped(), params, context)
    assert rendered.preview.startswith("Ordine A-9\nCiao Anna, il tuo ordine di gold arriva il lunedì.")
    assert rendered.components[-1]["parameters"] == [{"type": "text", "text": "X1"}]


def test_a_document_header_from_an_upload_or_a_link() -> None:
    template = parse("boarding_pass", "en", "utility", "positional", [
        {"type": "HEADER", "format": "DOCUMENT"}, {"type": "BODY", "text": "Your pass for flight {{1}} is here."}])
    rendered = render(template, {"header": {"media_id": 42, "filename": "pass.pdf"}, "body": ["AZ610"]})
    assert rendered.header_media == Media(MediaKind.DOCUMENT, media_id=42, filename="pass.pdf")
    assert rendered.components[0] == {"type": "header", "parameters": [
        {"type": "document", "document": {"filename": "pass.pdf"}}]}
    assert rendered.preview == "[Document: pass.pdf]\nYour pass for flight AZ610 is here."
    linked = render(template, {"header": {"link": "https://cdn.example/p.pdf"}, "body": ["AZ610"]})
    assert linked.header_media is None
    assert linked.components[0]["parameters"] == [{"type": "document", "document": {"link": "https://cdn.example/p.pdf"}}]


def test_a_location_header() -> None:
    template = parse("store", "it", "utility", "positional", [
        {"type": "HEADER", "format": "LOCATION"}, {"type": "BODY", "text": "Il negozio più vicino è qui."}])
    rendered = render(template, {"header": {"latitude": 45.46, "longitude": 9.19, "name": "Rossi Duomo"}})
    assert rendered.components == ({"type": "header", "parameters": [
        {"type": "location", "location": {"latitude": 45.46, "longitude": 9.19, "name": "Rossi Duomo"}}]},)
    assert rendered.preview == "[Location: Rossi Duomo]\nIl negozio più vicino è qui."


def test_authentication_code_fills_the_body_and_the_otp_button() -> None:
    template = parse("login_code", "en_US", "AUTHENTICATION", "positional", [
        {"type": "BODY", "add_security_recommendation": True}, {"type": "FOOTER", "code_expiration_minutes": 10},
        {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE", "text": "Copy code"}]}])
    rendered = render(template, {"body": ["482913"]})
    assert rendered.components == (
        {"type": "body", "parameters": [{"type": "text", "text": "482913"}]},
        {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "482913"}]})
    assert rendered.preview == ("482913 is your verification code. For your security, do not share this code.\n"
                                "This code expires in 10 minutes.\n[Copy code]")


def test_quick_reply_payload_and_coupon_code() -> None:
    template = parse("promo", "en", "marketing", "positional", [
        {"type": "BODY", "text": "Use the code below for your next order, {{1}}."},
        {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Stop promotions"},
                                        {"type": "COPY_CODE", "example": "SAVE10"}]}])
    rendered = render(template, {"body": ["Ann"], "buttons": [{"index": 1, "code": "SAVE10"},
                                                              {"index": 0, "payload": "optout"}]})
    assert rendered.components[1:] == (
        {"type": "button", "sub_type": "quick_reply", "index": "0", "parameters": [{"type": "payload",
                                                                                     "payload": "optout"}]},
        {"type": "button", "sub_type": "copy_code", "index": "1", "parameters": [{"type": "coupon_code",
                                                                                   "coupon_code": "SAVE10"}]})


BAD = [
    ({"header": "A-1", "body": ["Anna", EUR], "buttons": [{"index": 0, "value": "A"}]}, "template.parameter_count",
     "parameters.body"),
    ({**good(), "body": {"1": "Anna"}}, "template.parameters_invalid", "parameters.body"),
    ({**good(), "body": ["Anna", {"type": "currency", "currency": {"fallback_value": "1", "code": "euro",
                                                                   "amount_1000": 1}}, WHEN]},
     "template.parameter_type", "parameters.body[1].currency.code"),
    ({**good(), "body": ["Anna", {"type": "currency", "currency": {"fallback_value": "1", "code": "EUR",
                                                                   "amount_1000": "12.5"}}, WHEN]},
     "template.parameter_type", "parameters.body[1].currency.amount_1000"),
    ({**good(), "body": ["Anna", EUR, {"type": "date_time", "date_time": {}}]}, "template.parameter_empty",
     "parameters.body[2].date_time.fallback_value"),
    ({**good(), "body": ["Anna", EUR, {"type": "image"}]}, "template.parameter_type", "parameters.body[2]"),
    ({**good(), "body": ["Anna\nRossi", EUR, WHEN]}, "template.parameter_text_format", "parameters.body[0]"),
    ({**good(), "body": ["", EUR, WHEN]}, "template.parameter_empty", "parameters.body[0]"),
    ({**good(), "body": [None, EUR, WHEN]}, "template.parameter_empty", "parameters.body[0]"),
    ({**good(), "body": [["Anna"], EUR, WHEN]}, "template.parameter_type", "parameters.body[0]"),
    ({**good(), "body": ["x" * 1020, EUR, WHEN]}, "template.body_too_long", "parameters.body"),
    ({**good(), "header": None}, "template.parameter_count", "parameters.header"),
    ({**good(), "header": "x" * 60}, "template.header_too_long", "parameters.header"),
    ({**good(), "buttons": []}, "template.button_parameter_missing", "parameters.buttons[0]"),
    ({**good(), "buttons": [{"index": 0, "value": "A"}, {"index": 2, "value": "x"}]},
     "template.button_parameter_unexpected", "parameters.buttons[1].value"),
    ({**good(), "buttons": [{"index": 5, "value": "A"}]}, "template.button_not_found", "parameters.buttons[0].index"),
    ({**good(), "body": [{"from": "contact.attributes.tier"}, EUR, WHEN]}, "template.parameter_source_missing",
     "parameters.body[0]"),
    ({**good(), "body": [{"from": "crm.tier"}, EUR, WHEN]}, "template.parameter_source_unknown",
     "parameters.body[0]"),
    ({**good(), "footer": "x"}, "template.parameters_invalid", "parameters"),
]


@pytest.mark.parametrize(("params", "code", "field"), BAD, ids=[f"{b[1]}-{b[2]}" for b in BAD])
def test_bad_parameters_are_refused_naming_the_field(params: dict[str, Any], code: str, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        render(shipped(), params, {"contact": {"name": "Anna", "attributes": {}}})
    assert (caught.value.code, caught.value.field, caught.value.status) == (code, field, 422)


def test_named_template_refuses_missing_and_unknown_names() -> None:
    template = parse("welcome", "en", "marketing", "named", [
        {"type": "BODY", "text": "Hi {{first_name}}, you have {{points}} points today."}])
    with pytest.raises(InvalidInput) as caught:
        render(template, {"body": {"first_name": "Ann", "pts": 1}})
    assert (caught.value.code, caught.value.field) == ("template.parameter_count", "parameters.body.points")


def test_media_header_needs_an_upload_or_a_link() -> None:
    template = parse("boarding_pass", "en", "utility", "positional", [
        {"type": "HEADER", "format": "DOCUMENT"}, {"type": "BODY", "text": "Your boarding pass is here."}])
    for header, field in ((None, "parameters.header"), ({"media_id": 1, "link": "https://a/b"}, "parameters.header"),
                          ({"link": "ftp://a/b"}, "parameters.header.link"),
                          ({"media_id": "7"}, "parameters.header.media_id")):
        with pytest.raises(InvalidInput) as caught:
            render(template, {"header": header})
        assert caught.value.field == field


def test_outline_shows_the_variables_as_written() -> None:
    from centralino.domain.template_params import outline
    assert outline(shipped()) == ("Ordine {{1}}\nCiao {{1}}, il tuo ordine di {{2}} arriva il {{3}}.\nNegozio Rossi\n"
                                  "[Traccia]\n[Non mi interessa]\n[Chiamaci]")


def test_outline_fills_the_values_already_usable() -> None:
    from centralino.domain.template_params import outline
    partial = {"header": "A-1", "body": ["Anna", "", {"from": "payload.when"}]}
    assert outline(shipped(), partial, {"payload": {}}).startswith(
        "Ordine A-1\nCiao Anna, il tuo ordine di {{2}} arriva il {{3}}.")
    assert outline(shipped(), partial, {"payload": {"when": "lunedì"}}).startswith(
        "Ordine A-1\nCiao Anna, il tuo ordine di {{2}} arriva il lunedì.")
    named = parse("welcome", "en", "marketing", "named", [
        {"type": "HEADER", "format": "TEXT", "text": "Hi {{first_name}}"},
        {"type": "BODY", "text": "Hi {{first_name}}, you have {{points}} points today."}])
    assert outline(named, {"header": "Ann", "body": {"points": 5}}) == \
        "Hi Ann\nHi {{first_name}}, you have 5 points today."

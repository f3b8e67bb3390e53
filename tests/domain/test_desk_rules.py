"""The pure rules of the desktop's extras: quick-reply variables and the customer profile's fields."""

from __future__ import annotations

import pytest

from centralino.domain import contact_profile as profile
from centralino.domain import quick_replies as qr
from centralino.errors import InvalidInput


def test_known_variables_render_as_plain_text_and_missing_values_are_empty():
    context = qr.RenderContext(contact_name="Anna Maria Rossi", agent_name="Giulia",
                               attributes={"order": "A-42"})
    body = qr.check_body("Ciao {{ contact.first_name }} ({{contact.name}}), sono {{agent.name}}: "
                         "ordine {{contact.attributes.order}}{{contact.attributes.none}}.")
    assert qr.render(body, context) == "Ciao Anna (Anna Maria Rossi), sono Giulia: ordine A-42."
    assert qr.render("{{contact.first_name}}!", qr.RenderContext(None, None)) == "!"
    # a value that looks like a variable or markup is inserted as it is, never expanded again
    tricky = qr.RenderContext(contact_name="{{agent.name}} <b>", agent_name="X")
    assert qr.render("{{contact.name}}", tricky) == "{{agent.name}} <b>"


@pytest.mark.parametrize("body", ["{{contact.surname}}", "{{ agent.email }}", "{{contact.attributes.}}",
                                  "{{contact.attributes.Upper}}", "{{}}", "ok {{contact.name}} {{x}}"])
def test_unknown_variables_are_refused_naming_the_first(body):
    with pytest.raises(InvalidInput) as refused:
        qr.check_body(body)
    assert refused.value.field == "body" and refused.value.code == "quick_reply.unknown_variable"


def test_shortcuts_titles_and_bodies():
    assert qr.check_shortcut(" /Saluti-1 ") == "saluti-1"
    for bad in ("", "due parole", "x" * 33, "/", "-x"):
        with pytest.raises(InvalidInput):
            qr.check_shortcut(bad)
    assert qr.check_title("  Orari   di apertura ") == "Orari di apertura"
    with pytest.raises(InvalidInput):
        qr.check_body("x" * 4097)


def test_profile_fields_are_normalised_or_refused_with_their_field():
    assert profile.check_name("  Anna \n Rossi ") == "Anna Rossi"
    assert profile.check_language("en_GB") == "en_GB" and profile.check_language("") is None
    assert profile.check_tags(["VIP", " vip ", "Reso  rapido"]) == ["reso rapido", "vip"]
    assert profile.merge_attributes({"a": "1", "b": "2"}, {"a": None, "c": 3, "b": " due "}) == {"b": "due", "c": "3"}
    cases = [(lambda: profile.check_language("xx"), "language"),
             (lambda: profile.check_tags(["ok", ""]), "tags[1]"),
             (lambda: profile.check_tags([f"t{i}" for i in range(31)]), "tags"),
             (lambda: profile.merge_attributes({}, {"Città": "x"}), "attributes.Città"),
             (lambda: profile.merge_attributes({}, {"ok": True}), "attributes.ok"),
             (lambda: profile.merge_attributes({}, {"ok": "x" * 501}), "attributes.ok"),
             (lambda: profile.merge_attributes({}, []), "attributes")]
    for check, field in cases:
        with pytest.raises(InvalidInput) as refused:
            check()
        assert refused.value.field == field

"""POST /{version}/{phone-number-id}/messages: every type accepted like Meta, and Meta's refusals."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from centralino.simulator import defaults
from tests.simulator.harness import CUSTOMER, PNID, graph_error, message

PNG = defaults.SAMPLE_PNG

BUTTONS = {"type": "button", "body": {"text": "Did it arrive?"}, "footer": {"text": "Centralino"},
           "header": {"type": "text", "text": "Order 4711"},
           "action": {"buttons": [{"type": "reply", "reply": {"id": "yes", "title": "Yes"}},
                                  {"type": "reply", "reply": {"id": "no", "title": "No"}}]}}
LIST = {"type": "list", "header": {"type": "text", "text": "Slots"}, "body": {"text": "Pick a delivery slot"},
        "action": {"button": "Choose", "sections": [
            {"title": "Morning", "rows": [{"id": "m1", "title": "9-11", "description": "Before lunch"}]},
            {"title": "Afternoon", "rows": [{"id": "a1", "title": "14-16"}, {"id": "a2", "title": "16-18"}]}]}}
CTA = {"type": "cta_url", "body": {"text": "Track it"},
       "action": {"name": "cta_url", "parameters": {"display_text": "Track", "url": "https://example.com/t/4711"}}}
CARD = {"name": {"formatted_name": "Giulia Bianchi", "first_name": "Giulia"},
        "phones": [{"phone": "+39 347 1234567", "type": "CELL"}]}


def upload(sim, content: bytes = PNG, mime: str = "image/png") -> str:
    response = sim.graph("POST", f"/{PNID}/media", data={"messaging_product": "whatsapp", "type": mime},
                         files={"file": ("file", content, mime)})
    assert response.status_code == 200, response.text
    return response.json()["id"]


def every_type(media_id: str) -> dict[str, dict[str, Any]]:
    return {
        "text": message(body="Ciao! https://example.com", preview_url=True),
        "image by id": message(kind="image", id=media_id, caption="Il pacco"),
        "image by link": message(kind="image", link="https://example.com/a.png"),
        "video": message(kind="video", link="https://example.com/a.mp4", caption="Unboxing"),
        "audio": message(kind="audio", link="https://example.com/a.ogg"),
        "document": message(kind="document", link="https://example.com/a.pdf", filename="fattura.pdf",
                            caption="La fattura"),
        "sticker": message(kind="sticker", link="https://example.com/a.webp"),
        "location": message(kind="location", latitude=45.46, longitude=9.19, name="Duomo", address="Milano"),
        "contacts": {**message(kind="text"), "type": "contacts", "text": None, "contacts": [CARD]},
        "reaction": message(kind="reaction", message_id="wamid.ANY", emoji="\U0001f44d"),
        "buttons": message(kind="interactive", **BUTTONS),
        "list": message(kind="interactive", **LIST),
        "cta_url": message(kind="interactive", **CTA),
        "template": message(kind="template", name="order_update", language={"code": "it"},
                            components=[{"type": "body", "parameters": [{"type": "text", "text": "Giulia"},
                                                                       {"type": "text", "text": "4711"}]}]),
    }


def test_every_message_type_is_accepted_with_metas_answer(sim):
    sim.customer_says()  # open the window
    for name, body in every_type(upload(sim)).items():
        body = {k: v for k, v in body.items() if v is not None}
        body["context"] = {"message_id": "wamid.PREVIOUS"}
        body["biz_opaque_callback_data"] = f"ours-{name}"
        response = sim.send(body)
        assert response.status_code == 200, (name, response.text)
        answer = response.json()
        assert answer["messaging_product"] == "whatsapp"
        assert answer["contacts"] == [{"input": "+" + CUSTOMER, "wa_id": CUSTOMER}]
        [sent] = answer["messages"]
        assert re.fullmatch(r"wamid\.[A-Za-z0-9+/]{40,}", sent["id"]), sent["id"]
        assert set(answer) == {"messaging_product", "contacts", "messages"}
    ids = [m["id"] for m in sim.control("GET", f"/customers/{CUSTOMER}/conversation")["messages"]]
    assert len(ids) == len(set(ids)) == 1 + len(every_type("x"))


def test_to_without_plus_and_with_separators_is_normalised_to_digits(sim):
    for to in (CUSTOMER, "+39 347 123-4567"):
        answer = sim.send(message(to=to, kind="template", name="hello_world", language={"code": "en_US"})).json()
        assert answer["contacts"] == [{"input": to, "wa_id": CUSTOMER}]


def _set(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    body = copy.deepcopy(body)
    *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
    target: Any = body
    for key in parents:
        target = target[key]
    if value is DELETE:
        target.pop(last, None)
    else:
        target[last] = value
    return body


DELETE = object()
INVALID = [
    # (name, base body, dotted path, new value, expected code, field as Meta names it in the details)
    ("no messaging_product", message(), "messaging_product", DELETE, 100, "messaging_product"),
    ("wrong messaging_product", message(), "messaging_product", "sms", 100, "messaging_product"),
    ("missing to", message(), "to", DELETE, 131008, "to"),
    ("to not a phone", message(), "to", "giulia", 131009, "to"),
    ("unknown type", message(), "type", "poll", 131009, "type"),
    ("missing body", message(), "text.body", DELETE, 131008, "text['body']"),
    ("body too long", message(), "text.body", "x" * 4097, 131009, "text['body']"),
    ("preview_url not bool", message(), "text.preview_url", "yes", 131009, "text['preview_url']"),
    ("unexpected key", message(), "text.bold", True, 100, "bold"),
    ("object of another type", message(), "image", {"link": "https://x.y/a.png"}, 100, "image"),
    ("caption too long", message(kind="image", link="https://e.com/a.png"), "image.caption", "x" * 1025, 131009,
     "image['caption']"),
    ("caption on audio", message(kind="audio", link="https://e.com/a.ogg"), "audio.caption", "hi", 100, "caption"),
    ("filename on image", message(kind="image", link="https://e.com/a.png"), "image.filename", "a.png", 100,
     "filename"),
    ("media without id or link", message(kind="image", caption="x"), "image.link", DELETE, 131008, "image['id']"),
    ("unknown media id", message(kind="image", id="123"), "image.id", "999", 131009, "image['id']"),
    ("bad link", message(kind="document", link="ftp://x"), "document.link", "ftp://x", 131009, "document['link']"),
    ("latitude out of range", message(kind="location", latitude=1, longitude=2), "location.latitude", 91, 131009,
     "location['latitude']"),
    ("missing longitude", message(kind="location", latitude=1, longitude=2), "location.longitude", DELETE, 131008,
     "location['longitude']"),
    ("reaction without message_id", message(kind="reaction", message_id="w", emoji="x"), "reaction.message_id",
     DELETE, 131008, "reaction['message_id']"),
    ("reaction not an emoji", message(kind="reaction", message_id="w", emoji="\U0001f44d"), "reaction.emoji", "ok",
     131009, "reaction['emoji']"),
    ("four buttons", message(kind="interactive", **BUTTONS), "interactive.action.buttons",
     [{"type": "reply", "reply": {"id": str(i), "title": str(i)}} for i in range(4)], 131009,
     "interactive['action']['buttons']"),
    ("no buttons", message(kind="interactive", **BUTTONS), "interactive.action.buttons", [], 131009,
     "interactive['action']['buttons']"),
    ("button title too long", message(kind="interactive", **BUTTONS), "interactive.action.buttons.0.reply.title",
     "x" * 21, 131009, "interactive['action']['buttons'][0]['reply']['title']"),
    ("duplicate button ids", message(kind="interactive", **BUTTONS), "interactive.action.buttons.1.reply.id", "yes",
     131009, "interactive['action']['buttons']"),
    ("interactive without body", message(kind="interactive", **BUTTONS), "interactive.body", DELETE, 131008,
     "interactive['body']"),
    ("header too long", message(kind="interactive", **BUTTONS), "interactive.header.text", "x" * 61, 131009,
     "interactive['header']['text']"),
    ("footer too long", message(kind="interactive", **BUTTONS), "interactive.footer.text", "x" * 61, 131009,
     "interactive['footer']['text']"),
    ("eleven rows", message(kind="interactive", **LIST), "interactive.action.sections.1.rows",
     [{"id": f"r{i}", "title": "x"} for i in range(10)], 131009, "interactive['action']['sections']"),
    ("row title too long", message(kind="interactive", **LIST), "interactive.action.sections.0.rows.0.title",
     "x" * 25, 131009, "interactive['action']['sections'][0]['rows'][0]['title']"),
    ("row description too long", message(kind="interactive", **LIST),
     "interactive.action.sections.0.rows.0.description", "x" * 73, 131009,
     "interactive['action']['sections'][0]['rows'][0]['description']"),
    ("list button too long", message(kind="interactive", **LIST), "interactive.action.button", "x" * 21, 131009,
     "interactive['action']['button']"),
    ("untitled section among several", message(kind="interactive", **LIST), "interactive.action.sections.0.title",
     DELETE, 131008, "interactive['action']['sections'][0]['title']"),
    ("media header on a list", message(kind="interactive", **LIST), "interactive.header",
     {"type": "image", "image": {"link": "https://e.com/a.png"}}, 131009, "interactive['header']['type']"),
    ("cta display text too long", message(kind="interactive", **CTA), "interactive.action.parameters.display_text",
     "x" * 21, 131009, "interactive['action']['parameters']['display_text']"),
    ("cta url not http", message(kind="interactive", **CTA), "interactive.action.parameters.url", "javascript:x",
     131009, "interactive['action']['parameters']['url']"),
    ("flow not simulated", message(kind="interactive", **BUTTONS), "interactive.type", "flow", 131009,
     "interactive['type']"),
    ("template without language", message(kind="template", name="hello_world", language={"code": "en_US"}),
     "template.language", DELETE, 131008, "template['language']"),
    ("context without message_id", message(), "context", {}, 131008, "context['message_id']"),
    ("callback data too long", message(), "biz_opaque_callback_data", "x" * 513, 131009,
     "biz_opaque_callback_data"),
    ("group recipients", message(), "recipient_type", "group", 131009, "recipient_type"),
    ("too many contacts", {**message(), "type": "contacts", "contacts": [CARD] * 6}, "text", DELETE, 131009,
     "contacts"),
    ("contact without formatted_name", {**message(), "type": "contacts", "contacts": [{"name": {}}]}, "text",
     DELETE, 131008, "contacts[0]['name']['formatted_name']"),
]


@pytest.mark.parametrize(("name", "base", "path", "value", "code", "field"), INVALID, ids=[i[0] for i in INVALID])
def test_invalid_requests_are_refused_with_metas_code_naming_the_field(sim, name, base, path, value, code, field):
    response = sim.send(_set(base, path, value))
    assert response.status_code == 400, response.text
    error = graph_error(response)
    assert error["code"] == code
    assert field in error["error_data"]["details"]
    assert error["error_data"]["messaging_product"] == "whatsapp"
    assert sim.control("GET", f"/customers/{CUSTOMER}/conversation")["messages"] == []


def test_body_that_is_not_json_is_refused(sim):
    response = sim.graph("POST", f"/{PNID}/messages", content=b"{not json", headers={"Content-Type": "application/json"})
    assert graph_error(response)["code"] == 100


def test_missing_or_wrong_token_is_190_with_401(sim):
    for token in (None, "not-a-token"):
        response = sim.send(message(), token=token)
        assert response.status_code == 401
        assert graph_error(response)["code"] == 190


def test_unknown_number_is_a_graph_method_exception(sim):
    response = sim.send(message(), pnid="999999999999999")
    assert response.status_code == 400
    error = graph_error(response)
    assert error["code"] == 100 and error["type"] == "GraphMethodException"
    assert "999999999999999" in error["error_data"]["details"]


def test_graph_versions_are_any_vNN_N_and_nothing_else(sim):
    hello = message(kind="template", name="hello_world", language={"code": "en_US"})
    for version in ("v19.0", "v25.0", "v26.0"):
        response = sim.http.post(f"/{version}/{PNID}/messages", json=hello,
                                 headers={"Authorization": "Bearer sim-test-token"})
        assert response.status_code == 200, version
    response = sim.http.post(f"/latest/{PNID}/messages", json=hello, headers={"Authorization": "Bearer sim-test-token"})
    assert graph_error(response)["code"] == 100


def test_mark_as_read_answers_success_and_marks_earlier_inbound_messages(sim):
    first = sim.customer_says("uno")["id"]
    second = sim.customer_says("due")["id"]
    answer = sim.send({"messaging_product": "whatsapp", "status": "read", "message_id": second,
                       "typing_indicator": {"type": "text"}})
    assert answer.status_code == 200 and answer.json() == {"success": True}
    read = {m["id"]: m["read_by_business"] for m in sim.control("GET", f"/customers/{CUSTOMER}/conversation")["messages"]}
    assert read == {first: True, second: True}
    unknown = sim.send({"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.NOPE"})
    assert graph_error(unknown)["code"] == 100
    missing = sim.send({"messaging_product": "whatsapp", "status": "read"})
    assert graph_error(missing)["code"] == 131008


def test_media_of_another_number_cannot_be_sent(simulator):
    from centralino.simulator.config import BusinessNumber

    sim = simulator()
    other = BusinessNumber("206540352242922", "202290129340398", "15550002222", "other-token", "other-secret")
    sim2 = simulator(numbers=(*sim.sim.config.numbers, other))
    media_id = upload(sim2)
    sim2.customer_says()
    response = sim2.send(message(kind="image", id=media_id), pnid=other.phone_number_id, token="other-token")
    error = graph_error(response)
    assert error["code"] == 131009 and "image['id']" in error["error_data"]["details"]
    # … and a token of one number cannot act on another number
    forbidden = sim2.send(message(), pnid=other.phone_number_id)
    assert graph_error(forbidden)["type"] == "GraphMethodException"


def test_uploaded_pdf_cannot_be_sent_as_an_image_but_as_a_document(sim):
    sim.customer_says()
    media_id = upload(sim, defaults.SAMPLE_PDF, "application/pdf")
    assert graph_error(sim.send(message(kind="image", id=media_id)))["code"] == 131009
    assert sim.send(message(kind="document", id=media_id, filename="a.pdf")).status_code == 200

"""Simulated customers: each action is a signed Meta `messages` webhook the product's parser understands."""

from __future__ import annotations

import base64
import hashlib

from centralino.channels.whatsapp.parser import parse_delivery
from centralino.simulator import defaults
from tests.simulator.harness import CUSTOMER, DISPLAY, PNID, WABA, message, wait_for

LAST: list[str] = []  # id of the customer's last message in the current test


def _with(sim, message_id: str):
    return [p for p in sim.receiver.payloads()
            if any(m["id"] == message_id for m in p["entry"][0]["changes"][0]["value"].get("messages", []))]


def last_event(sim):
    """The webhook of the customer's last message, parsed by the product; its raw message item and value."""
    [payload] = wait_for(lambda: _with(sim, LAST[-1]), what="the customer's webhook")
    value = payload["entry"][0]["changes"][0]["value"]
    assert payload["entry"][0]["id"] == WABA and value["metadata"]["phone_number_id"] == PNID
    [event] = parse_delivery(payload)
    return event, value["messages"][0], value


def tap(sim, message_id: str, choice: str) -> None:
    LAST.append(sim.control("POST", f"/customers/{CUSTOMER}/tap", {"message_id": message_id, "id": choice})["id"])


def say(sim, wa_id: str = CUSTOMER, **spec):
    answer = sim.control("POST", f"/customers/{wa_id}/messages", spec)
    LAST.append(answer["id"])
    return answer


def test_text_has_contacts_profile_and_the_customers_timestamp(sim):
    sim.control("POST", "/customers", {"wa_id": CUSTOMER, "name": "Giulia Bianchi"})
    say(sim, type="text", body="Dov'è il mio ordine? \u00e8 urgente", timestamp=1790000000)
    event, item, value = last_event(sim)
    assert value["contacts"] == [{"profile": {"name": "Giulia Bianchi"}, "wa_id": CUSTOMER}]
    assert item["from"] == CUSTOMER and item["timestamp"] == "1790000000" and item["id"].startswith("wamid.")
    assert event.type.value == "text" and event.text == "Dov'è il mio ordine? è urgente"
    assert event.sender.name == "Giulia Bianchi" and int(event.timestamp.timestamp()) == 1790000000
    assert any(b"\\u00e8" in body for body in sim.receiver.bodies)  # escaped like Meta, and the signature still matched
    assert sim.receiver.bad_signatures == 0


def test_location_contacts_and_reply_context(sim):
    say(sim, type="location", latitude=45.4642, longitude=9.19, name="Duomo", address="Piazza del Duomo")
    event, _item, _ = last_event(sim)
    assert event.content["latitude"] == 45.4642 and event.text == "Duomo Piazza del Duomo"
    say(sim, type="contacts", contacts=[{"name": {"formatted_name": "Marco Rossi"},
                                         "phones": [{"phone": "+447700900123", "wa_id": "447700900123"}]}])
    event, _item, _ = last_event(sim)
    assert event.type.value == "contacts" and event.text == "Marco Rossi"
    sent = sim.send(message()).json()["messages"][0]["id"]
    say(sim, type="text", body="risposta", context={"message_id": sent})
    event, item, _ = last_event(sim)
    assert item["context"] == {"from": DISPLAY, "id": sent}
    assert event.context.reply_to_external_id == sent


def test_image_and_document_are_downloadable_by_the_business_with_its_token(sim):
    photo = b"\x89PNG\r\n\x1a\n" + b"customer photo"
    say(sim, type="image", content_base64=base64.b64encode(photo).decode(), mime_type="image/png", caption="Rotto")
    event, _item, _ = last_event(sim)
    assert event.type.value == "image" and event.media.caption == "Rotto"
    assert event.media.sha256 == hashlib.sha256(photo).hexdigest()
    meta = sim.graph("GET", f"/{event.media.provider_id}", params={"phone_number_id": PNID}).json()
    assert meta["mime_type"] == "image/png" and meta["file_size"] == len(photo)
    download = sim.http.get(meta["url"], headers={"Authorization": "Bearer sim-test-token"})
    assert download.content == photo
    assert sim.http.get(meta["url"]).status_code == 401
    say(sim, type="document", filename="fattura.pdf")
    event, _item, _ = last_event(sim)
    assert event.media.filename == "fattura.pdf" and event.media.mime_type == "application/pdf"
    meta = sim.graph("GET", f"/{event.media.provider_id}").json()
    assert sim.http.get(meta["url"], headers={"Authorization": "Bearer sim-test-token"}).content == defaults.SAMPLE_PDF


def test_taps_on_reply_buttons_list_rows_and_template_quick_replies(sim):
    sim.customer_says()
    buttons = sim.send(message(kind="interactive", type="button", body={"text": "Arrivato?"}, action={"buttons": [
        {"type": "reply", "reply": {"id": "yes-4711", "title": "Sì"}},
        {"type": "reply", "reply": {"id": "no-4711", "title": "No"}}]})).json()["messages"][0]["id"]
    tap(sim, buttons, "no-4711")
    event, item, _ = last_event(sim)
    assert item["interactive"] == {"type": "button_reply", "button_reply": {"id": "no-4711", "title": "No"}}
    assert item["context"] == {"from": DISPLAY, "id": buttons}
    assert event.content == {"interactive_type": "button_reply", "id": "no-4711", "title": "No"}
    assert event.context.reply_to_external_id == buttons

    rows = sim.send(message(kind="interactive", type="list", body={"text": "Quando?"}, action={
        "button": "Scegli", "sections": [{"title": "Domani", "rows": [
            {"id": "slot-9", "title": "9-11", "description": "Mattina"}]}]})).json()["messages"][0]["id"]
    tap(sim, rows, "slot-9")
    event, item, _ = last_event(sim)
    assert item["interactive"]["list_reply"] == {"id": "slot-9", "title": "9-11", "description": "Mattina"}
    assert event.content["interactive_type"] == "list_reply" and event.content["description"] == "Mattina"

    template = sim.send(message(kind="template", name="order_update", language={"code": "it"}, components=[
        {"type": "body", "parameters": [{"type": "text", "text": "Giulia"}, {"type": "text", "text": "4711"}]},
        {"type": "button", "sub_type": "quick_reply", "index": "1",
         "parameters": [{"type": "payload", "payload": "RESCHEDULE-4711"}]}])).json()["messages"][0]["id"]
    tap(sim, template, "1")
    event, item, _ = last_event(sim)
    assert item["type"] == "button" and item["button"] == {"payload": "RESCHEDULE-4711", "text": "Cambia orario"}
    assert event.content == {"payload": "RESCHEDULE-4711", "text": "Cambia orario"}
    tap(sim, template, "Va bene")
    _event, item, _ = last_event(sim)
    assert item["button"] == {"payload": "Va bene", "text": "Va bene"}  # no payload given: the button text
    wrong = sim.http.post(f"/_sim/customers/{CUSTOMER}/tap", json={"message_id": buttons, "id": "maybe"})
    assert wrong.status_code == 400


def test_reaction_to_a_business_message(sim):
    sim.customer_says()
    sent = sim.send(message()).json()["messages"][0]["id"]
    say(sim, type="reaction", message_id=sent, emoji="\u2764\ufe0f")
    event, item, _ = last_event(sim)
    assert item["reaction"] == {"message_id": sent, "emoji": "\u2764\ufe0f"}
    assert event.reaction_target == sent and event.content["removed"] is False


def test_customers_are_listed_created_and_their_conversation_shows_both_directions(sim):
    created = sim.control("POST", "/customers", {"wa_id": "+44 7700 900123", "name": "Marco", "reachable": True})
    assert created["wa_id"] == "447700900123" and created["window_open"] == {PNID: False}
    sim.customer_says("hello", wa_id="447700900123")
    [listed] = [c for c in sim.control("GET", "/customers") if c["wa_id"] == "447700900123"]
    assert listed["window_open"] == {PNID: True} and listed["last_message"] == {PNID: "hello"}
    sent = sim.send(message(to="+447700900123", body="hi Marco")).json()["messages"][0]["id"]
    sim.receiver.wait_statuses(sent, 3)
    conversation = sim.control("GET", "/customers/447700900123/conversation")["messages"]
    assert [(m["direction"], m["text"]) for m in conversation] == [("in", "hello"), ("out", "hi Marco")]
    assert conversation[1]["status"] == "read" and conversation[1]["ticks"] == "✓✓"
    assert sim.http.post("/_sim/customers", json={"wa_id": "12"}).status_code == 400


def test_reset_forgets_the_world_but_keeps_the_seeded_templates(sim):
    sim.customer_says()
    sim.control("POST", "/reset")
    assert sim.control("GET", "/customers") == [] and sim.control("GET", "/stats")["numbers"] == {}
    assert {t["name"] for t in sim.control("GET", "/templates")} >= {"hello_world", "order_update"}

"""Outbound content → the Graph API's /messages body, per type (reference §4)."""

from __future__ import annotations

import pytest

from centralino.channels.whatsapp.outbound import MissingProviderMedia, message_body, read_body, recipient_fields
from centralino.domain.outbound_codec import parse_content
from tests.outbound_samples import VALID


def body(name: str, **kwargs):
    args = {"recipient_kind": "whatsapp", "recipient": "393471234567", "callback_data": "centralino:12",
            "provider_media": {3: "G3", 4: "G4", 5: "G5", 9: "G9"}, **kwargs}
    return message_body(parse_content(VALID[name]), **args)


def test_common_fields_recipient_and_callback_data() -> None:
    sent = body("text", reply_to_external_id="wamid.Q")
    assert sent == {"messaging_product": "whatsapp", "recipient_type": "individual", "to": "+393471234567",
                    "type": "text", "text": {"body": "Ciao!", "preview_url": True},
                    "context": {"message_id": "wamid.Q"}, "biz_opaque_callback_data": "centralino:12"}
    assert recipient_fields("whatsapp", "+4477") == {"to": "+4477"}
    assert recipient_fields("whatsapp_bsuid", "IT.123") == {"recipient": "IT.123"}


def test_media_by_uploaded_id_or_by_link() -> None:
    assert body("image")["image"] == {"id": "G3", "caption": "the parcel"}
    assert body("document")["document"] == {"id": "G5", "filename": "invoice.pdf", "caption": "4711"}
    assert body("audio")["audio"] == {"id": "G4"}
    assert body("video")["video"] == {"link": "https://cdn.example.com/v.mp4", "caption": "how to"}
    assert body("sticker")["sticker"] == {"link": "https://cdn.example.com/s.webp"}
    with pytest.raises(MissingProviderMedia):
        body("image", provider_media={})


def test_location_contacts_reaction() -> None:
    assert body("location")["location"] == {"latitude": 45.46, "longitude": 9.19, "name": "Duomo",
                                            "address": "Piazza del Duomo"}
    assert body("contacts")["contacts"][0]["name"] == {"formatted_name": "Desk"}
    reaction = body("reaction", target_external_id="wamid.T", reply_to_external_id="wamid.ignored")
    assert reaction["reaction"] == {"message_id": "wamid.T", "emoji": "\U0001f44d"} and "context" not in reaction
    with pytest.raises(ValueError):
        body("reaction")


def test_interactive_shapes() -> None:
    buttons = body("buttons")["interactive"]
    assert buttons["type"] == "button" and buttons["header"] == {"type": "image", "image": {"id": "G9"}}
    assert buttons["action"]["buttons"][0] == {"type": "reply", "reply": {"id": "y", "title": "Yes"}}
    assert buttons["footer"] == {"text": "Support"}
    listed = body("list")["interactive"]
    assert listed["header"] == {"type": "text", "text": "Slots"} and listed["action"]["button"] == "Choose"
    assert listed["action"]["sections"][0] == {"title": "Mon", "rows": [
        {"id": "m1", "title": "Morning", "description": "8-12"}]}
    cta = body("cta_url")["interactive"]
    assert cta["action"] == {"name": "cta_url", "parameters": {"display_text": "Track",
                                                               "url": "https://example.com/t/1"}}


def test_read_receipt() -> None:
    assert read_body("wamid.IN") == {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.IN"}


def test_a_template_round_trips_through_storage_and_its_uploaded_header_becomes_the_graph_id():
    from centralino.domain.media_rules import MediaKind
    from centralino.domain.outbound import Media, TemplateMessage
    from centralino.domain.outbound_codec import decode_stored, to_dict

    content = TemplateMessage(
        name="boarding_pass", language="it", category="utility",
        components=({"type": "header", "parameters": [{"type": "document", "document": {"media_id": 7}}]},
                    {"type": "body", "parameters": [{"type": "text", "text": "AZ 610"}]}),
        preview="Carta d'imbarco AZ 610", template_id=3,
        header_media=Media(MediaKind.DOCUMENT, media_id=7, filename="pass.pdf"))
    stored = decode_stored(to_dict(content))
    assert stored == content
    body = message_body(stored, recipient_kind="whatsapp", recipient="393331234567", callback_data="centralino:1",
                        provider_media={7: "9001"})
    assert body["type"] == "template"
    assert body["template"]["name"] == "boarding_pass"
    assert body["template"]["language"] == {"code": "it"}
    header, text = body["template"]["components"]
    assert header["parameters"] == [{"type": "document", "document": {"id": "9001", "filename": "pass.pdf"}}]
    assert text["parameters"] == [{"type": "text", "text": "AZ 610"}]

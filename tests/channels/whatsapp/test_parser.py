"""parse_delivery against every webhook shape in tests/fixtures/whatsapp, plus malformed input."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from centralino.channels.whatsapp.parser import parse_delivery
from centralino.domain.enums import DeliveryStatus, MessageType, TemplateStatus
from centralino.domain.inbound import (
    AccountNotice,
    InboundEvent,
    InboundMessage,
    StatusUpdate,
    TemplateStatusUpdate,
)
from tests.factories import FIXTURES, PNID, PNID_2, WABA, WABA_2, fixture_json

GIULIA, MARCO, OLIVER = "393471234567", "393381234568", "447700900123"
LUCA_BSUID = "IT.13491208655302741918"
NAMES = {GIULIA: "Giulia Bianchi", MARCO: "Marco Rossi", OLIVER: "Oliver Smith"}
ALL_FIXTURES = sorted(p.name for p in FIXTURES.glob("*.json"))


def parse(name: str) -> list[InboundEvent]:
    return parse_delivery(fixture_json(name))


def only(name: str, kind: type) -> Any:
    events = parse(name)
    assert len(events) == 1, events
    assert isinstance(events[0], kind), events[0]
    return events[0]


def message(name: str) -> InboundMessage:
    msg: InboundMessage = only(name, InboundMessage)
    return msg


def ts(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def envelope(value: Any, field: str = "messages") -> dict[str, Any]:
    change = {"field": field, "value": value}
    return {"object": "whatsapp_business_account", "entry": [{"id": WABA, "changes": [change]}]}


def messages_value(*messages: Any) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "metadata": {"phone_number_id": PNID}, "messages": list(messages)}


# --- every file ---------------------------------------------------------------------------------------------------


def test_fixture_directory_is_complete() -> None:
    assert len(ALL_FIXTURES) >= 45


@pytest.mark.parametrize("name", ALL_FIXTURES)
def test_every_fixture_parses_to_at_least_one_event(name: str) -> None:
    events = parse(name)
    assert len(events) >= 1
    assert all(isinstance(e, InboundMessage | StatusUpdate | TemplateStatusUpdate | AccountNotice) for e in events)


# --- messages -----------------------------------------------------------------------------------------------------


def test_text_with_non_ascii_body() -> None:
    assert (FIXTURES / "messages_text.json").read_bytes().isascii()
    msg = message("messages_text.json")
    assert msg.type is MessageType.TEXT and msg.raw_type == "text"
    assert msg.external_id == "wamid.HBgMMzkzNDcxMjM0NTY3FQIAEhggQUM0RDY2OEM0NDM0RUVGMkYwRTdGRkRENjNENzQxNUQA"
    assert msg.channel_key == PNID
    assert msg.sender.wa_id == GIULIA and msg.sender.name == "Giulia Bianchi" and msg.sender.bsuid is None
    assert msg.text == "Buongiorno! Vorrei sapere perché il mio ordine non è ancora arrivato. Grazie \U0001f60a"
    assert msg.content == {"body": msg.text}
    assert msg.timestamp == ts(1790000100)
    assert msg.media is None and msg.context is None and msg.referral is None and msg.errors == ()
    assert msg.opens_window


def test_text_reply_context() -> None:
    msg = message("messages_text_reply.json")
    assert msg.context is not None
    assert msg.context.reply_to_external_id == "wamid.OUTBOUND0001"
    assert msg.context.reply_to_from == "15550783881"
    assert not msg.context.forwarded and not msg.context.frequently_forwarded


def test_forwarded_context() -> None:
    msg = message("messages_forwarded.json")
    assert msg.sender.wa_id == MARCO and msg.sender.name == "Marco Rossi"
    assert msg.context is not None and msg.context.forwarded and not msg.context.frequently_forwarded
    assert msg.context.reply_to_external_id is None


def test_frequently_forwarded_counts_as_forwarded() -> None:
    msg = message("messages_frequently_forwarded.json")
    assert msg.context is not None
    assert msg.context.frequently_forwarded
    assert msg.context.forwarded  # forwarded key absent: frequently forwarded implies forwarded


def test_referred_product_context() -> None:
    msg = message("messages_referred_product.json")
    assert msg.context is not None and msg.context.reply_to_external_id == "wamid.OUTBOUND0010"
    assert msg.context.referred_product == {"catalog_id": "194836987003835", "product_retailer_id": "SKU-SNEAKER-BLU"}


def test_referral_from_ad_kept() -> None:
    msg = message("messages_referral_ad.json")
    assert msg.sender.wa_id == OLIVER and msg.sender.name == "Oliver Smith"
    assert msg.type is MessageType.TEXT
    assert msg.referral is not None
    assert msg.referral["source_type"] == "ad" and msg.referral["source_id"] == "120212345678901234"
    assert msg.referral["media_type"] == "image" and msg.referral["image_url"].startswith("https://")
    assert msg.referral["ctwa_clid"].startswith("ARAkLkA8rmlF") and msg.referral["ctwa_clid"].endswith("EeUw")
    assert msg.referral["welcome_message"] == {"text": "Ciao! Come possiamo aiutarti?"}


@pytest.mark.parametrize(
    ("name", "mtype", "media_id", "mime", "caption"),
    [
        ("messages_image.json", MessageType.IMAGE, "1479537139650973", "image/jpeg",
         "Ecco la foto del pacco danneggiato"),
        ("messages_video.json", MessageType.VIDEO, "1066844508512345", "video/mp4", "Il rumore che fa la lavatrice"),
        ("messages_document.json", MessageType.DOCUMENT, "853201947362815", "application/pdf",
         "My boarding pass for tomorrow's flight"),
    ],
)
def test_captioned_media(name: str, mtype: MessageType, media_id: str, mime: str, caption: str) -> None:
    msg = message(name)
    assert msg.type is mtype and msg.media is not None
    assert msg.media.provider_id == media_id and msg.media.mime_type == mime
    assert msg.media.caption == caption and msg.text == caption and msg.content["caption"] == caption
    assert msg.media.sha256 and msg.media.sha256.endswith("=")
    assert msg.media.url is not None and msg.media.url.startswith("https://lookaside.fbsbx.com/")
    assert not msg.media.voice and not msg.media.animated


def test_document_filename() -> None:
    msg = message("messages_document.json")
    assert msg.media is not None and msg.media.filename == "boarding_pass.pdf"
    assert msg.content["filename"] == "boarding_pass.pdf" and msg.content["mime_type"] == "application/pdf"


def test_audio_voice_note() -> None:
    msg = message("messages_audio_voice.json")
    assert msg.type is MessageType.AUDIO and msg.media is not None
    assert msg.media.provider_id == "1234987650012345" and msg.media.mime_type == "audio/ogg; codecs=opus"
    assert msg.media.voice is True and msg.content["voice"] is True
    assert msg.text is None and "caption" not in msg.content


def test_audio_file_is_not_voice() -> None:
    msg = message("messages_audio_file.json")
    assert msg.type is MessageType.AUDIO and msg.media is not None
    assert msg.media.provider_id == "987123456789012" and msg.media.mime_type == "audio/mpeg"
    assert msg.media.voice is False and msg.content["voice"] is False
    assert msg.sender.wa_id == OLIVER


def test_static_sticker() -> None:
    msg = message("messages_sticker.json")
    assert msg.type is MessageType.STICKER and msg.media is not None
    assert msg.media.provider_id == "3112457890123456" and msg.media.mime_type == "image/webp"
    assert msg.media.animated is False and msg.content["animated"] is False
    assert "voice" not in msg.content


def test_location_pin_without_name() -> None:
    msg = message("messages_location_pin.json")
    assert msg.type is MessageType.LOCATION and msg.media is None
    assert msg.content["latitude"] == pytest.approx(45.4780972)
    assert msg.content["longitude"] == pytest.approx(9.2256208)
    assert msg.content["name"] is None and msg.content["address"] is None and msg.content["url"] is None
    assert msg.text is None


def test_location_place_with_name() -> None:
    msg = message("messages_location_place.json")
    assert msg.content["name"] == "Stazione di Milano Centrale"
    assert msg.content["address"] == "Piazza Duca d'Aosta 1, 20124 Milano MI, Italia"
    assert msg.content["url"] == "https://www.milanocentrale.it/"
    assert msg.content["latitude"] == pytest.approx(45.4859724)
    assert msg.text is not None and msg.text.startswith("Stazione di Milano Centrale")


def test_contacts_vcards() -> None:
    msg = message("messages_contacts.json")
    assert msg.type is MessageType.CONTACTS
    full, minimal = msg.content["contacts"]
    assert full["name"]["formatted_name"] == "Dott.ssa Chiara M. Verdi"
    assert [p.get("wa_id") for p in full["phones"]] == ["393471234570", None]
    assert len(full["emails"]) == 2 and full["birthday"] == "1988-04-17"
    assert full["org"]["company"] == "Studio Verdi & Associati" and full["addresses"] and full["urls"]
    assert minimal == {"name": {"formatted_name": "Idraulico Bruno"}, "phones": [{"phone": "+39 333 765 4321",
                                                                                "type": "MOBILE"}]}
    assert "wa_id" not in minimal["phones"][0]
    assert msg.text == "Dott.ssa Chiara M. Verdi, Idraulico Bruno"
    assert msg.sender.wa_id == GIULIA  # the sender, not the shared contacts


def test_interactive_button_reply() -> None:
    msg = message("messages_interactive_button_reply.json")
    assert msg.type is MessageType.INTERACTIVE
    assert msg.content == {"interactive_type": "button_reply", "id": "appt_confirm_7781", "title": "Conferma"}
    assert msg.text == "Conferma"
    assert msg.context is not None and msg.context.reply_to_external_id == "wamid.OUTBOUND0011"


def test_interactive_list_reply() -> None:
    msg = message("messages_interactive_list_reply.json")
    assert msg.content["interactive_type"] == "list_reply"
    assert msg.content["id"] == "slot_2026-09-25T10:00" and msg.content["title"] == "Gio 25 set, 10:00"
    assert msg.content["description"] == "Sede di Milano, Via Dante 12"
    assert msg.context is not None and msg.context.reply_to_external_id == "wamid.OUTBOUND0012"


def test_interactive_nfm_reply_response_json_is_parsed() -> None:
    msg = message("messages_interactive_nfm_reply.json")
    assert msg.content["interactive_type"] == "nfm_reply"
    assert msg.content["name"] == "flow" and msg.content["body"] == "Sent" and msg.text == "Sent"
    response = msg.content["response"]
    assert isinstance(response, dict)
    assert response["flow_token"] == "centralino-flow-7f3a9c2e"
    assert response["consenso_privacy"] is True and response["data_preferita"] == "2026-09-30"
    assert msg.context is not None and msg.context.reply_to_external_id == "wamid.OUTBOUND0013"


def test_nfm_reply_with_broken_response_json_keeps_the_string() -> None:
    body = envelope(messages_value({"id": "wamid.X", "from": GIULIA, "type": "interactive", "interactive": {
        "type": "nfm_reply", "nfm_reply": {"name": "flow", "body": "Sent", "response_json": "{not json"}}}))
    (msg,) = parse_delivery(body)
    assert isinstance(msg, InboundMessage) and msg.content["response"] == "{not json"


def test_template_quick_reply_button() -> None:
    msg = message("messages_button.json")
    assert msg.type is MessageType.BUTTON
    assert msg.content == {"payload": "STOP_MARKETING", "text": "Stop promotions"}
    assert msg.text == "Stop promotions"
    assert msg.context is not None and msg.context.reply_to_external_id == "wamid.OUTBOUND0014"


def test_reaction_added() -> None:
    msg = message("messages_reaction.json")
    assert msg.type is MessageType.REACTION
    assert msg.reaction_target == "wamid.OUTBOUND0001"
    assert msg.content == {"message_id": "wamid.OUTBOUND0001", "emoji": "\U0001f44d", "removed": False}
    assert msg.timestamp == ts(1790001240)


def test_reaction_removed() -> None:
    msg = message("messages_reaction_removed.json")
    assert msg.reaction_target == "wamid.OUTBOUND0001"
    assert msg.content["removed"] is True and msg.content["emoji"] == ""
    assert msg.timestamp == ts(1790001300)


def test_reaction_without_emoji_key_is_a_removal() -> None:
    body = envelope(messages_value({"id": "wamid.R", "from": GIULIA, "type": "reaction",
                                    "reaction": {"message_id": "wamid.OUTBOUND0001"}}))
    (msg,) = parse_delivery(body)
    assert isinstance(msg, InboundMessage) and msg.content["removed"] is True and msg.content["emoji"] == ""


def test_order_items() -> None:
    msg = message("messages_order.json")
    assert msg.type is MessageType.ORDER
    assert msg.content["catalog_id"] == "194836987003835"
    assert msg.text == "Consegna entro venerdi per favore"
    assert msg.content["items"] == [
        {"product_retailer_id": "SKU-CAFFE-250", "quantity": 2, "item_price": 7.9, "currency": "EUR"},
        {"product_retailer_id": "SKU-MOKA-3TZ", "quantity": 1, "item_price": 24.5, "currency": "EUR"},
    ]


def test_system_number_change() -> None:
    msg = message("messages_system_number_changed.json")
    assert msg.type is MessageType.SYSTEM
    assert msg.sender.wa_id == GIULIA and msg.sender.name is None  # no contacts[] on system messages
    assert msg.new_wa_id == "393471234600"
    assert msg.content["system_type"] == "user_changed_number" and msg.content["wa_id"] == "393471234600"
    assert msg.text is not None and GIULIA in msg.text and "393471234600" in msg.text
    assert not msg.opens_window


def test_unsupported_kept_with_errors() -> None:
    msg = message("messages_unsupported.json")
    assert msg.type is MessageType.UNSUPPORTED
    assert msg.content == {"unsupported_type": "poll_creation"}
    (err,) = msg.errors
    assert err.code == 131051 and err.title == "Message type unknown" and err.message == "Message type unknown"
    assert err.details == "Message type is currently not supported."


def test_old_unknown_shape_kept_with_errors() -> None:
    msg = message("messages_unknown.json")
    assert msg.type is MessageType.UNKNOWN and msg.raw_type == "unknown"
    assert msg.external_id == "wamid.HBgMNDQ3NzAwOTAwMTIzFQIAEhggMDA0NDJFMkVGQzMzOTkxMDU0NkM1NjA5RDhEQjc1MjAA"
    (err,) = msg.errors
    assert err.code == 131051 and err.title == "Unsupported message type"
    assert err.details == "Message type is not currently supported" and err.message is None
    assert msg.sender.name == "Oliver Smith"


def test_unknown_future_type_keeps_raw_content() -> None:
    raw = fixture_json("messages_unknown_future_type.json")["entry"][0]["changes"][0]["value"]["messages"][0]
    msg = message("messages_unknown_future_type.json")
    assert msg.type is MessageType.UNKNOWN and msg.raw_type == "hologram"
    assert msg.content["raw_type"] == "hologram" and msg.content["hologram"] == raw["hologram"]
    assert msg.raw == raw and msg.media is None
    assert msg.external_id == "wamid.HBgMMzkzNDcxMjM0NTY3FQIAEhggREM3MENGODdENzVBQzRFNzk4QzRGM0Q1QjgyQjczNTUA"


def test_bsuid_only_sender() -> None:
    msg = message("messages_bsuid_only.json")
    assert msg.sender.wa_id is None and msg.sender.bsuid == LUCA_BSUID
    assert msg.sender.name == "Luca Ferri" and msg.sender.username == "luca.ferri"


def test_bsuid_and_wa_id_sender() -> None:
    msg = message("messages_bsuid_and_wa_id.json")
    assert msg.sender.wa_id == "393471234599" and msg.sender.bsuid == LUCA_BSUID
    assert msg.sender.name == "Luca Ferri" and msg.sender.username == "luca.ferri"


def test_message_with_unknown_fields_parses_and_keeps_them_in_raw() -> None:
    msg = message("message_with_unknown_fields.json")
    assert msg.type is MessageType.TEXT and msg.text == "Messaggio con campi nuovi"
    assert msg.content == {"body": "Messaggio con campi nuovi"}
    assert msg.sender.wa_id == MARCO and msg.sender.name == "Marco Rossi"
    assert msg.raw["priority"] == "normal" and msg.raw["edit_history"] == []
    assert msg.raw["ephemeral"] == {"expires_in_seconds": 604800}
    assert msg.raw["text"]["preview_url_detected"] is False and msg.raw["text"]["formatting"]


def test_batch_attributes_every_message_by_sender() -> None:
    events = parse("messages_batch_many_senders.json")
    messages = [e for e in events if isinstance(e, InboundMessage)]
    statuses = [e for e in events if isinstance(e, StatusUpdate)]
    assert len(events) == 9 and len(messages) == 6 and len(statuses) == 3
    assert [(m.sender.wa_id, m.type, m.channel_key) for m in messages] == [
        (GIULIA, MessageType.TEXT, PNID), (OLIVER, MessageType.TEXT, PNID), (GIULIA, MessageType.IMAGE, PNID),
        (MARCO, MessageType.TEXT, PNID), (MARCO, MessageType.TEXT, PNID_2), (OLIVER, MessageType.TEXT, PNID_2),
    ]
    for msg in messages:
        assert msg.sender.wa_id is not None
        assert msg.sender.name == NAMES[msg.sender.wa_id], msg.external_id
    assert messages[0].text == "Buonasera, avete ricevuto la mia mail?"
    assert messages[2].media is not None and messages[2].media.provider_id == "1590001112223334"
    assert len({m.external_id for m in messages}) == 6
    assert [(s.external_id, s.status, s.recipient_id, s.channel_key) for s in statuses] == [
        ("wamid.OUTBOUND0004", DeliveryStatus.READ, MARCO, PNID),
        ("wamid.OUTBOUND0005", DeliveryStatus.SENT, OLIVER, PNID),
        ("wamid.OUTBOUND0006", DeliveryStatus.DELIVERED, GIULIA, PNID_2),
    ]


# --- statuses -----------------------------------------------------------------------------------------------------


def test_status_sent_with_pricing_and_callback() -> None:
    st_ = only("statuses_sent.json", StatusUpdate)
    assert st_.external_id == "wamid.OUTBOUND0001" and st_.status is DeliveryStatus.SENT and st_.raw_status == "sent"
    assert st_.recipient_id == GIULIA and st_.channel_key == PNID and st_.timestamp == ts(1790000000)
    assert st_.pricing == {"billable": True, "pricing_model": "PMP", "type": "regular", "category": "utility"}
    assert st_.conversation is not None and st_.conversation["id"] == "9d3c5e1a7b2f4c8e0a6d2b9f1e7c3a55"
    assert st_.conversation["expiration_timestamp"] == "1790086400"
    assert st_.callback_data == "ticket=T-2026-004211;msg=ob-0001"
    assert st_.errors == ()


def test_status_delivered() -> None:
    st_ = only("statuses_delivered.json", StatusUpdate)
    assert st_.status is DeliveryStatus.DELIVERED and st_.timestamp == ts(1790000003)
    assert st_.pricing is not None and st_.pricing["category"] == "utility"
    assert st_.conversation is not None and "expiration_timestamp" not in st_.conversation


def test_status_read_without_pricing() -> None:
    st_ = only("statuses_read.json", StatusUpdate)
    assert st_.status is DeliveryStatus.READ and st_.timestamp == ts(1790000042)
    assert st_.pricing is None and st_.conversation is None


def test_status_played() -> None:
    st_ = only("statuses_played.json", StatusUpdate)
    assert st_.external_id == "wamid.OUTBOUND0002" and st_.status is DeliveryStatus.PLAYED
    assert st_.recipient_id == GIULIA


def test_status_failed_with_error() -> None:
    st_ = only("statuses_failed.json", StatusUpdate)
    assert st_.external_id == "wamid.OUTBOUND0003" and st_.status is DeliveryStatus.FAILED
    assert st_.recipient_id == OLIVER
    (err,) = st_.errors
    assert err.code == 131047 and err.title == "Re-engagement message"
    assert err.details is not None and err.details.startswith("Message failed to send because more than 24 hours")
    assert err.href == "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"


def test_status_unknown_value_kept_raw() -> None:
    st_ = only("statuses_unknown_status.json", StatusUpdate)
    assert st_.status is DeliveryStatus.UNKNOWN and st_.raw_status == "warped"
    assert st_.external_id == "wamid.OUTBOUND0001"


def test_status_for_unknown_wamid_still_parsed() -> None:
    st_ = only("statuses_unknown_wamid.json", StatusUpdate)
    assert st_.external_id == "wamid.NEVERSEEN" and st_.status is DeliveryStatus.DELIVERED
    assert st_.recipient_id == MARCO


# --- account-level fields -----------------------------------------------------------------------------------------


def test_value_level_errors_become_a_notice() -> None:
    notice = only("value_errors.json", AccountNotice)
    assert notice.kind == "value_error" and notice.field == "messages"
    assert notice.waba_id == WABA and notice.channel_key == PNID
    (err,) = notice.errors
    assert err.code == 130429 and err.title == "Rate limit hit"
    assert err.details == "Cloud API message throughput has been reached."


@pytest.mark.parametrize(
    ("name", "status", "template_id", "template_name", "reason"),
    [
        ("template_status_approved.json", TemplateStatus.APPROVED, "1283746509182736", "conferma_appuntamento",
         "NONE"),
        ("template_status_rejected.json", TemplateStatus.REJECTED, "1283746509182737", "promo_autunno_2026",
         "INVALID_FORMAT"),
        ("template_status_paused.json", TemplateStatus.PAUSED, "1283746509182738", "promo_black_friday", "NONE"),
    ],
)
def test_template_status(name: str, status: TemplateStatus, template_id: str, template_name: str,
                         reason: str) -> None:
    update = only(name, TemplateStatusUpdate)
    assert update.status is status and update.raw_event == status.value.upper()
    assert update.template_id == template_id and update.name == template_name and update.language == "it"
    assert update.reason == reason and update.waba_id == WABA
    assert update.timestamp is not None and update.timestamp.tzinfo is UTC


def test_template_status_extras_kept_in_raw() -> None:
    rejected = only("template_status_rejected.json", TemplateStatusUpdate)
    assert set(rejected.raw["rejection_info"]) == {"reason", "recommendation"}
    paused = only("template_status_paused.json", TemplateStatusUpdate)
    assert paused.raw["other_info"]["title"] == "FIRST_PAUSE"
    approved = only("template_status_approved.json", TemplateStatusUpdate)
    assert approved.timestamp == ts(1790003600)


def test_template_status_unknown_event() -> None:
    update = only("template_status_unknown_event.json", TemplateStatusUpdate)
    assert update.status is TemplateStatus.UNKNOWN and update.raw_event == "TELEPORTED"
    assert update.template_id == "1283746509182736"


def test_template_quality_update() -> None:
    notice = only("template_quality_update.json", AccountNotice)
    assert notice.kind == "template_quality" and notice.field == "message_template_quality_update"
    assert notice.data["previous_quality_score"] == "GREEN" and notice.data["new_quality_score"] == "RED"
    assert notice.data["message_template_id"] == 1283746509182738
    assert notice.waba_id == WABA and notice.timestamp == ts(1790003700)


def test_template_category_update() -> None:
    notice = only("template_category_update.json", AccountNotice)
    assert notice.kind == "template_category" and notice.field == "template_category_update"
    assert notice.data["previous_category"] == "UTILITY" and notice.data["new_category"] == "MARKETING"
    assert notice.data["message_template_name"] == "avviso_spedizione"


@pytest.mark.parametrize(("name", "value", "seconds"), [
    ("user_preferences_stop.json", "stop", 1790004000),
    ("user_preferences_resume.json", "resume", 1790004600),
])
def test_user_preferences(name: str, value: str, seconds: int) -> None:
    notice = only(name, AccountNotice)
    assert notice.kind == "user_preference" and notice.field == "user_preferences"
    assert notice.sender is not None and notice.sender.wa_id == OLIVER and notice.sender.name == "Oliver Smith"
    assert notice.data["value"] == value and notice.data["category"] == "marketing_messages"
    assert notice.timestamp == ts(seconds) and notice.channel_key == PNID


def test_unknown_field_is_acknowledged_as_a_notice() -> None:
    notice = only("unknown_field.json", AccountNotice)
    assert notice.kind == "unknown_field" and notice.field == "security"
    assert notice.data["event"] == "PIN_CHANGED" and notice.channel_key is None
    assert notice.waba_id == WABA and notice.timestamp == ts(1790004700)


def test_second_waba_id_reported() -> None:
    body = fixture_json("value_errors.json")
    body["entry"][0]["id"] = WABA_2
    (notice,) = parse_delivery(body)
    assert isinstance(notice, AccountNotice) and notice.waba_id == WABA_2


# --- malformed input ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [
    {},
    {"entry": None},
    {"entry": "nope"},
    {"entry": {"id": WABA}},
    {"entry": [1, "x", None, []]},
    {"entry": [{"changes": "nope"}]},
    {"entry": [{"changes": [None, 3, "x"]}]},
    envelope(None),
    envelope("text"),
    envelope({"messages": "nope", "statuses": {"id": "x"}, "contacts": 5, "errors": "boom"}),
    envelope({"messages": [None, 1, "x", []], "statuses": [None, 2]}),
])
def test_malformed_containers_never_raise(body: dict[str, Any]) -> None:
    events = parse_delivery(body)
    assert all(not isinstance(e, InboundMessage | StatusUpdate) for e in events)


def test_non_dict_items_are_skipped_but_neighbours_survive() -> None:
    good = {"id": "wamid.GOOD", "from": GIULIA, "timestamp": "1790000100", "type": "text", "text": {"body": "hi"}}
    events = parse_delivery(envelope(messages_value(None, "junk", good, 7, [good])))
    assert [e.external_id for e in events if isinstance(e, InboundMessage)] == ["wamid.GOOD"]


def test_message_without_id_gets_a_stable_synthetic_id() -> None:
    item = {"from": GIULIA, "timestamp": "1790000100", "type": "text", "text": {"body": "no id"}}
    (first,) = parse_delivery(envelope(messages_value(item)))
    (second,) = parse_delivery(envelope(messages_value(copy.deepcopy(item))))
    other = dict(item, text={"body": "another"})
    (third,) = parse_delivery(envelope(messages_value(other)))
    assert isinstance(first, InboundMessage) and isinstance(second, InboundMessage)
    assert isinstance(third, InboundMessage)
    assert first.external_id and first.external_id == second.external_id
    assert first.external_id != third.external_id


def test_numbers_out_of_range_do_not_raise() -> None:
    # stdlib json.loads yields ints beyond 64 bits and floats like Infinity; neither may crash the parser
    big = 2**70
    items = [
        {"from": GIULIA, "type": "text", "text": {"body": "no id"}, "extra": big},
        {"id": "wamid.L", "type": "location", "location": {"latitude": 10**400, "longitude": float("inf")}},
    ]
    first = parse_delivery(envelope(messages_value(*copy.deepcopy(items))))
    second = parse_delivery(envelope(messages_value(*copy.deepcopy(items))))
    assert isinstance(first[0], InboundMessage) and isinstance(second[0], InboundMessage)
    assert first[0].external_id.startswith("synthetic.") and first[0].external_id == second[0].external_id
    assert isinstance(first[1], InboundMessage) and first[1].content["latitude"] is None


@pytest.mark.parametrize("timestamp", [None, "garbage", "", {"x": 1}, [1], "1.5e9", float("nan"), float("inf")])
def test_missing_or_garbage_timestamp_falls_back_to_now(timestamp: Any) -> None:
    item: dict[str, Any] = {"id": "wamid.T", "from": GIULIA, "type": "text", "text": {"body": "x"}}
    if timestamp is not None:
        item["timestamp"] = timestamp
    before = datetime.now(UTC)
    (msg,) = parse_delivery(envelope(messages_value(item)))
    assert isinstance(msg, InboundMessage)
    assert before - timedelta(seconds=1) <= msg.timestamp <= datetime.now(UTC) + timedelta(seconds=1)


def test_status_without_errors_list_or_status() -> None:
    value = {"metadata": {"phone_number_id": PNID}, "statuses": [
        {"id": "wamid.S1", "status": "failed", "timestamp": "1790000000", "errors": "not a list"},
        {"id": "wamid.S2", "timestamp": "x"},
        {"status": "delivered"},
    ]}
    failed, bare, anonymous = parse_delivery(envelope(value))
    assert isinstance(failed, StatusUpdate) and failed.status is DeliveryStatus.FAILED and failed.errors == ()
    assert isinstance(bare, StatusUpdate) and bare.status is DeliveryStatus.UNKNOWN and bare.raw_status == "unknown"
    assert isinstance(anonymous, StatusUpdate) and anonymous.external_id.startswith("synthetic.")


def test_message_without_type_or_sender_is_kept_as_unknown() -> None:
    (msg,) = parse_delivery(envelope(messages_value({"id": "wamid.BARE"})))
    assert isinstance(msg, InboundMessage) and msg.type is MessageType.UNKNOWN
    assert msg.sender.wa_id is None and msg.sender.name is None and msg.channel_key == PNID


def test_wrongly_typed_sub_objects_do_not_raise() -> None:
    items: list[dict[str, Any]] = [
        {"id": "wamid.1", "type": "text", "text": "not an object"},
        {"id": "wamid.2", "type": "image", "image": ["x"]},
        {"id": "wamid.3", "type": "location", "location": {"latitude": "north", "longitude": None}},
        {"id": "wamid.4", "type": "contacts", "contacts": [{"name": "flat"}, 5]},
        {"id": "wamid.5", "type": "interactive", "interactive": {"type": "cta_url"}},
        {"id": "wamid.6", "type": "order", "order": {"product_items": "none"}},
        {"id": "wamid.7", "type": "text", "context": "reply", "referral": [], "errors": [{"code": "x"}, 4]},
    ]
    events = parse_delivery(envelope(messages_value(*items)))
    assert [e.external_id for e in events if isinstance(e, InboundMessage)] == [i["id"] for i in items]
    by_id = {e.external_id: e for e in events if isinstance(e, InboundMessage)}
    assert by_id["wamid.3"].content["latitude"] is None
    assert by_id["wamid.7"].context is None and by_id["wamid.7"].referral is None
    assert [e.code for e in by_id["wamid.7"].errors] == [None]


# --- property -----------------------------------------------------------------------------------------------------

_KEYS = st.sampled_from([
    "id", "from", "from_user_id", "timestamp", "type", "text", "body", "image", "audio", "location", "latitude",
    "contacts", "profile", "name", "wa_id", "user_id", "interactive", "nfm_reply", "response_json", "reaction",
    "emoji", "order", "product_items", "system", "errors", "error_data", "code", "context", "referral",
    "statuses", "status", "messages", "metadata", "phone_number_id", "event", "user_preferences", "pricing",
]) | st.text(max_size=8)
_SCALARS = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True)
            | st.text(max_size=12) | st.sampled_from(["text", "image", "interactive", "nfm_reply", "reaction",
                                                     "system", "1790000100", "{}", "[1"]))
JSONISH = st.recursive(
    _SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_KEYS, children, max_size=6),
    max_leaves=40,
)
_FIELDS = st.sampled_from(["messages", "message_template_status_update", "message_template_quality_update",
                           "template_category_update", "user_preferences", "security"]) | st.text(max_size=6)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(field=_FIELDS, value=JSONISH, items=st.lists(st.dictionaries(_KEYS, JSONISH, max_size=8), max_size=3))
def test_parse_delivery_never_raises_on_arbitrary_values(field: str, value: Any, items: list[Any]) -> None:
    parse_delivery(envelope(value, field))
    with_items = {"metadata": {"phone_number_id": PNID}, "contacts": items, "messages": items, "statuses": items,
                  "errors": items, "user_preferences": items}
    events = parse_delivery(envelope(with_items, field))
    if field == "messages":
        assert sum(isinstance(e, InboundMessage) for e in events) == len(items)

"""The inbound pipeline end to end on the real database: every shape lands as described."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from centralino.storage.tables import (
    contact_identities,
    contacts,
    conversations,
    message_media,
    messages,
    provider_notices,
    webhook_deliveries,
)
from tests.factories import PNID, PNID_2, both_channels, outbound_message, text_delivery, whatsapp_channel
from tests.helpers import count, ingest, message, rows, store

GIULIA = "393471234567"
TEXT_ID = "wamid.HBgMMzkzNDcxMjM0NTY3FQIAEhggQUM0RDY2OEM0NDM0RUVGMkYwRTdGRkRENjNENzQxNUQA"


def ts(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def test_text_message_lands_with_contact_conversation_window_and_events(services, recorder):
    channel_id = whatsapp_channel(services)
    ingest(services, "messages_text.json")

    msg = message(services, TEXT_ID)
    assert msg["direction"] == "in" and msg["type"] == "text" and msg["channel_id"] == channel_id
    assert msg["text"] == "Buongiorno! Vorrei sapere perch\u00e9 il mio ordine non \u00e8 ancora arrivato. Grazie \U0001f60a"
    assert msg["sent_at"] == ts(1790000100)
    assert msg["raw"]["id"] == TEXT_ID  # the provider's item is kept whole

    [contact] = rows(services, contacts)
    assert contact["display_name"] == "Giulia Bianchi"
    idents = {(i["kind"], i["value"]) for i in rows(services, contact_identities)}
    assert idents == {("whatsapp", GIULIA), ("phone", "+393471234567")}

    [conv] = rows(services, conversations)
    assert conv["contact_id"] == contact["id"] and conv["channel_id"] == channel_id and conv["status"] == "open"
    # The window runs from the customer's timestamp, not from when we processed it.
    assert conv["last_inbound_at"] == ts(1790000100)
    assert conv["window_expires_at"] == ts(1790000100) + timedelta(hours=24)

    assert recorder.types() == ["contact.created", "conversation.opened", "message.received"]
    assert recorder.events[-1].payload["message_id"] == msg["id"]
    assert [d["state"] for d in rows(services, webhook_deliveries)] == ["processed"]


def test_events_are_published_only_after_commit_and_kept_in_the_event_log(services, recorder):
    whatsapp_channel(services)
    seen_in_db = []

    def check(event):
        # A listener runs after commit: another connection already sees the message.
        seen_in_db.append(count(services, messages) == 1)

    services.bus.subscribe("message.received", check)
    ingest(services, "messages_text.json")
    assert seen_in_db == [True]
    from centralino.storage.tables import events

    assert [e["type"] for e in rows(services, events)] == recorder.types()


def test_same_delivery_repeated_and_rebatched_lands_once(services, recorder):
    both_channels(services)
    ingest(services, "messages_text.json", "messages_text.json")
    ingest(services, "messages_batch_many_senders.json")
    received = recorder.types().count("message.received")
    ingest(services, "messages_batch_many_senders.json", "messages_text.json")
    assert count(services, messages) == 7
    assert recorder.types().count("message.received") == received == 7
    assert count(services, webhook_deliveries, webhook_deliveries.c.state == "processed") == 5


def test_batch_attributes_messages_by_sender_not_position(services):
    both_channels(services)
    ingest(services, "messages_batch_many_senders.json")
    msgs = rows(services, messages)
    assert len(msgs) == 6
    names = {c["id"]: c["display_name"] for c in rows(services, contacts)}
    idents = {i["contact_id"]: i["value"] for i in rows(services, contact_identities,
                                                        contact_identities.c.kind == "whatsapp")}
    expected = {"393471234567": "Giulia Bianchi", "393381234568": "Marco Rossi", "447700900123": "Oliver Smith"}
    for m in msgs:
        assert m["raw"]["from"] == idents[m["contact_id"]]
        assert names[m["contact_id"]] == expected[m["raw"]["from"]]
    per_channel = sorted(m["channel_id"] for m in msgs)
    assert per_channel == [1, 1, 1, 1, 2, 2]
    # One conversation per (contact, channel): Giulia 1, Oliver 2, Marco 2.
    assert count(services, conversations) == 5


def test_older_message_delivered_late_never_shortens_window(services):
    whatsapp_channel(services)
    store(services, text_delivery(GIULIA, "second", 1790005000, "wamid.B"))
    store(services, text_delivery(GIULIA, "first", 1790000000, "wamid.A"))
    services.delivery_worker.drain()
    [conv] = rows(services, conversations)
    assert conv["last_inbound_at"] == ts(1790005000)
    assert conv["window_expires_at"] == ts(1790005000) + timedelta(hours=24)


def test_statuses_apply_monotonically_and_failed_keeps_its_code(services, recorder):
    whatsapp_channel(services)
    first = outbound_message(services, "wamid.OUTBOUND0001")
    failed = outbound_message(services, "wamid.OUTBOUND0003", wa_id="447700900123")
    ingest(services, "statuses_read.json", "statuses_delivered.json", "statuses_sent.json",
           "statuses_unknown_status.json", "statuses_failed.json", "statuses_read.json")
    m1 = message(services, "wamid.OUTBOUND0001")
    assert m1["status"] == "read"  # delivered and sent arriving after read never downgrade it
    m3 = message(services, "wamid.OUTBOUND0003")
    assert (m3["status"], m3["error_code"], m3["error_title"]) == ("failed", 131047, "Re-engagement message")
    assert m3["error_details"]
    changes = [e.payload for e in recorder.events if e.type == "message.status_changed"]
    assert [(c["message_id"], c["status"]) for c in changes] == [(first, "read"), (failed, "failed")]
    assert changes[1]["error_code"] == 131047
    history = rows(services, __import__("centralino.storage.tables", fromlist=["status_history"]).status_history)
    assert sorted(h["raw_status"] for h in history if h["message_id"] == first) == [
        "delivered", "read", "sent", "warped"]
    sent = next(h for h in history if h["raw_status"] == "sent")
    assert sent["pricing"]["category"] == "utility"


def test_played_status_and_status_for_unknown_message_linked_when_it_appears(services, recorder):
    whatsapp_channel(services)
    ingest(services, "statuses_unknown_wamid.json", "statuses_played.json")
    assert "message.status_unmatched" in recorder.types()
    assert count(services, messages) == 0
    # The message was being recorded by the sender when its statuses overtook it.
    outbound_message(services, "wamid.OUTBOUND0002")
    from centralino.storage.tables import status_history

    [played] = rows(services, status_history, status_history.c.external_id == "wamid.OUTBOUND0002")
    assert played["message_id"] == message(services, "wamid.OUTBOUND0002")["id"]


def test_reaction_added_then_removed_in_either_order(services, recorder):
    from centralino.storage.tables import message_reactions

    whatsapp_channel(services)
    target = outbound_message(services, "wamid.OUTBOUND0001")
    ingest(services, "messages_reaction.json")
    [reaction] = rows(services, message_reactions)
    assert reaction["emoji"] == "\U0001f44d" and reaction["target_message_id"] == target
    ingest(services, "messages_reaction_removed.json")
    assert rows(services, message_reactions)[0]["emoji"] == ""
    assert [e.payload["emoji"] for e in recorder.events if e.type == "message.reaction_changed"] == ["\U0001f44d", ""]


def test_reaction_removal_delivered_before_the_reaction_stays_removed(services):
    from centralino.storage.tables import message_reactions

    whatsapp_channel(services)
    ingest(services, "messages_reaction_removed.json", "messages_reaction.json")
    [reaction] = rows(services, message_reactions)
    assert reaction["emoji"] == "" and reaction["target_message_id"] is None
    target = outbound_message(services, "wamid.OUTBOUND0001")
    assert rows(services, message_reactions)[0]["target_message_id"] == target


def test_reply_is_linked_to_the_quoted_message_even_when_that_arrives_later(services):
    whatsapp_channel(services)
    ingest(services, "messages_text_reply.json")
    reply = message(services, "wamid.HBgMMzkzNDcxMjM0NTY3FQIAEhggMzgwQzNFMDZFNUEzOTRFMTRBMTY1OENFMjI3NTQzOEMA")
    assert reply["reply_to_external_id"] == "wamid.OUTBOUND0001" and reply["reply_to_message_id"] is None
    quoted = outbound_message(services, "wamid.OUTBOUND0001")
    assert message(services, reply["external_id"])["reply_to_message_id"] == quoted
    # and directly when the quoted message is already known
    store(services, text_delivery(GIULIA, "again", 1790000200, "wamid.R2",
                                  context={"from": "15550783881", "id": "wamid.OUTBOUND0001"}))
    services.delivery_worker.drain()
    assert message(services, "wamid.R2")["reply_to_message_id"] == quoted


def test_context_flags_referral_and_product(services):
    whatsapp_channel(services)
    ingest(services, "messages_forwarded.json", "messages_frequently_forwarded.json", "messages_referral_ad.json",
           "messages_referred_product.json")
    by_type = rows(services, messages)
    assert sum(m["forwarded"] for m in by_type) == 2  # frequently forwarded is forwarded too
    assert sum(m["frequently_forwarded"] for m in by_type) == 1
    [ad] = [m for m in by_type if m["referral"]]
    assert ad["referral"]["ctwa_clid"] and ad["referral"]["source_type"] == "ad"
    [product] = [m for m in by_type if m["raw"].get("context", {}).get("referred_product")]
    assert product["reply_to_external_id"] == "wamid.OUTBOUND0010"


def test_media_messages_create_pending_downloads_with_their_details(services):
    whatsapp_channel(services)
    ingest(services, "messages_image.json", "messages_audio_voice.json", "messages_document.json",
           "messages_sticker.json", "messages_video.json", "messages_audio_file.json")
    media = {m["provider_id"]: m for m in rows(services, message_media)}
    assert len(media) == 6 and all(m["state"] == "pending" for m in media.values())
    assert media["1234987650012345"]["voice"] is True
    assert media["987123456789012"]["voice"] is False
    assert media["853201947362815"]["filename"] == "boarding_pass.pdf"
    doc = next(m for m in rows(services, messages) if m["type"] == "document")
    assert doc["content"]["filename"] == "boarding_pass.pdf" and doc["text"]


def test_every_other_message_shape_is_stored_never_dropped(services):
    whatsapp_channel(services)
    names = ["messages_location_pin.json", "messages_location_place.json", "messages_contacts.json",
             "messages_interactive_button_reply.json", "messages_interactive_list_reply.json",
             "messages_interactive_nfm_reply.json", "messages_button.json", "messages_order.json",
             "messages_unsupported.json", "messages_unknown.json", "messages_unknown_future_type.json",
             "message_with_unknown_fields.json"]
    ingest(services, *names)
    stored = rows(services, messages)
    assert len(stored) == len(names)
    types = sorted(m["type"] for m in stored)
    assert types == sorted(["location", "location", "contacts", "interactive", "interactive", "interactive",
                            "button", "order", "unsupported", "unknown", "unknown", "text"])
    unsupported = [m for m in stored if m["type"] in ("unsupported", "unknown")]
    assert all(m["error_code"] == 131051 for m in unsupported if m["raw_type"] != "hologram")
    hologram = next(m for m in stored if m["raw_type"] == "hologram")
    assert "hologram" in hologram["content"]
    nfm = next(m for m in stored if m["content"].get("interactive_type") == "nfm_reply")
    assert nfm["content"]["response"]["flow_token"] == "centralino-flow-7f3a9c2e"
    order = next(m for m in stored if m["type"] == "order")
    assert [i["product_retailer_id"] for i in order["content"]["items"]] == ["SKU-CAFFE-250", "SKU-MOKA-3TZ"]


def test_bsuid_only_sender_then_both_ids_is_one_contact(services):
    whatsapp_channel(services)
    ingest(services, "messages_bsuid_only.json")
    [contact] = rows(services, contacts)
    assert contact["username"] == "luca.ferri" and contact["display_name"] == "Luca Ferri"
    ingest(services, "messages_bsuid_and_wa_id.json")
    assert count(services, contacts) == 1
    idents = {(i["kind"], i["value"]) for i in rows(services, contact_identities)}
    assert idents == {("whatsapp_bsuid", "IT.13491208655302741918"), ("whatsapp", "393471234599"),
                      ("phone", "+393471234599")}
    assert count(services, conversations) == 1


def test_phone_contact_and_bsuid_contact_merge_when_both_ids_are_seen(services, recorder):
    whatsapp_channel(services)
    store(services, text_delivery("393471234599", "from the phone", 1790000000, "wamid.P1", name="Luca"))
    services.delivery_worker.drain()
    ingest(services, "messages_bsuid_only.json")
    assert count(services, contacts, contacts.c.merged_into_id.is_(None)) == 2
    ingest(services, "messages_bsuid_and_wa_id.json")
    live = rows(services, contacts, contacts.c.merged_into_id.is_(None))
    assert len(live) == 1
    keep = live[0]["id"]
    assert {m["contact_id"] for m in rows(services, messages)} == {keep}
    [conv] = rows(services, conversations)  # both threads on this channel became one
    assert conv["contact_id"] == keep and count(services, messages, messages.c.conversation_id == conv["id"]) == 3
    assert "contact.merged" in recorder.types()


def test_number_change_attaches_the_new_number_to_the_same_contact(services, recorder):
    whatsapp_channel(services)
    ingest(services, "messages_text.json", "messages_system_number_changed.json")
    assert count(services, contacts) == 1
    values = {i["value"] for i in rows(services, contact_identities)}
    assert {"393471234567", "393471234600", "+393471234600"} <= values
    [conv] = rows(services, conversations)
    assert conv["last_inbound_at"] == ts(1790000100)  # a system message does not open the window
    assert "contact.number_changed" in recorder.types()
    store(services, text_delivery("393471234600", "new phone", 1790002000, "wamid.N1"))
    services.delivery_worker.drain()
    assert count(services, contacts) == 1 and count(services, conversations) == 1


def test_template_and_account_notices_are_stored_once_with_events(services, recorder):
    whatsapp_channel(services)
    names = ["template_status_approved.json", "template_status_rejected.json", "template_status_paused.json",
             "template_status_unknown_event.json", "template_quality_update.json", "template_category_update.json",
             "user_preferences_stop.json", "user_preferences_resume.json", "unknown_field.json", "value_errors.json"]
    ingest(services, *names)
    ingest(services, *names)  # redelivered: absorbed
    notices = rows(services, provider_notices)
    assert sorted(n["kind"] for n in notices) == sorted(
        ["template_status"] * 4 + ["template_quality", "template_category", "user_preference", "user_preference",
                                   "unknown_field", "value_error"])
    statuses = [e.payload for e in recorder.events if e.type == "template.status_changed"]
    assert [s["status"] for s in statuses] == ["approved", "rejected", "paused", "unknown"]
    assert statuses[1]["reason"] == "INVALID_FORMAT" and statuses[3]["raw_event"] == "TELEPORTED"
    prefs = [e.payload for e in recorder.events if e.type == "contact.preference_changed"]
    assert [p["value"] for p in prefs] == ["stop", "resume"]
    [oliver] = rows(services, contacts)
    assert all(p["contact_id"] == oliver["id"] for p in prefs)
    [err] = [e.payload for e in recorder.events if e.type == "channel.error_reported"]
    assert err["errors"][0]["code"] == 130429


def test_events_for_a_second_number_go_to_its_channel(services):
    first, second = both_channels(services)
    store(services, text_delivery(GIULIA, "to sales", 1790000000, "wamid.S1", pnid=PNID_2, waba="202290129340398"))
    store(services, text_delivery(GIULIA, "to support", 1790000001, "wamid.S2", pnid=PNID))
    services.delivery_worker.drain()
    assert message(services, "wamid.S1")["channel_id"] == second
    assert message(services, "wamid.S2")["channel_id"] == first
    assert count(services, contacts) == 1 and count(services, conversations) == 2


def test_late_arrivals_link_replies_and_reactions_to_the_message_stored_after_them(services):
    from centralino.storage import bulk
    from centralino.storage.tables import message_reactions

    whatsapp_channel(services)
    ingest(services, "messages_text_reply.json", "messages_reaction.json")  # both name wamid.OUTBOUND0001
    reply = message(services, "wamid.HBgMMzkzNDcxMjM0NTY3FQIAEhggMzgwQzNFMDZFNUEzOTRFMTRBMTY1OENFMjI3NTQzOEMA")
    assert reply["reply_to_message_id"] is None and rows(services, message_reactions)[0]["target_message_id"] is None
    with services.engine.begin() as conn:  # the quoted message stored without linking, then the batch link
        conn.execute(messages.insert().values(
            conversation_id=reply["conversation_id"], channel_id=reply["channel_id"], contact_id=reply["contact_id"],
            direction="out", type="text", raw_type="text", external_id="wamid.OUTBOUND0001", text="shipped",
            content={"body": "shipped"}, status="sent", forwarded=False, frequently_forwarded=False,
            created_at=datetime.now(UTC), sent_at=datetime.now(UTC)))
        quoted = conn.execute(messages.select().where(messages.c.external_id == "wamid.OUTBOUND0001")).one().id
        bulk.link_late_arrivals(conn, reply["channel_id"], ["wamid.OUTBOUND0001", "wamid.UNRELATED"])
    assert message(services, reply["external_id"])["reply_to_message_id"] == quoted
    assert rows(services, message_reactions)[0]["target_message_id"] == quoted

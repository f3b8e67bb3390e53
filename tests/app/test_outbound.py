"""The send use cases on the real database: window rule, one transaction, idempotency, references."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from centralino.app.outbound import OutboundService, WindowClosed
from centralino.domain.media_rules import MediaKind, MediaRejected
from centralino.domain.outbound import Media, Reaction, Text
from centralino.errors import CentralinoError, Conflict, InvalidInput, NotFound
from centralino.storage import outbox as outbox_repo
from centralino.storage.tables import (
    conversations,
    events,
    idempotency_keys,
    message_media,
    messages,
    outbound_media,
    outbox,
)
from tests.factories import whatsapp_channel
from tests.helpers import count, ingest, rows
from tests.outbound_helpers import GIULIA, MARCO, customer_wrote, table_counts


def outbound(services, now: datetime | None = None) -> OutboundService:
    if now is None:
        return services.outbound
    return OutboundService(services.engine, services.directory, services.bus, clock=lambda: now)


def upload(services, mime: str = "image/png", size: int = 1000, animated: bool = False) -> int:
    from centralino.storage import outbound_media as media_repo

    with services.engine.begin() as conn:
        return media_repo.insert_file(conn, {
            "sha256": "ab" * 32, "mime_type": mime, "size": size, "filename": "photo.png", "animated": animated,
            "storage_path": "ab/abab", "origin": "api", "created_at": datetime.now(UTC)})


def test_a_text_is_queued_with_its_outbox_row_and_event(services, recorder):
    whatsapp_channel(services)
    conversation_id = customer_wrote(services)
    recorder.events.clear()
    queued = services.outbound.do_send(conversation_id, Text("Your order ships today"), origin="bot")
    [msg] = rows(services, messages, messages.c.direction == "out")
    assert msg["id"] == queued.message_id and not queued.replayed
    assert (msg["status"], msg["type"], msg["origin"], msg["external_id"]) == ("queued", "text", "bot", None)
    assert msg["content"] == {"type": "text", "text": {"body": "Your order ships today", "preview_url": False}}
    assert msg["text"] == "Your order ships today" and msg["queued_at"] == msg["sent_at"]
    [row] = rows(services, outbox)
    assert (row["kind"], row["state"], row["message_id"], row["recipient_kind"], row["recipient"]) == (
        "message", "queued", msg["id"], "whatsapp", GIULIA)
    assert row["attempts"] == 0 and row["next_attempt_at"] <= datetime.now(UTC)
    assert recorder.types() == ["message.queued"]
    assert recorder.events[0].payload == {"message_id": msg["id"], "conversation_id": conversation_id,
                                          "channel_id": msg["channel_id"], "contact_id": msg["contact_id"],
                                          "type": "text", "origin": "bot"}
    assert count(services, events, events.c.type == "message.queued") == 1
    [conv] = rows(services, conversations)
    assert conv["last_message_at"] == msg["sent_at"]  # activity moves; the window does not


def test_message_and_outbox_row_are_one_transaction(services, monkeypatch):
    whatsapp_channel(services)
    conversation_id = customer_wrote(services)
    before = table_counts(services)

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(outbox_repo, "enqueue", broken)
    with pytest.raises(RuntimeError):
        services.outbound.do_send(conversation_id, Text("hello"))
    assert table_counts(services) == before  # no message without its outbox row, no event


def test_outside_the_window_nothing_is_queued(services, recorder):
    whatsapp_channel(services)
    conversation_id = customer_wrote(services, ago=25 * 3600)
    before = table_counts(services)
    recorder.events.clear()
    with pytest.raises(WindowClosed) as refused:
        services.outbound.do_send(conversation_id, Text("hello"), idempotency_key="k1")
    err = refused.value
    assert (err.code, err.status) == ("window.closed", 409)
    assert "template" in err.message and "24 hours" in err.message
    assert err.details["closes_at"]
    assert table_counts(services) == before and recorder.events == []


def test_the_window_closes_exactly_24_hours_after_the_customer_wrote(services):
    whatsapp_channel(services)
    conversation_id = customer_wrote(services, ago=0)
    [conv] = rows(services, conversations)
    closes = conv["window_expires_at"]
    outbound(services, closes - timedelta(seconds=1)).do_send(conversation_id, Text("still open"))
    with pytest.raises(WindowClosed):
        outbound(services, closes).do_send(conversation_id, Text("closed"))


def test_unknown_conversation(services):
    with pytest.raises(NotFound) as missing:
        services.outbound.do_send(999, Text("hello"))
    assert missing.value.field == "conversation_id"
    with pytest.raises(NotFound):
        services.outbound.do_send(999, Text("hello"), idempotency_key="k")


def test_invalid_content_is_refused_before_any_transaction(services):
    whatsapp_channel(services)
    conversation_id = customer_wrote(services)
    before = table_counts(services)
    with pytest.raises(InvalidInput) as refused:
        services.outbound.do_send(conversation_id, Text(""))
    assert refused.value.field == "text.body" and table_counts(services) == before


def test_idempotency_key_sends_once_and_a_different_body_conflicts(services):
    whatsapp_channel(services)
    conversation_id = customer_wrote(services)
    first = services.outbound.do_send(conversation_id, Text("hello"), idempotency_key="req-1")
    again = services.outbound.do_send(conversation_id, Text("hello"), idempotency_key="req-1")
    assert again.message_id == first.message_id and again.replayed and not first.replayed
    assert count(services, messages, messages.c.direction == "out") == 1 and count(services, outbox) == 1
    with pytest.raises(Conflict) as mismatch:
        services.outbound.do_send(conversation_id, Text("hello!"), idempotency_key="req-1")
    assert (mismatch.value.code, mismatch.value.status) == ("idempotency.mismatch", 409)
    assert mismatch.value.field == "Idempotency-Key"
    # Scoped per caller and conversation: the same key elsewhere is a new request.
    other = services.outbound.do_send(conversation_id, Text("hello"), idempotency_key="req-1", origin="bot")
    marco = customer_wrote(services, MARCO)
    elsewhere = services.outbound.do_send(marco, Text("hello"), idempotency_key="req-1")
    assert len({first.message_id, other.message_id, elsewhere.message_id}) == 3
    assert count(services, idempotency_keys) == 3 and count(services, outbox) == 3


def test_a_replay_returns_the_message_even_after_the_window_closed(services):
    whatsapp_channel(services)
    conversation_id = customer_wrote(services)
    first = services.outbound.do_send(conversation_id, Text("hello"), idempotency_key="req-1")
    later = outbound(services, datetime.now(UTC) + timedelta(days=2))
    assert later.do_send(conversation_id, Text("hello"), idempotency_key="req-1").message_id == first.message_id


def test_concurrent_requests_with_one_key_queue_one_message(services):
    whatsapp_channel(services)
    conversation_id = customer_wrote(services)
    results: list[int] = []
    errors: list[Exception] = []

    def send() -> None:
        try:
            results.append(services.outbound.do_send(conversation_id, Text("hello"), idempotency_key="same").message_id)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(set(results)) == 1 and len(results) == 8
    assert count(services, outbox) == 1


def test_reply_context_is_resolved_from_our_message_id(services):
    whatsapp_channel(services)
    conversation_id = customer_wrote(services)
    [inbound] = rows(services, messages)
    queued = services.outbound.do_send(conversation_id, Text("Sure"), reply_to=inbound["id"])
    [msg] = rows(services, messages, messages.c.id == queued.message_id)
    assert msg["reply_to_message_id"] == inbound["id"] and msg["reply_to_external_id"] == inbound["external_id"]
    with pytest.raises(InvalidInput) as unknown:
        services.outbound.do_send(conversation_id, Text("Sure"), reply_to=9999)
    assert (unknown.value.code, unknown.value.field, unknown.value.status) == ("reply.not_found", "reply_to", 422)
    with pytest.raises(Conflict) as unsent:  # our own message, not accepted by WhatsApp yet
        services.outbound.do_send(conversation_id, Text("Sure"), reply_to=queued.message_id)
    assert unsent.value.code == "reply.not_sent"


def test_reactions_target_the_wamid_and_stay_in_their_conversation(services):
    whatsapp_channel(services)
    conversation_id = customer_wrote(services)
    marco = customer_wrote(services, MARCO)
    [inbound] = rows(services, messages, messages.c.conversation_id == conversation_id)
    queued = services.outbound.do_send(conversation_id, Reaction(inbound["id"], "\u2764\ufe0f"))
    [row] = rows(services, outbox, outbox.c.message_id == queued.message_id)
    assert row["target_message_id"] == inbound["id"] and row["target_external_id"] == inbound["external_id"]
    with pytest.raises(InvalidInput) as elsewhere:
        services.outbound.do_send(marco, Reaction(inbound["id"], "\u2764\ufe0f"))
    assert (elsewhere.value.code, elsewhere.value.field) == ("reaction.not_found", "reaction.message_id")


def test_media_messages_check_the_upload_against_their_type(services):
    whatsapp_channel(services)
    conversation_id = customer_wrote(services)
    png = upload(services)
    queued = services.outbound.do_send(conversation_id, Media(MediaKind.IMAGE, media_id=png, caption="the parcel"))
    [media] = rows(services, message_media)
    assert media["message_id"] == queued.message_id and media["state"] == "stored"
    assert media["mime_type"] == "image/png" and media["storage_path"] == "ab/abab"
    with pytest.raises(MediaRejected) as wrong_type:
        services.outbound.do_send(conversation_id, Media(MediaKind.VIDEO, media_id=png))
    assert (wrong_type.value.code, wrong_type.value.field) == ("media.type_not_allowed", "video.media_id")
    big = upload(services, size=6 * 1024 * 1024)
    with pytest.raises(MediaRejected) as too_large:
        services.outbound.do_send(conversation_id, Media(MediaKind.IMAGE, media_id=big))
    assert too_large.value.code == "media.too_large"
    with pytest.raises(InvalidInput) as missing:
        services.outbound.do_send(conversation_id, Media(MediaKind.IMAGE, media_id=12345))
    assert (missing.value.code, missing.value.field) == ("media.not_found", "image.media_id")
    # By link nothing is uploaded or stored.
    services.outbound.do_send(conversation_id, Media(MediaKind.IMAGE, link="https://example.com/a.png"))
    assert count(services, message_media) == 1 and count(services, outbound_media) == 2


def test_business_scoped_ids_are_sent_to_when_there_is_no_phone(services):
    whatsapp_channel(services)
    ingest(services, "messages_bsuid_only.json")
    [conv] = rows(services, conversations)
    service = outbound(services, conv["window_expires_at"] - timedelta(hours=1))
    queued = service.do_send(conv["id"], Text("hello"))
    [row] = rows(services, outbox, outbox.c.message_id == queued.message_id)
    assert row["recipient_kind"] == "whatsapp_bsuid" and row["recipient"].startswith("IT.")


def test_mark_read_queues_one_receipt_for_the_latest_customer_message(services, recorder):
    whatsapp_channel(services)
    conversation_id = customer_wrote(services, ago=120, body="first")
    customer_wrote(services, ago=60, body="second")
    latest = rows(services, messages, messages.c.text == "second")[0]
    queued = services.outbound.do_mark_read(conversation_id)
    assert queued.message_id == latest["id"] and not queued.already_queued
    [row] = rows(services, outbox)
    assert (row["kind"], row["message_id"], row["target_external_id"]) == ("read", None, latest["external_id"])
    assert "message.read_receipt_queued" in recorder.types()
    again = services.outbound.do_mark_read(conversation_id, latest["id"])
    assert again.already_queued and again.request_id == queued.request_id and count(services, outbox) == 1
    assert count(services, messages, messages.c.direction == "out") == 0  # not a message


def test_mark_read_refusals(services):
    whatsapp_channel(services)
    conversation_id = customer_wrote(services)
    sent = services.outbound.do_send(conversation_id, Text("hello"))
    with pytest.raises(InvalidInput) as ours:
        services.outbound.do_mark_read(conversation_id, sent.message_id)
    assert ours.value.code == "read.not_inbound"
    with pytest.raises(InvalidInput):
        services.outbound.do_mark_read(conversation_id, 9999)
    with pytest.raises(Conflict) as old:
        outbound(services, datetime.now(UTC) + timedelta(days=31)).do_mark_read(conversation_id)
    assert old.value.code == "read.too_old"
    with pytest.raises(CentralinoError):
        services.outbound.do_mark_read(999)

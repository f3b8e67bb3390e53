"""Transactional notifications: recipient resolution, the notification row committed with its message (and
never without it), Idempotency-Key replay and mismatch, errors naming the field and changing nothing, the
status mirror and the callback outbox written in the status's own transaction."""

from __future__ import annotations

import contextlib
import threading

import pytest

from centralino.app.notifications import NotificationRequest
from centralino.domain.outbound_codec import decode_stored
from centralino.domain.sending import callback_data
from centralino.errors import CentralinoError
from centralino.storage import notifications as notification_repo
from centralino.storage.tables import contact_identities, conversations, messages, outbox
from centralino.storage.tables_notifications import callback_deliveries, notifications
from tests.factories import whatsapp_channel
from tests.helpers import count, rows, store
from tests.notification_helpers import add_templates
from tests.outbound_helpers import GIULIA, customer_wrote, status_delivery, table_counts

PHONE = "+393471234567"
SHIPMENT = NotificationRequest(recipient=PHONE, use_case="shipment_update",
                               payload={"order": {"id": "A-42"}, "shipment": {"status": "in consegna"}},
                               parameters={"buttons": [{"index": 0, "value": {"from": "payload.order.id"}}]})


@pytest.fixture
def notify(services):
    whatsapp_channel(services)
    add_templates(services)
    service = services.notifications.service

    def send(request: NotificationRequest = SHIPMENT, key: str | None = None, client: str = "api"):
        return service.do_notify(request, idempotency_key=key, api_client=client)

    return send


def refused(services, call) -> CentralinoError:
    before = table_counts(services)
    with pytest.raises(CentralinoError) as caught:
        call()
    assert table_counts(services) == before  # bad input changes nothing: no contact, no conversation, no message
    return caught.value


def test_a_new_phone_number_gets_a_contact_a_conversation_and_the_message_with_its_notification(services, notify,
                                                                                                recorder):
    sent = notify()
    [row] = rows(services, notifications)
    assert (row["id"], row["message_id"], row["conversation_id"]) == (sent.notification_id, sent.message_id,
                                                                       sent.conversation_id)
    assert (row["use_case"], row["template_name"], row["template_language"], row["recipient"], row["status"]) == (
        "shipment_update", "shipment_update", "it", GIULIA, "queued")
    [message] = rows(services, messages)
    assert (message["type"], message["origin"]) == ("template", "notification")
    assert message["text"].startswith("Il tuo ordine A-42 è in consegna.")
    content = decode_stored(message["content"])
    assert {"type": "button", "sub_type": "url", "index": "0",
            "parameters": [{"type": "text", "text": "A-42"}]} in content.components
    assert count(services, outbox, outbox.c.message_id == sent.message_id) == 1
    assert {(i["kind"], i["value"]) for i in rows(services, contact_identities)} == {("whatsapp", GIULIA),
                                                                                    ("phone", PHONE)}
    assert {"contact.created", "conversation.opened", "message.queued", "notification.queued"} <= set(recorder.types())


def test_a_known_customer_by_contact_id_reuses_the_conversation(services, notify):
    conversation_id = customer_wrote(services, GIULIA, ago=3 * 86400)  # window closed: a template may still go
    contact_id = rows(services, conversations)[0]["contact_id"]
    sent = notify(NotificationRequest(contact_id=contact_id, template="store_location", parameters={
        "header": {"latitude": 45.4642, "longitude": 9.19, "name": "Duomo"}, "body": ["Milano Duomo"]}))
    assert sent.conversation_id == conversation_id and count(services, conversations) == 1


def test_the_same_idempotency_key_and_body_returns_the_first_notification(services, notify):
    first = notify(key="order-42")
    again = notify(key="order-42")
    assert (again.notification_id, again.message_id, again.replayed) == (first.notification_id, first.message_id,
                                                                         True)
    assert count(services, messages) == 1 and count(services, notifications) == 1
    other_client = notify(key="order-42", client="token:7")  # keys are scoped by the API client
    assert other_client.notification_id != first.notification_id
    error = refused(services, lambda: notify(NotificationRequest(recipient=PHONE, use_case="shipment_update",
                                                                 payload={"order": {"id": "B-1"}}), key="order-42"))
    assert (error.code, error.status, error.field) == ("idempotency.mismatch", 409, "Idempotency-Key")


@pytest.mark.parametrize(("request_", "field", "code"), [
    (NotificationRequest(recipient=PHONE, template="no_such_template"), "template", "template.unknown"),
    (NotificationRequest(recipient=PHONE, use_case="no_such_alias"), "use_case", "use_case.unknown"),
    (NotificationRequest(recipient=PHONE, template="boarding_pass", language="de"), "language",
     "template.language_unknown"),
    (NotificationRequest(recipient=PHONE), "template", "notification.no_template"),
    (NotificationRequest(recipient="12", template="store_location"), "recipient", "recipient.invalid"),
    (NotificationRequest(template="store_location"), "recipient", "notification.recipient"),
    (NotificationRequest(contact_id=999, template="store_location"), "contact_id", "contact.not_found"),
    (NotificationRequest(recipient=PHONE, channel_id=999, template="store_location"), "channel_id",
     "channel.not_found"),
    (NotificationRequest(recipient=PHONE, template="boarding_pass", parameters={"body": ["Anna"]}),
     "parameters.header", "template.header_required"),
    (NotificationRequest(recipient=PHONE, use_case="shipment_update", payload={"order": {"id": "A-1"}}),
     "parameters.body.status", "template.parameter_source_missing"),
])
def test_bad_requests_name_the_field_and_change_nothing(services, notify, request_, field, code):
    error = refused(services, lambda: notify(request_))
    assert (error.field, error.code) == (field, code)


def test_an_alias_whose_template_is_missing_names_the_use_case(services):
    whatsapp_channel(services)
    add_templates(services, "store_location")
    error = refused(services, lambda: services.notifications.service.do_notify(
        NotificationRequest(recipient=PHONE, use_case="support_video"), idempotency_key=None, api_client="api"))
    assert (error.field, error.code) == ("use_case", "template.unknown")


def test_a_failure_writing_the_notification_rolls_its_message_back(services, notify, monkeypatch):
    def broken(conn, row):
        raise RuntimeError("disk full")

    monkeypatch.setattr(notification_repo, "insert_notification", broken)
    with pytest.raises(RuntimeError):
        notify()
    assert count(services, messages) == 0 and count(services, outbox) == 0 and count(services, notifications) == 0


def test_statuses_are_mirrored_and_enqueue_callbacks_in_their_own_transaction(services, notify):
    with_callback = notify(NotificationRequest(
        recipient=PHONE, template="store_location", callback_url="https://erp.example.com/hooks/wa",
        parameters={"header": {"latitude": 45.46, "longitude": 9.19}, "body": ["Milano"]}))
    without = notify(NotificationRequest(recipient="+447700900123", template="store_location", parameters={
        "header": {"latitude": 45.46, "longitude": 9.19}, "body": ["Milano"]}))
    store(services, status_delivery("wamid.N1", "sent", callback=callback_data(with_callback.message_id)),
          status_delivery("wamid.N2", "delivered", callback=callback_data(without.message_id),
                          recipient="447700900123"))
    services.delivery_worker.drain()
    store(services, status_delivery("wamid.N1", "delivered", callback=callback_data(with_callback.message_id)))
    services.delivery_worker.drain()
    by_id = {r["id"]: r for r in rows(services, notifications)}
    assert by_id[with_callback.notification_id]["status"] == "delivered"
    assert by_id[without.notification_id]["status"] == "delivered"
    queued = rows(services, callback_deliveries)
    assert [(r["notification_id"], r["payload"]["status"], r["state"]) for r in queued] == [
        (with_callback.notification_id, "sent", "pending"), (with_callback.notification_id, "delivered", "pending")]
    assert queued[0]["payload"]["message_id"] == with_callback.message_id
    assert queued[0]["url"] == "https://erp.example.com/hooks/wa"
    history = services.notifications.service.get(with_callback.notification_id)["history"]
    assert [h["status"] for h in history] == ["queued", "accepted", "sent", "delivered"]


def test_a_status_is_not_applied_without_its_callback(services, notify, monkeypatch):
    sent = notify(NotificationRequest(
        recipient=PHONE, template="store_location", callback_url="https://erp.example.com/hooks/wa",
        parameters={"header": {"latitude": 45.46, "longitude": 9.19}, "body": ["Milano"]}))

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(notification_repo, "enqueue_callback", broken)
    store(services, status_delivery("wamid.N9", "delivered", callback=callback_data(sent.message_id)))
    with contextlib.suppress(RuntimeError):  # however the worker reports it, the transaction did not commit
        services.delivery_worker.drain()
    assert rows(services, messages, messages.c.id == sent.message_id)[0]["status"] == "queued"
    assert rows(services, notifications)[0]["status"] == "queued"
    assert count(services, callback_deliveries) == 0


def test_concurrent_requests_with_one_key_send_once(services, notify):
    notify(NotificationRequest(recipient=PHONE, template="store_location", parameters={
        "header": {"latitude": 45.46, "longitude": 9.19}, "body": ["Milano"]}))  # the contact exists already
    barrier = threading.Barrier(4)
    results: list[object] = []

    def one() -> None:
        barrier.wait()
        try:
            results.append(notify(key="evt-77"))
        except Exception as exc:  # reported by the assertion below
            results.append(exc)

    threads = [threading.Thread(target=one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert all(not isinstance(r, Exception) for r in results), results
    assert len({r.notification_id for r in results}) == 1  # type: ignore[attr-defined]
    assert sum(not r.replayed for r in results) == 1  # type: ignore[attr-defined]
    assert count(services, notifications, notifications.c.idempotency_key == "evt-77") == 1
    assert count(services, messages) == 2


def test_a_marketing_template_to_someone_who_never_opted_in_is_refused_and_creates_nothing(services, notify):
    from sqlalchemy import update

    from centralino.storage.tables_templates import templates

    with services.engine.begin() as conn:  # the store template, as marketing: opt-in required by default
        conn.execute(update(templates).where(templates.c.name == "store_location").values(category="marketing"))
    error = refused(services, lambda: notify(NotificationRequest(recipient=PHONE, template="store_location",
                                                                 parameters={"header": {"latitude": 45.46,
                                                                                        "longitude": 9.19},
                                                                             "body": ["Milano"]})))
    assert (error.code, error.status) == ("consent.refused", 409)

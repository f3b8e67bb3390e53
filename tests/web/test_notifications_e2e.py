"""Notifications end to end: POST /api/v1/notifications and /api/v1/verifications on our service over HTTP,
the sender delivering to the WhatsApp simulator (which validates every template send against its own
approved copy), the simulator's signed status webhooks coming back, the callbacks posted and signed.
Each use case: boarding pass (an uploaded PDF as document header), store location, support video,
shipment update (named parameters from the payload), one-time codes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from centralino.domain.sending import callback_data
from centralino.storage.tables import messages
from centralino.storage.tables_notifications import notifications, verifications
from centralino.workers.callbacks import CallbackSender, make_callback_client
from tests.helpers import rows
from tests.meta_simulator import MetaSide
from tests.notification_helpers import add_at_simulator, add_templates
from tests.workers.test_callbacks import SECRET, Receiver

GIULIA = "393471234567"
PDF = b"%PDF-1.4\n% boarding pass AZ610\n"


@pytest.fixture
def meta(services) -> Iterator[MetaSide]:
    side = MetaSide(services)
    # Templates queue through the side's OutboundService, whose clock the sender and the simulator share.
    services.template_sender.outbound = services.outbound
    add_templates(services)
    add_at_simulator(side.sim)
    yield side
    side.close()


def at_meta(meta: MetaSide, message_id: int) -> Any:
    """What the simulator accepted for our message (found by the callback data every send carries)."""
    found = [r for r in meta.sim.state.messages.values() if r.callback_data == callback_data(message_id)]
    assert len(found) == 1, f"message {message_id} reached the simulator {len(found)} times"
    return found[0]


def notify(meta: MetaSide, body: dict[str, Any], **headers: str) -> Any:
    answer = meta.api.post("/api/v1/notifications", json={"recipient": "+" + GIULIA, **body}, headers=headers)
    assert answer.status_code in (200, 202), answer.text
    return answer.json()


def send_all(meta: MetaSide) -> None:
    meta.run(meta.sender(sender_pair_interval_s=0).drain())


def header_of(record: Any) -> dict[str, Any]:
    return next(c for c in record.payload["template"]["components"] if c["type"] == "header")


def test_a_boarding_pass_goes_with_the_uploaded_pdf_as_document_header(services, meta):
    upload = meta.api.post("/api/v1/media", files={"file": ("AZ610.pdf", PDF, "application/pdf")})
    assert upload.status_code == 201, upload.text
    sent = notify(meta, {"use_case": "boarding_pass", "parameters": {
        "header": {"media_id": upload.json()["id"], "filename": "AZ610.pdf"}, "body": ["Anna", "AZ610"]}})
    assert (sent["status"], sent["use_case"], sent["template_name"]) == ("queued", "boarding_pass", "boarding_pass")
    send_all(meta)
    record = at_meta(meta, sent["message_id"])
    document = header_of(record)["parameters"][0]
    assert document["type"] == "document" and document["document"]["filename"] == "AZ610.pdf"
    assert meta.sim.state.media[document["document"]["id"]].content == PDF  # the file, by Meta's media id
    assert record.payload["to"] == "+" + GIULIA and record.payload["template"]["name"] == "boarding_pass"
    meta.settle(lambda: rows(services, notifications)[0]["status"] == "read", "the notification read")
    shown = meta.api.get(f"/api/v1/notifications/{sent['id']}").json()
    assert [h["status"] for h in shown["history"]][:2] == ["queued", "accepted"]
    assert {"sent", "delivered", "read"} <= {h["status"] for h in shown["history"]}


def test_a_store_location_header(services, meta):
    sent = notify(meta, {"use_case": "store_location", "parameters": {
        "header": {"latitude": 45.4642, "longitude": 9.19, "name": "Centralino Store", "address": "Piazza Duomo 1"},
        "body": ["Milano Duomo"]}})
    send_all(meta)
    location = header_of(at_meta(meta, sent["message_id"]))["parameters"][0]
    assert location == {"type": "location", "location": {"latitude": 45.4642, "longitude": 9.19,
                                                         "name": "Centralino Store", "address": "Piazza Duomo 1"}}


def test_a_support_video_by_link(services, meta):
    sent = notify(meta, {"use_case": "support_video", "parameters": {
        "header": {"link": "https://cdn.example.com/setup-router.mp4"}, "body": ["router"]}})
    send_all(meta)
    record = at_meta(meta, sent["message_id"])
    assert header_of(record)["parameters"][0] == {"type": "video",
                                                  "video": {"link": "https://cdn.example.com/setup-router.mp4"}}
    assert rows(services, messages, messages.c.id == sent["message_id"])[0]["status"] != "failed"


def test_a_shipment_update_maps_named_parameters_from_the_payload(services, meta):
    payload = {"order": {"id": "A-4711"}, "shipment": {"status": "in consegna", "carrier": "BRT"}}
    sent = notify(meta, {"use_case": "shipment_update", "payload": payload, "parameters": {
        "buttons": [{"index": 0, "value": {"from": "payload.order.id"}}]}})
    send_all(meta)
    components = at_meta(meta, sent["message_id"]).payload["template"]["components"]
    body = next(c for c in components if c["type"] == "body")
    assert body["parameters"] == [{"type": "text", "text": "A-4711", "parameter_name": "order_id"},
                                  {"type": "text", "text": "in consegna", "parameter_name": "status"}]
    assert next(c for c in components if c["type"] == "button")["parameters"] == [{"type": "text", "text": "A-4711"}]
    text = rows(services, messages, messages.c.id == sent["message_id"])[0]["text"]
    assert text.startswith("Il tuo ordine A-4711 è in consegna.")


def sent_code(meta: MetaSide, message_id: int) -> str:
    components = at_meta(meta, message_id).payload["template"]["components"]
    body = next(c for c in components if c["type"] == "body")["parameters"][0]["text"]
    button = next(c for c in components if c["type"] == "button")
    assert button["parameters"][0]["text"] == body and button["sub_type"] == "url"
    return str(body)


def test_a_one_time_code_checked_wrong_then_right_then_replayed(services, meta):
    answer = meta.api.post("/api/v1/verifications", json={"recipient": "+" + GIULIA, "code_length": 6})
    assert answer.status_code == 201, answer.text
    started = answer.json()
    assert set(started) >= {"id", "expires_at"}
    send_all(meta)
    code = sent_code(meta, started["message_id"])
    assert code not in str(rows(services, verifications)[0])  # only its HMAC is stored
    check = f"/api/v1/verifications/{started['id']}/check"
    wrong = "9" * 6 if code != "9" * 6 else "8" * 6
    assert meta.api.post(check, json={"code": wrong}).json() == {
        "id": started["id"], "result": "wrong_code", "state": "pending", "remaining_attempts": 4}
    assert meta.api.post(check, json={"code": code}).json()["result"] == "verified"
    assert meta.api.post(check, json={"code": code}).json()["result"] == "already_used"
    assert meta.api.get(f"/api/v1/verifications/{started['id']}").json()["verified_via"] == "api"


def test_the_customer_types_the_code_back_in_whatsapp(services, meta):
    started = meta.api.post("/api/v1/verifications", json={"recipient": "+" + GIULIA}).json()
    send_all(meta)
    code = sent_code(meta, started["message_id"])
    meta.customer_writes(GIULIA, code)
    shown = meta.api.get(f"/api/v1/verifications/{started['id']}").json()
    assert (shown["state"], shown["verified_via"]) == ("verified", "customer")


def test_status_callbacks_reach_the_business_signed(services, meta):
    receiver = Receiver()
    try:
        sent = notify(meta, {"use_case": "store_location", "callback_url": receiver.url, "parameters": {
            "header": {"latitude": 45.4642, "longitude": 9.19}, "body": ["Milano Duomo"]}})
        send_all(meta)
        meta.settle(lambda: rows(services, notifications)[0]["status"] == "read", "the read receipt")
        receiver.fail_next = 1

        async def deliver() -> None:
            sender = CallbackSender(services.engine, make_callback_client(5.0), SECRET, backoff_base_s=0.01,
                                    jitter=lambda: 0.0)
            try:
                for _ in range(200):
                    await sender.run_once()
                    if receiver.received and receiver.received[-1]["status"] == "read":
                        return
                    await asyncio.sleep(0.01)
            finally:
                await sender.aclose()

        asyncio.run(deliver())
        # In the order they happened, never backwards; statuses applied together arrive as the latest one.
        order = ["accepted", "sent", "delivered", "read"]
        statuses = [r["status"] for r in receiver.received]
        assert statuses[0] == "accepted" and statuses[-1] == "read"
        assert statuses == sorted(statuses, key=order.index) and len(set(statuses)) == len(statuses)
        assert {r["notification_id"] for r in receiver.received} == {sent["id"]}
        assert receiver.bad_signatures == 0 and receiver.attempts == len(statuses) + 1  # the first failed once
    finally:
        receiver.close()


def test_idempotency_and_errors_over_http(services, meta):
    body = {"use_case": "store_location", "parameters": {"header": {"latitude": 45.0, "longitude": 9.0},
                                                         "body": ["Milano"]}}
    first = meta.api.post("/api/v1/notifications", json={"recipient": "+" + GIULIA, **body},
                          headers={"Idempotency-Key": "evt-1"})
    again = meta.api.post("/api/v1/notifications", json={"recipient": "+" + GIULIA, **body},
                          headers={"Idempotency-Key": "evt-1"})
    assert (first.status_code, again.status_code) == (202, 200)
    assert (again.json()["id"], again.json()["replayed"]) == (first.json()["id"], True)
    other = meta.api.post("/api/v1/notifications", json={"recipient": "+" + GIULIA, **body, "payload": {"x": 1}},
                          headers={"Idempotency-Key": "evt-1"})
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency.mismatch"
    unknown = meta.api.post("/api/v1/notifications", json={"recipient": "+" + GIULIA, "use_case": "nope"})
    assert (unknown.status_code, unknown.json()["error"]["field"]) == (422, "use_case")
    unknown = meta.api.post("/api/v1/notifications", json={"recipient": "+" + GIULIA, "template": "nope"})
    assert (unknown.status_code, unknown.json()["error"]["field"]) == (422, "template")
    send_all(meta)
    assert len([r for r in meta.sim.state.messages.values() if r.callback_data]) == 1


def test_the_service_s_own_workers_send_the_message_and_post_the_callbacks(services):
    """Nothing driven by the test: the runtime's sender and callback loops (CENTRALINO_CALLBACK_SECRET)."""
    from centralino.config import DEMO_CALLBACK_SECRET
    from tests.processes import wait_for

    side = MetaSide(services, workers=True)
    receiver = Receiver(secret=DEMO_CALLBACK_SECRET)
    try:
        add_templates(services, "store_location")
        add_at_simulator(side.sim, "store_location")
        sent = notify(side, {"use_case": "store_location", "callback_url": receiver.url, "parameters": {
            "header": {"latitude": 45.4642, "longitude": 9.19}, "body": ["Milano Duomo"]}})
        wait_for("the read callback", lambda: any(r["status"] == "read" for r in receiver.received), 15.0)
        assert receiver.bad_signatures == 0
        assert {r["notification_id"] for r in receiver.received} == {sent["id"]}
    finally:
        receiver.close()
        side.close()

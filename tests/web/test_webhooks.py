"""The WhatsApp webhook endpoint: handshake, signatures, durable storage before the 200."""

from __future__ import annotations

from centralino.storage.tables import messages, webhook_deliveries
from tests.factories import (
    APP_SECRET,
    APP_SECRET_2,
    VERIFY_TOKEN,
    both_channels,
    fixture_bytes,
    signed_headers,
    whatsapp_channel,
)
from tests.helpers import count, rows

URL = "/webhooks/whatsapp"


def test_handshake_answers_the_challenge_for_the_right_token(client, services):
    whatsapp_channel(services)
    ok = client.get(URL, params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"})
    assert ok.status_code == 200 and ok.text == "1158201444"
    bad = client.get(URL, params={"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"})
    assert bad.status_code == 403 and bad.json()["error"]["field"] == "hub.verify_token"
    wrong_mode = client.get(URL, params={"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN})
    assert wrong_mode.status_code == 403
    assert client.get(URL, params={"hub.mode": "subscribe"}).status_code == 403


def test_signed_delivery_is_stored_byte_for_byte_before_the_200(client, services):
    whatsapp_channel(services)
    body = fixture_bytes("messages_text.json")
    response = client.post(URL, content=body, headers=signed_headers(body))
    assert response.status_code == 200
    [stored] = rows(services, webhook_deliveries)
    assert bytes(stored["body"]) == body and stored["state"] == "pending"
    # Nothing is processed in the request: workers are off in this test.
    assert count(services, messages) == 0


def test_missing_signature_is_401_and_stores_nothing(client, services):
    whatsapp_channel(services)
    body = fixture_bytes("messages_text.json")
    response = client.post(URL, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "webhook.signature_missing"
    assert count(services, webhook_deliveries) == 0


def test_a_flipped_byte_is_refused_and_nothing_stored(client, services):
    whatsapp_channel(services)
    body = fixture_bytes("messages_text.json")
    headers = signed_headers(body)
    for position in (len(body) // 2, body.index(b"Buongiorno") + 1):
        tampered = bytearray(body)
        tampered[position] ^= 0x01
        response = client.post(URL, content=bytes(tampered), headers=headers)
        assert response.status_code in (400, 403), response.text
    wrong_key = client.post(URL, content=body, headers=signed_headers(body, "not-the-app-secret"))
    assert wrong_key.status_code == 403
    assert wrong_key.json()["error"] == {
        "code": "webhook.signature_invalid", "message": "X-Hub-Signature-256 does not match the body",
        "field": "X-Hub-Signature-256"}
    garbage = client.post(URL, content=body, headers={"X-Hub-Signature-256": "sha256=zz"})
    assert garbage.status_code == 403
    assert count(services, webhook_deliveries) == 0


def test_reserialised_json_no_longer_matches_meta_signature(client, services):
    """Meta signs the escaped-unicode bytes; a parse/dump round-trip changes them."""
    import json

    whatsapp_channel(services)
    body = fixture_bytes("messages_text.json")
    reserialised = json.dumps(json.loads(body), ensure_ascii=False).encode()
    assert client.post(URL, content=reserialised, headers=signed_headers(body)).status_code == 403
    assert client.post(URL, content=body, headers=signed_headers(body)).status_code == 200


def test_malformed_json_is_400_and_stores_nothing(client, services):
    whatsapp_channel(services)
    for body in (b'{"object": "whatsapp_business_account", "entry": [', b"", b"[1, 2]", b'{"entry": "x"}'):
        response = client.post(URL, content=body, headers=signed_headers(body))
        assert response.status_code == 400, body
        assert response.json()["error"]["code"].startswith("webhook.malformed")
    assert count(services, webhook_deliveries) == 0


def test_deliveries_route_by_phone_number_id_with_each_channel_secret(client, services):
    both_channels(services)
    from tests.factories import PNID_2, text_delivery

    second = text_delivery("393471234567", "hi sales", 1790000000, "wamid.X1", pnid=PNID_2, waba="202290129340398")
    assert client.post(URL, content=second, headers=signed_headers(second, APP_SECRET)).status_code == 403
    assert client.post(URL, content=second, headers=signed_headers(second, APP_SECRET_2)).status_code == 200
    # A POST naming both numbers must be signed with a secret both accept: here it cannot be.
    batch = fixture_bytes("messages_batch_many_senders.json")
    assert client.post(URL, content=batch, headers=signed_headers(batch, APP_SECRET)).status_code == 403
    assert count(services, webhook_deliveries) == 1


def test_unknown_number_is_refused(client, services):
    whatsapp_channel(services)
    from tests.factories import text_delivery

    body = text_delivery("393471234567", "hi", 1790000000, "wamid.U1", pnid="999999999999999")
    response = client.post(URL, content=body, headers=signed_headers(body))
    assert response.status_code == 403 and response.json()["error"]["code"] == "webhook.unknown_channel"
    assert count(services, webhook_deliveries) == 0


def test_template_updates_route_by_waba_id(client, services):
    whatsapp_channel(services)
    body = fixture_bytes("template_status_approved.json")
    assert client.post(URL, content=body, headers=signed_headers(body)).status_code == 200
    assert count(services, webhook_deliveries) == 1


def test_unknown_fields_are_acknowledged(client, services):
    whatsapp_channel(services)
    body = fixture_bytes("unknown_field.json")
    assert client.post(URL, content=body, headers=signed_headers(body)).status_code == 200


def test_unknown_channel_kind_is_404(client):
    assert client.post("/webhooks/carrier-pigeon", content=b"{}").status_code == 404
    assert client.post("/webhooks/whatsapp/extra", content=b"{}").status_code == 404


def test_other_methods_are_405_and_store_nothing(client, services):
    whatsapp_channel(services)
    body = fixture_bytes("messages_text.json")
    response = client.put(URL, content=body, headers=signed_headers(body))
    assert response.status_code == 405 and response.json()["error"]["code"] == "method_not_allowed"
    assert count(services, webhook_deliveries) == 0


def test_oversized_body_is_413_and_stores_nothing(client, services):
    whatsapp_channel(services)
    body = b'{"entry": [' + b" " * (3 * 1024 * 1024 + 70000) + b"]}"
    response = client.post(URL, content=body, headers=signed_headers(body))
    assert response.status_code == 413 and response.json()["error"]["code"] == "webhook.too_large"
    assert count(services, webhook_deliveries) == 0


def test_a_failed_store_is_a_500_so_meta_retries(client, services, monkeypatch):
    whatsapp_channel(services)
    body = fixture_bytes("messages_text.json")

    def broken(*_args, **_kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("centralino.storage.group_commit.deliveries.store_many", broken)
    response = client.post(URL, content=body, headers=signed_headers(body))
    assert response.status_code == 500
    assert count(services, webhook_deliveries) == 0
    monkeypatch.undo()
    assert client.post(URL, content=body, headers=signed_headers(body)).status_code == 200
    assert count(services, webhook_deliveries) == 1


def test_processing_happens_after_the_answer_with_workers_on(settings, services):
    """Embedded mode: the in-process worker picks the delivery up right after it is stored."""
    import time

    from starlette.testclient import TestClient

    from centralino.web.app import create_app

    whatsapp_channel(services)
    live = settings.model_copy(update={"run_workers": True})
    body = fixture_bytes("messages_text.json")
    with TestClient(create_app(live, services)) as client:
        assert client.post(URL, content=body, headers=signed_headers(body)).status_code == 200
        for _ in range(200):
            if count(services, messages) == 1:
                break
            time.sleep(0.02)
    assert count(services, messages) == 1
    assert rows(services, webhook_deliveries)[0]["state"] == "processed"


def test_many_concurrent_posts_are_all_stored(settings, services):
    """Group commit: concurrent requests share transactions, and each is answered after its commit."""
    import asyncio

    import httpx

    from centralino.web.app import create_app
    from tests.factories import text_delivery

    whatsapp_channel(services)
    app = create_app(settings, services)
    bodies = [text_delivery("39347123" + f"{i:04d}", f"m{i}", 1790000000 + i, f"wamid.G{i}") for i in range(200)]

    async def run() -> list[int]:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
                responses = await asyncio.gather(*(http.post(URL, content=b, headers=signed_headers(b)) for b in bodies))
                writer = app.state.writers["whatsapp"]
                assert writer.batches < len(bodies)  # requests were grouped
                return [r.status_code for r in responses]

    assert asyncio.run(run()) == [200] * 200
    assert count(services, webhook_deliveries) == 200

"""The sending API: 202 with the queued message, errors through the one handler with their field,
Idempotency-Key, uploads, read receipts, and failures shown on the message."""

from __future__ import annotations

from datetime import UTC, datetime

from centralino.app.outbox import AttemptResult, OutboxLedger, RetryPolicy
from centralino.domain.sending import Refused, Retry
from centralino.storage.tables import messages, outbound_media, outbox
from tests.factories import whatsapp_channel
from tests.helpers import count, rows
from tests.outbound_helpers import claim_due, customer_wrote, table_counts

AUTH = {"Authorization": "Bearer demo-token"}
PNG = bytes.fromhex("89504e470d0a1a0a0000000d494844520000000100000001080600000031")


def setup(services) -> int:
    whatsapp_channel(services)
    return customer_wrote(services)


def test_sending_needs_the_token(client):
    for path in ("/api/v1/conversations/1/messages", "/api/v1/media", "/api/v1/conversations/1/read"):
        assert client.post(path).status_code == 401
    assert client.get("/api/v1/messages/1").status_code == 401


def test_send_returns_202_with_the_queued_message(client, services):
    conversation_id = setup(services)
    response = client.post(f"/api/v1/conversations/{conversation_id}/messages", headers=AUTH,
                           json={"type": "text", "text": {"body": "Your order ships today"}})
    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["status"], body["direction"], body["origin"], body["external_id"]) == ("queued", "out", "api", None)
    assert body["queued_at"] and body["accepted_at"] is None
    assert body["delivery"] == {"state": "queued", "attempts": 0, "next_attempt_at": body["delivery"]["next_attempt_at"],
                                "last_error_code": None, "last_error": None, "completed_at": None}
    assert client.get(f"/api/v1/messages/{body['id']}", headers=AUTH).json()["id"] == body["id"]
    listed = client.get(f"/api/v1/conversations/{conversation_id}/messages", headers=AUTH).json()["items"]
    assert listed[0]["id"] == body["id"] and listed[1]["delivery"] is None  # the customer's message


def test_invalid_bodies_name_the_field(client, services):
    conversation_id = setup(services)
    url = f"/api/v1/conversations/{conversation_id}/messages"
    buttons = {"type": "interactive", "interactive": {"type": "button", "body": {"text": "Solved?"}, "action": {
        "buttons": [{"id": "a", "title": "Yes"}, {"id": "b", "title": "No"}, {"id": "c", "title": "x" * 21}]}}}
    response = client.post(url, headers=AUTH, json=buttons)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "content.too_long"
    assert response.json()["error"]["field"] == "interactive.action.buttons[2].title"
    not_json = client.post(url, headers={**AUTH, "Content-Type": "application/json"}, content=b"{")
    assert not_json.status_code == 422 and not_json.json()["error"]["code"] == "invalid_input"
    assert client.post(url, headers=AUTH, json=["text"]).json()["error"]["code"] == "content.invalid"
    assert client.post("/api/v1/conversations/999/messages", headers=AUTH,
                       json={"type": "text", "text": {"body": "x"}}).status_code == 404
    assert count(services, outbox) == 0


def test_window_closed_is_409_and_nothing_is_queued(client, services):
    whatsapp_channel(services)
    conversation_id = customer_wrote(services, ago=30 * 3600)
    window = client.get(f"/api/v1/conversations/{conversation_id}", headers=AUTH).json()["window"]
    assert window["is_open"] is False and window["closes_at"]
    before = table_counts(services)
    response = client.post(f"/api/v1/conversations/{conversation_id}/messages", headers=AUTH,
                           json={"type": "text", "text": {"body": "hello"}})
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "window.closed" and "approved template" in error["message"]
    assert error["details"]["closes_at"] == window["closes_at"].replace("Z", "+00:00")
    assert table_counts(services) == before


def test_conversation_shows_an_open_window_and_when_it_closes(client, services):
    conversation_id = setup(services)
    window = client.get(f"/api/v1/conversations/{conversation_id}", headers=AUTH).json()["window"]
    assert window["is_open"] is True and window["closes_at"] and 0 < window["seconds_left"] <= 24 * 3600


def test_idempotency_key_over_http(client, services):
    conversation_id = setup(services)
    url = f"/api/v1/conversations/{conversation_id}/messages"
    headers = {**AUTH, "Idempotency-Key": "order-4711-shipped"}
    first = client.post(url, headers=headers, json={"type": "text", "text": {"body": "Shipped"}})
    # Same request, keys in another order: the same request.
    again = client.post(url, headers=headers, json={"text": {"body": "Shipped", "preview_url": False}, "type": "text"})
    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"] and again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert count(services, messages, messages.c.direction == "out") == 1 and count(services, outbox) == 1
    other = client.post(url, headers=headers, json={"type": "text", "text": {"body": "Delivered"}})
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency.mismatch"
    too_long = client.post(url, headers={**AUTH, "Idempotency-Key": "k" * 256},
                           json={"type": "text", "text": {"body": "x"}})
    assert too_long.status_code == 422 and too_long.json()["error"]["field"] == "Idempotency-Key"


def test_upload_then_send_by_media_id(client, services):
    conversation_id = setup(services)
    uploaded = client.post("/api/v1/media", headers=AUTH, files={"file": ("parcel.png", PNG, "image/png")})
    assert uploaded.status_code == 201, uploaded.text
    media = uploaded.json()
    assert (media["mime_type"], media["size"], media["sendable_as"]) == ("image/png", len(PNG), ["image"])
    stored = services.settings.media_dir / rows(services, outbound_media)[0]["storage_path"]
    assert stored.read_bytes() == PNG
    sent = client.post(f"/api/v1/conversations/{conversation_id}/messages", headers=AUTH,
                       json={"type": "image", "image": {"media_id": media["id"], "caption": "the parcel"}})
    assert sent.status_code == 202
    link = sent.json()["media"]["url"]
    assert client.get(link, headers=AUTH).content == PNG  # the agent sees what was sent
    wrong = client.post(f"/api/v1/conversations/{conversation_id}/messages", headers=AUTH,
                        json={"type": "document", "document": {"media_id": media["id"]}})
    assert wrong.status_code == 422 and wrong.json()["error"]["field"] == "document.media_id"


def test_uploads_are_checked(client, services):
    refused = client.post("/api/v1/media", headers=AUTH, files={"file": ("a.exe", b"MZ...", "application/x-msdownload")})
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "media.type_not_allowed"
    empty = client.post("/api/v1/media", headers=AUTH, files={"file": ("a.png", b"", "image/png")})
    assert empty.status_code == 422 and empty.json()["error"]["code"] == "media.empty"
    big = client.post("/api/v1/media", headers=AUTH, files={"file": ("a.png", b"\0" * (5 * 1024 * 1024 + 1),
                                                                       "image/png")})
    assert big.status_code == 422 and big.json()["error"]["code"] == "media.too_large"
    guessed = client.post("/api/v1/media", headers=AUTH,
                          files={"file": ("invoice.pdf", b"%PDF-1.4", "application/octet-stream")})
    assert guessed.status_code == 201 and guessed.json()["mime_type"] == "application/pdf"
    assert count(services, outbound_media) == 1
    leftovers = [p for p in services.settings.media_dir.iterdir() if p.name.startswith(".upload-")]
    assert leftovers == []


def test_mark_read_endpoint(client, services):
    conversation_id = setup(services)
    response = client.post(f"/api/v1/conversations/{conversation_id}/read", headers=AUTH)
    assert response.status_code == 202 and response.json()["state"] == "queued"
    assert response.json()["already_queued"] is False
    again = client.post(f"/api/v1/conversations/{conversation_id}/read", headers=AUTH,
                        json={"message_id": response.json()["message_id"]})
    assert again.json()["already_queued"] is True and again.json()["request_id"] == response.json()["request_id"]


def test_a_permanent_failure_shows_on_the_message(client, services):
    conversation_id = setup(services)
    sent = client.post(f"/api/v1/conversations/{conversation_id}/messages", headers=AUTH,
                       json={"type": "text", "text": {"body": "hello"}}).json()
    [claim] = claim_due(services)
    OutboxLedger(services.engine, services.bus, RetryPolicy()).do_record(
        [AttemptResult(claim, Refused(Retry.PERMANENT, 131047, "(#131047) Re-engagement message",
                                      "more than 24 hours"))], datetime.now(UTC))
    shown = client.get(f"/api/v1/messages/{sent['id']}", headers=AUTH).json()
    assert (shown["status"], shown["error_code"], shown["error_title"], shown["error_details"]) == (
        "failed", 131047, "(#131047) Re-engagement message", "more than 24 hours")
    assert shown["delivery"]["state"] == "failed" and shown["delivery"]["last_error_code"] == 131047

"""Status callbacks over real HTTP: a local receiver verifies the X-Centralino-Signature of every body; a
receiver that fails once gets the callback again after the backoff (a clock the test moves, no waiting);
a later status never overtakes an earlier one being retried; a callback that keeps failing is given up
and recorded."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from centralino.app.notifications import NotificationRequest
from centralino.domain.sending import callback_data
from centralino.storage.tables_notifications import callback_deliveries
from centralino.workers.callbacks import CallbackSender, make_callback_client
from tests.factories import whatsapp_channel
from tests.helpers import rows, store
from tests.notification_helpers import add_templates
from tests.outbound_helpers import status_delivery

SECRET = "callback-test-secret-0123456789"


class Receiver:
    """A business system's endpoint: 200 for a body whose signature matches, 500 while told to fail."""

    def __init__(self, secret: str = SECRET) -> None:
        self.received: list[dict[str, Any]] = []
        self.bad_signatures = 0
        self.fail_next = 0
        self.attempts = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
                receiver.attempts += 1
                if not hmac.compare_digest(self.headers.get("X-Centralino-Signature", ""), expected):
                    receiver.bad_signatures += 1
                    status = 401
                elif receiver.fail_next > 0:
                    receiver.fail_next -= 1
                    status = 500
                else:
                    receiver.received.append(json.loads(body))
                    status = 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/whatsapp"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def receiver():
    made = Receiver()
    yield made
    made.close()


def notified_with_statuses(services, url: str, *states: str) -> Any:
    whatsapp_channel(services)
    add_templates(services, "store_location")
    sent = services.notifications.service.do_notify(NotificationRequest(
        recipient="+393471234567", template="store_location", callback_url=url,
        parameters={"header": {"latitude": 45.46, "longitude": 9.19}, "body": ["Milano"]}),
        idempotency_key=None, api_client="api")
    for state in states:
        store(services, status_delivery("wamid.CB1", state, callback=callback_data(sent.message_id)))
        services.delivery_worker.drain()
    return sent


def run(sender: CallbackSender) -> int:
    async def once() -> int:
        try:
            return await sender.run_once()
        finally:
            await sender.aclose()
    return asyncio.run(once())


def make_sender(services, clock: Clock, **options: Any) -> CallbackSender:
    return CallbackSender(services.engine, make_callback_client(5.0), SECRET, clock=clock, jitter=lambda: 1.0,
                          backoff_base_s=10.0, **options)


def test_callbacks_are_signed_retried_after_a_failure_and_kept_in_order(services, receiver):
    sent = notified_with_statuses(services, receiver.url, "sent", "delivered")
    clock = Clock()
    receiver.fail_next = 1
    assert run(make_sender(services, clock)) == 1  # only the oldest of this notification: "sent" fails
    first = rows(services, callback_deliveries)
    assert [(r["state"], r["attempts"], r["last_status_code"]) for r in first] == [("pending", 1, 500),
                                                                                   ("pending", 0, None)]
    assert first[0]["next_attempt_at"] == clock.now + timedelta(seconds=10)
    assert run(make_sender(services, clock)) == 0  # not due yet, and "delivered" waits behind it
    clock.now += timedelta(seconds=11)
    assert run(make_sender(services, clock)) == 1
    assert run(make_sender(services, clock)) == 1
    assert [r["status"] for r in receiver.received] == ["sent", "delivered"]
    assert receiver.bad_signatures == 0 and receiver.attempts == 3
    body = receiver.received[0]
    assert (body["notification_id"], body["message_id"], body["error_code"]) == (sent.notification_id,
                                                                                 sent.message_id, None)
    assert body["event_id"] == first[0]["id"] and body["occurred_at"]
    assert [(r["state"], r["attempts"]) for r in rows(services, callback_deliveries)] == [("delivered", 2),
                                                                                          ("delivered", 1)]


def test_a_callback_that_keeps_failing_is_given_up_and_the_next_goes(services, receiver):
    notified_with_statuses(services, receiver.url, "sent", "delivered")
    clock = Clock()
    receiver.fail_next = 2
    for _ in range(2):
        run(make_sender(services, clock, max_attempts=2))
        clock.now += timedelta(seconds=3600)
    given_up = rows(services, callback_deliveries)[0]
    assert (given_up["state"], given_up["attempts"]) == ("failed", 2)
    assert "gave up after 2 attempts" in given_up["last_error"]
    run(make_sender(services, clock, max_attempts=2))
    assert [r["status"] for r in receiver.received] == ["delivered"]


def test_an_unreachable_receiver_is_retried(services):
    gone = Receiver()
    url = gone.url
    gone.close()  # nobody listens there any more
    notified_with_statuses(services, url, "sent")
    clock = Clock()
    run(make_sender(services, clock))
    [row] = rows(services, callback_deliveries)
    assert (row["state"], row["attempts"], row["last_status_code"]) == ("pending", 1, None)
    assert "Connect" in row["last_error"]

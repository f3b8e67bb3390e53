"""The automation webhook action over real HTTP: signed like notification callbacks, retried after a failure
(a clock the test moves, no waiting), given up after max_attempts and recorded."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from centralino.storage.tables_automation import automation_webhooks
from centralino.workers.automation_webhooks import WebhookSender
from centralino.workers.callbacks import make_callback_client
from tests.automation_helpers import customer, save_rule, settle
from tests.helpers import rows
from tests.workers.test_callbacks import SECRET, Clock, Receiver


@pytest.fixture
def receiver():
    made = Receiver()
    yield made
    made.close()


def run(sender: WebhookSender) -> int:
    async def once() -> int:
        try:
            return await sender.run_once()
        finally:
            await sender.aclose()
    return asyncio.run(once())


def make_sender(services, clock: Clock, **options: Any) -> WebhookSender:
    return WebhookSender(services.engine, make_callback_client(5.0), SECRET, clock=clock, jitter=lambda: 1.0,
                         backoff_base_s=10.0, **options)


def hooked(services, url: str) -> None:
    save_rule(services, name="CRM", trigger="message.received",
              conditions={"all": [{"field": "message.text", "op": "contains", "value": "reclamo"}]},
              actions=[{"type": "webhook", "url": url}])
    customer(services, "393470000001", body="faccio un reclamo")
    settle(services)


def test_a_webhook_is_signed_and_retried_after_a_failure(services, receiver):
    hooked(services, receiver.url)
    clock = Clock()
    receiver.fail_next = 1
    assert run(make_sender(services, clock)) == 1
    [row] = rows(services, automation_webhooks)
    assert (row["state"], row["attempts"], row["last_status_code"]) == ("pending", 1, 500)
    assert run(make_sender(services, clock)) == 0  # not due yet
    clock.now += timedelta(seconds=11)
    assert run(make_sender(services, clock)) == 1
    [row] = rows(services, automation_webhooks)
    assert (row["state"], row["attempts"], row["last_status_code"]) == ("delivered", 2, 200)
    assert receiver.bad_signatures == 0
    [body] = receiver.received
    assert body["delivery_id"] == row["id"] and body["rule"]["name"] == "CRM"
    assert body["event"]["type"] == "message.received"
    assert body["subject"]["message"]["text"] == "faccio un reclamo"
    # delivered: the stored copy keeps the rule and the event type, not the customer's data
    assert row["payload"] == {"rule": body["rule"], "event": {"type": "message.received"}, "subject_removed": True}


def test_a_webhook_that_keeps_failing_is_given_up(services, receiver):
    hooked(services, receiver.url)
    clock = Clock()
    receiver.fail_next = 10
    for _ in range(2):
        run(make_sender(services, clock, max_attempts=2))
        clock.now += timedelta(hours=2)
    [row] = rows(services, automation_webhooks)
    assert (row["state"], row["attempts"]) == ("failed", 2)
    assert "subject" not in row["payload"]
    assert row["last_error"].startswith("gave up after 2 attempts: HTTP 500")
    assert receiver.received == []

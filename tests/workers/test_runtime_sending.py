"""The in-process workers send what the API queued without being driven: the sender is woken by the
message.queued event and the statuses come back through the webhook (real time; bounded polling)."""

from __future__ import annotations

from centralino.storage.tables import messages
from tests.helpers import rows
from tests.meta_simulator import MetaSide
from tests.processes import wait_for


def test_the_runtime_sends_what_the_api_queued_and_applies_its_statuses(services):
    # Idle loops poll only every 30 s: the send happens within the wait only because queueing wakes the sender.
    services.settings = services.settings.model_copy(update={"worker_poll_s": 30.0})
    meta = MetaSide(services, workers=True)
    try:
        conversation_id = meta.customer_writes("393471234567")
        sent = meta.api.post(f"/api/v1/conversations/{conversation_id}/messages",
                             json={"type": "text", "text": {"body": "Your order ships today"}})
        assert sent.status_code == 202
        message_id = sent.json()["id"]

        def status() -> str:
            return str(rows(services, messages, messages.c.id == message_id)[0]["status"])

        wait_for("the message to be sent, delivered and read", lambda: status() == "read", 10.0)
        shown = meta.api.get(f"/api/v1/messages/{message_id}").json()
        assert shown["external_id"] and shown["accepted_at"] and shown["delivery"]["state"] == "done"
        assert [h["status"] for h in shown["status_history"]] == ["sent", "delivered", "read"]
        assert meta.stats()["accepted"] == 1
    finally:
        meta.close()

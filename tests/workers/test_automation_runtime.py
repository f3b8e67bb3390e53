"""End to end with the in-process workers (real time, bounded polling): a customer's message arrives through
the simulator's signed webhook, a rule matches it on the automation thread, and the runtime's webhook loop —
woken by automation.webhook_queued, not by its 30 s poll — posts the signed delivery to the business's
system, and the customer's acknowledgement goes out through the outbox."""

from __future__ import annotations

from centralino.storage.tables import messages
from centralino.storage.tables_automation import automation_webhooks
from tests.automation_helpers import save_rule
from tests.helpers import rows
from tests.meta_simulator import MetaSide
from tests.processes import wait_for
from tests.workers.test_callbacks import Receiver


def test_a_rule_posts_its_webhook_and_answers_the_customer_through_the_workers(services):
    services.settings = services.settings.model_copy(update={"worker_poll_s": 30.0})
    receiver = Receiver(services.settings.callback_secret.get_secret_value())
    meta = MetaSide(services, workers=True)
    try:
        save_rule(services, name="Reclami", trigger="message.received",
                  conditions={"all": [{"field": "message.text", "op": "contains", "value": "reclamo"}]},
                  actions=[{"type": "webhook", "url": receiver.url},
                           {"type": "notify", "text": {"it": "Abbiamo ricevuto il suo reclamo."}}])
        meta.customer_writes("393471234567", "Vorrei fare un reclamo")
        wait_for("the signed webhook", lambda: receiver.received, 10.0)
        assert receiver.bad_signatures == 0
        assert receiver.received[0]["subject"]["message"]["text"] == "Vorrei fare un reclamo"
        wait_for("the delivery recorded", lambda: rows(services, automation_webhooks)[0]["state"] == "delivered",
                 10.0)

        def acknowledgement() -> str:
            found = rows(services, messages, messages.c.origin == "automation")
            return str(found[0]["status"]) if found else ""

        wait_for("the acknowledgement sent and read", lambda: acknowledgement() == "read", 10.0)
    finally:
        meta.close()
        receiver.close()

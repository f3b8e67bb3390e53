"""The one consent decision over HTTP on the real send routes (templates from the API, transactional
notifications): refusals are 409 consent.refused with the reason, nothing is queued, and they follow the
ledger as it changes (an opt-in through the consent API, a STOP from the customer)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from centralino.storage.tables import conversations, messages, outbox
from tests.app.test_template_send import add_template
from tests.factories import text_delivery, whatsapp_channel
from tests.helpers import count, store
from tests.notification_helpers import add_templates
from tests.outbound_helpers import GIULIA, customer_wrote

AUTH = {"Authorization": "Bearer demo-token"}
PROMO_BODY = {"type": "BODY", "text": "Ciao {{1}}, questa settimana il {{2}} di sconto per te.",
              "example": {"body_text": [["Anna", "20%"]]}}
PROMO = {"name": "promo_settimana", "parameters": {"body": ["Giulia", "20%"]}}


@pytest.fixture
def closed(services) -> int:
    whatsapp_channel(services)
    return customer_wrote(services, ago=3 * 86400)


def contact_of(services, conversation_id: int) -> int:
    with services.engine.connect() as conn:
        return int(conn.execute(select(conversations.c.contact_id).where(conversations.c.id == conversation_id))
                   .scalar_one())


def queued(services) -> tuple[int, int]:
    return count(services, messages, messages.c.direction == "out"), count(services, outbox)


def test_template_route_marketing_needs_an_opt_in_and_stop_ends_it(client, services, closed):
    add_template(services, name="promo_settimana", category="marketing", components=[PROMO_BODY])
    url = f"/api/v1/conversations/{closed}/templates"
    refused = client.post(url, headers=AUTH, json=PROMO)
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert error["code"] == "consent.refused" and error["details"]["purpose"] == "marketing"
    assert error["message"] == ("marketing message refused: marketing messages need the customer's opt-in "
                                "and none is recorded")
    assert queued(services) == (0, 0)
    contact_id = contact_of(services, closed)
    recorded = client.post(f"/api/v1/contacts/{contact_id}/consents", headers=AUTH, json={
        "purpose": "marketing", "action": "opt_in", "source": "web_form", "occurred_at": "2026-01-10T10:00:00Z"})
    assert recorded.status_code == 201
    assert client.post(url, headers=AUTH, json=PROMO).status_code == 202
    store(services, text_delivery(GIULIA, "STOP", int(time.time()), "wamid.PATHSTOP"))
    services.delivery_worker.drain()
    again = client.post(url, headers=AUTH, json=PROMO)
    assert again.status_code == 409
    assert again.json()["error"]["message"].endswith("by keyword STOP")
    # the window is open again (she wrote): a reply is still a reply, and the confirmation went out
    reply = client.post(f"/api/v1/conversations/{closed}/messages", headers=AUTH,
                        json={"type": "text", "text": {"body": "Va bene, niente più offerte."}})
    assert reply.status_code == 202, reply.text
    with services.engine.connect() as conn:
        origins = list(conn.execute(select(messages.c.origin).where(messages.c.direction == "out")
                                    .order_by(messages.c.id)).scalars())
    assert origins == ["api", "consent", "api"]


def test_notification_route_refuses_a_utility_template_after_an_opt_out(client, services):
    whatsapp_channel(services)
    add_templates(services, "store_location")
    conversation_id = customer_wrote(services, ago=3 * 86400)
    contact_id = contact_of(services, conversation_id)
    body = {"recipient": f"+{GIULIA}", "channel_id": 1, "template": "store_location",
            "parameters": {"header": {"latitude": 45.46, "longitude": 9.19}, "body": ["Milano"]}}
    first = client.post("/api/v1/notifications", headers=AUTH, json=body)
    assert first.status_code == 202, first.text
    client.post(f"/api/v1/contacts/{contact_id}/consents", headers=AUTH,
                json={"purpose": "utility", "action": "opt_out", "note": "called the shop"})
    before = queued(services)
    refused = client.post("/api/v1/notifications", headers=AUTH, json=body)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "consent.refused"
    assert "opted out of utility" in refused.json()["error"]["message"]
    assert queued(services) == before

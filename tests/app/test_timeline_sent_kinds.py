"""What the business sends appears in the customer's timeline as what it was: a notification (one entry for its
message, with its use case), a campaign message (one per recipient, from the batch event, in one INSERT)."""

from __future__ import annotations

from datetime import UTC, datetime

from centralino.app.notifications import NotificationRequest
from centralino.storage.tables_timeline import timeline_entries
from tests.campaign_helpers import SUPERVISOR, approved_template, contacts_with
from tests.factories import whatsapp_channel
from tests.notification_helpers import add_templates
from tests.timeline_helpers import InsertCounter, entries, story

SHIPMENT = NotificationRequest(recipient="+393471234567", use_case="shipment_update",
                               payload={"order": {"id": "A-42"}, "shipment": {"status": "in consegna"}},
                               parameters={"buttons": [{"index": 0, "value": {"from": "payload.order.id"}}]})


def test_a_notification_is_one_entry_with_its_use_case(services):
    whatsapp_channel(services)
    add_templates(services)
    sent = services.notifications.service.do_notify(SHIPMENT, idempotency_key=None, api_client="api")
    [entry] = entries(services)
    assert (entry["kind"], entry["message_id"], entry["ref"]) == (
        "notification", sent.message_id, f"notification:{sent.notification_id}")
    assert entry["summary"] == {"type": "template", "origin": "notification", "use_case": "shipment_update",
                                "template": "shipment_update"}
    [read] = story(services, int(entry["contact_id"]))
    assert read["message"]["text"].startswith("Il tuo ordine A-42")


def test_a_campaign_batch_is_one_entry_per_recipient_in_one_insert(services):
    channel_id = whatsapp_channel(services)
    template_id = approved_template(services)
    vip = contacts_with(services, 5, tags=("vip",), attributes={"city": "Milano"})
    campaign_id = int(services.campaigns.do_create(SUPERVISOR, {
        "name": "Primavera", "channel_id": channel_id, "template_id": template_id, "audience": {"tags": ["vip"]},
        "parameters": {"1": {"field": "display_name"}, "2": {"attribute": "city"}, "3": {"text": "X"}},
        "rate_per_s": 50, "daily_tier": "unlimited"})["id"])
    services.campaigns.do_plan(SUPERVISOR, campaign_id)
    services.campaigns.do_start(SUPERVISOR, campaign_id)
    counter = InsertCounter(services.engine)
    try:
        now = datetime.now(UTC)
        assert services.campaigns.feeder.do_feed(campaign_id, 1000, now, 50, now).queued == 5
    finally:
        counter.close()
    assert counter.count == 1
    found = entries(services, timeline_entries.c.kind == "campaign")
    assert sorted(e["contact_id"] for e in found) == sorted(vip)
    assert {(e["ref"], e["actor"], e["channel_kind"]) for e in found} == {
        (f"campaign:{campaign_id}", f"campaign:{campaign_id}", "whatsapp")}
    assert all(e["summary"] == {"type": "template", "campaign_id": campaign_id} for e in found)
    [read] = story(services, vip[0])
    assert read["message"]["text"].startswith("Ciao Cliente 0, da Milano")

"""Status webhooks: Meta's envelope and signature, progression, pricing, on-demand oddities, retries."""

from __future__ import annotations

from centralino.channels.whatsapp.parser import parse_delivery
from centralino.simulator.config import StatusDelays, WebhookRetry
from tests.simulator.harness import CUSTOMER, DISPLAY, PNID, WABA, message, wait_for

HELLO = message(kind="template", name="hello_world", language={"code": "en_US"})


def sent_id(sim, body) -> str:
    response = sim.send(body)
    assert response.status_code == 200, response.text
    return response.json()["messages"][0]["id"]


def test_statuses_progress_in_order_in_metas_envelope_with_pricing_and_callback_data(sim):
    sim.customer_says()
    wamid = sent_id(sim, {**message(), "biz_opaque_callback_data": "ticket-42"})
    statuses = sim.receiver.wait_statuses(wamid, 3)
    assert [s["status"] for s in statuses] == ["sent", "delivered", "read"]
    assert sim.receiver.bad_signatures == 0
    for status in statuses:
        assert status["recipient_id"] == CUSTOMER and status["biz_opaque_callback_data"] == "ticket-42"
        assert isinstance(status["timestamp"], str) and status["timestamp"].isdigit()
    assert [("pricing" in s) for s in statuses] == [True, True, False]
    assert statuses[0]["pricing"] == {"billable": False, "pricing_model": "PMP", "type": "free_customer_service",
                                      "category": "service"}
    payload = next(p for p in sim.receiver.payloads() if p["entry"][0]["changes"][0]["value"].get("statuses"))
    assert payload["object"] == "whatsapp_business_account" and payload["entry"][0]["id"] == WABA
    change = payload["entry"][0]["changes"][0]
    assert change["field"] == "messages"
    assert change["value"]["metadata"] == {"display_phone_number": DISPLAY, "phone_number_id": PNID}
    assert change["value"]["messaging_product"] == "whatsapp"
    # The product's parser reads them as status updates with the callback data.
    events = [e for p in sim.receiver.payloads() for e in parse_delivery(p) if getattr(e, "external_id", "") == wamid]
    assert [e.status.value for e in events] == ["sent", "delivered", "read"]
    assert {e.callback_data for e in events} == {"ticket-42"}
    conversation = sim.control("GET", f"/customers/{CUSTOMER}/conversation")["messages"]
    assert conversation[-1]["status"] == "read" and [h["status"] for h in conversation[-1]["history"]] == [
        "accepted", "sent", "delivered", "read"]


def test_template_pricing_carries_its_category_and_is_regular_outside_the_window(sim):
    wamid = sent_id(sim, message(kind="template", name="order_update", language={"code": "en_US"},
                                 components=[{"type": "body", "parameters": [{"type": "text", "text": "Marco"},
                                                                            {"type": "text", "text": "4711"}]}]))
    sent = sim.receiver.wait_statuses(wamid, 1)[0]
    assert sent["pricing"] == {"billable": True, "pricing_model": "PMP", "type": "regular", "category": "utility"}


def test_read_only_on_demand_when_configured_and_reading_marks_every_message(simulator):
    sim = simulator(delays=StatusDelays(0, 0, None))
    sim.customer_says()
    first, second = sent_id(sim, message(body="uno")), sent_id(sim, message(body="due"))
    sim.receiver.wait_statuses(second, 2)
    assert [s["status"] for s in sim.receiver.statuses(first)] == ["sent", "delivered"]
    assert sim.control("POST", f"/customers/{CUSTOMER}/read", {})["read"] == [first, second]
    for wamid in (first, second):
        assert [s["status"] for s in sim.receiver.wait_statuses(wamid, 3)] == ["sent", "delivered", "read"]


def test_audio_is_played_on_demand_after_read(sim):
    sim.customer_says()
    wamid = sent_id(sim, message(kind="audio", link="https://example.com/voice.ogg"))
    sim.receiver.wait_statuses(wamid, 3)
    assert sim.control("POST", f"/messages/{wamid}/play")["status"] == "played"
    assert [s["status"] for s in sim.receiver.wait_statuses(wamid, 4)] == ["sent", "delivered", "read", "played"]
    text = sent_id(sim, message())
    assert sim.http.post(f"/_sim/messages/{text}/play").status_code == 409


def test_on_demand_duplicates_are_byte_identical_redeliveries(simulator):
    sim = simulator(delays=StatusDelays(0, 0, None))
    sim.customer_says()
    wamid = sent_id(sim, message())
    sim.receiver.wait_statuses(wamid, 2)
    assert sim.control("POST", f"/messages/{wamid}/duplicate")["reposted"] == 2
    wait_for(lambda: len(sim.receiver.statuses(wamid)) == 4, what="duplicates")
    bodies = [b for b in sim.receiver.bodies if wamid.encode() in b]
    assert len(bodies) == 4 and len(set(bodies)) == 2


def test_on_demand_out_of_order_and_batched_statuses(simulator):
    sim = simulator(delays=StatusDelays(3600, 0, None))  # nothing automatic during the test
    sim.customer_says()
    wamid = sent_id(sim, message())
    view = sim.control("POST", f"/messages/{wamid}/statuses", {"statuses": ["read", "delivered"]})
    assert view["status"] == "read"  # never downgraded by the late `delivered`
    assert [s["status"] for s in sim.receiver.wait_statuses(wamid, 2)] == ["read", "delivered"]
    before = len(sim.receiver.bodies)
    sim.control("POST", f"/messages/{wamid}/statuses", {"statuses": ["sent", "delivered", "read"], "batch": True})
    wait_for(lambda: len(sim.receiver.bodies) == before + 1, what="one batched POST")
    [batched] = sim.receiver.payloads()[before:]
    assert [s["status"] for s in batched["entry"][0]["changes"][0]["value"]["statuses"]] == ["sent", "delivered",
                                                                                            "read"]
    assert len(parse_delivery(batched)) == 3


def test_forced_failure_with_a_given_code(sim):
    sim.customer_says()
    wamid = sent_id(sim, message())
    sim.receiver.wait_statuses(wamid, 3)
    view = sim.control("POST", f"/messages/{wamid}/statuses",
                       {"statuses": ["failed"], "error_code": 131026, "error_details": "phone off for a week"})
    assert view["status"] == "failed" and view["error"]["code"] == 131026
    failed = sim.receiver.wait_statuses(wamid, 4)[-1]
    assert failed["status"] == "failed" and failed["errors"][0]["error_data"]["details"] == "phone off for a week"
    [event] = [e for e in parse_delivery(sim.receiver.payloads()[-1])]
    assert event.status.value == "failed" and event.errors[0].code == 131026


def test_failed_webhook_posts_are_retried_with_backoff_until_acknowledged(simulator):
    sim = simulator(webhook_retry=WebhookRetry(first_delay=0.01, max_delay=0.02, timeout=5))
    sim.receiver.fail_next = 3
    sim.customer_says()
    wait_for(lambda: sim.receiver.messages(), what="the inbound webhook after retries")
    summary = wait_for(lambda: (s := sim.control("GET", "/webhooks"))["delivered"] and s, what="the dispatcher's count")
    assert summary["failed_attempts"] == 3 and summary["delivered"] == 1 and summary["dropped"] == 0
    assert [a["outcome"] for a in summary["attempts"]] == ["500", "500", "500", "200"]


def test_unreachable_webhook_url_is_retried_not_dropped(simulator):
    sim = simulator(webhook_retry=WebhookRetry(first_delay=0.01, max_delay=0.02, timeout=1))
    sim.receiver.close()  # connection refused from now on
    sim.customer_says()
    wait_for(lambda: sim.control("GET", "/webhooks")["failed_attempts"] >= 3, what="several attempts")
    summary = sim.control("GET", "/webhooks")
    assert summary["pending"] >= 1 and summary["dropped"] == 0 and summary["delivered"] == 0


def test_batched_webhooks_keep_every_update_once_and_in_order(simulator):
    sim = simulator(webhook_batch_max=50)
    wamids = [sent_id(sim, message(to=f"+3934700000{i:02d}", kind="template", name="hello_world",
                                   language={"code": "en_US"})) for i in range(20)]
    wait_for(lambda: len(sim.receiver.statuses()) >= 60, what="60 statuses")
    for wamid in wamids:
        assert [s["status"] for s in sim.receiver.statuses(wamid)] == ["sent", "delivered", "read"]
    events = [e for p in sim.receiver.payloads() for e in parse_delivery(p)]
    assert len(events) == 60 and len(sim.receiver.payloads()) <= 60

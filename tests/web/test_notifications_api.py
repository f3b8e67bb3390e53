"""The notifications API around the sends: who may use it, the log with filters and pagination, the use-case
aliases managed as data (defaults, override, delete), and the desk's notifications log page."""

from __future__ import annotations

import pytest

from centralino.storage.tables_notifications import notifications
from tests.access_helpers import build_org, cheap_hashing, sign_in
from tests.helpers import count
from tests.notification_helpers import add_templates

INTEGRATION = {"Authorization": "Bearer demo-token"}
LOCATION = {"header": {"latitude": 45.46, "longitude": 9.19}, "body": ["Milano"]}


@pytest.fixture
def settings(settings):
    return cheap_hashing(settings)


@pytest.fixture
def org(services):
    made = build_org(services)
    add_templates(services)
    return made


def send(client, recipient: str, **body) -> dict:
    answer = client.post("/api/v1/notifications", headers=INTEGRATION, json={
        "recipient": recipient, "channel_id": 1, "template": "store_location", "parameters": LOCATION, **body})
    assert answer.status_code == 202, answer.text
    return answer.json()


def test_agents_may_not_send_notifications_supervisors_may(client, org):
    headers = sign_in(client, "agent_care")
    refused = client.post("/api/v1/notifications", headers=headers, json={
        "recipient": "+393471234567", "channel_id": 1, "template": "store_location", "parameters": LOCATION})
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "auth.role")
    assert client.get("/api/v1/notifications").status_code == 403
    client.post("/api/v1/auth/sign-out", headers=headers)
    headers = sign_in(client, "supervisor")
    answer = client.post("/api/v1/notifications", headers=headers, json={
        "recipient": "+393471234567", "channel_id": 1, "template": "store_location", "parameters": LOCATION})
    assert answer.status_code == 202, answer.text
    assert client.post("/api/v1/notifications", json={}).status_code in (401, 403)  # no CSRF token


def test_the_log_filters_and_pages(client, org, services):
    first = send(client, "+393471234567", use_case=None)
    send(client, "+393471234568")
    third = send(client, "+393471234569")
    page = client.get("/api/v1/notifications?limit=2", headers=INTEGRATION).json()
    assert [n["id"] for n in page["items"]] == [third["id"], third["id"] - 1] and page["next_cursor"]
    rest = client.get(f"/api/v1/notifications?limit=2&cursor={page['next_cursor']}", headers=INTEGRATION).json()
    assert [n["id"] for n in rest["items"]] == [first["id"]] and rest["next_cursor"] is None
    by_recipient = client.get("/api/v1/notifications?recipient=%2B393471234568", headers=INTEGRATION).json()
    assert [n["recipient"] for n in by_recipient["items"]] == ["393471234568"]
    assert client.get("/api/v1/notifications?status=read", headers=INTEGRATION).json()["items"] == []
    assert len(client.get("/api/v1/notifications?status=queued", headers=INTEGRATION).json()["items"]) == 3
    shown = client.get(f"/api/v1/notifications/{first['id']}", headers=INTEGRATION).json()
    assert shown["history"][0]["status"] == "queued" and shown["callbacks"] == []
    assert client.get("/api/v1/notifications/999", headers=INTEGRATION).status_code == 404


def test_use_case_aliases_have_defaults_can_be_overridden_and_deleted(client, org, services):
    listed = {u["name"]: u for u in client.get("/api/v1/notification-use-cases", headers=INTEGRATION).json()}
    assert {"boarding_pass", "store_location", "support_video", "shipment_update", "verification_code"} <= set(listed)
    assert listed["shipment_update"]["default"] is True
    created = client.put("/api/v1/notification-use-cases/pickup_ready", headers=INTEGRATION, json={
        "template": "store_location", "parameters": {"body": [{"from": "payload.store"}]}, "description": "Ritiro"})
    assert (created.status_code, created.json()["default"]) == (201, False)
    answer = client.post("/api/v1/notifications", headers=INTEGRATION, json={
        "recipient": "+393471234567", "channel_id": 1, "use_case": "pickup_ready", "payload": {"store": "Duomo"},
        "parameters": {"header": LOCATION["header"]}})
    assert answer.status_code == 202, answer.text
    assert answer.json()["use_case"] == "pickup_ready"
    bad = client.put("/api/v1/notification-use-cases/Bad-Name", headers=INTEGRATION, json={"template": "x"})
    assert (bad.status_code, bad.json()["error"]["field"]) == (422, "name")
    bad = client.put("/api/v1/notification-use-cases/x_y", headers=INTEGRATION, json={
        "template": "x", "parameters": {"footer": []}})
    assert (bad.status_code, bad.json()["error"]["field"]) == (422, "parameters")
    overridden = client.put("/api/v1/notification-use-cases/boarding_pass", headers=INTEGRATION,
                            json={"template": "boarding_pass_v2", "language": "en"})
    assert overridden.status_code == 201 and overridden.json()["template"] == "boarding_pass_v2"
    restored = client.delete("/api/v1/notification-use-cases/boarding_pass", headers=INTEGRATION).json()
    assert restored["default"]["template"] == "boarding_pass"
    assert client.delete("/api/v1/notification-use-cases/boarding_pass", headers=INTEGRATION).status_code == 404
    assert client.get("/api/v1/notification-use-cases/pickup_ready", headers=INTEGRATION).json()["description"] == \
        "Ritiro"


def test_the_desk_log_page_for_supervisors(client, org, services):
    send(client, "+393471234567", callback_url="https://erp.example.com/cb")
    assert count(services, notifications) == 1
    sign_in(client, "supervisor")
    page = client.get("/desk/notifications?status=queued")
    assert page.status_code == 200
    assert "store_location" in page.text and "+393471234567" in page.text and 'data-tick="queued"' in page.text
    assert 'href="/desk/notifications"' in page.text  # the header link
    assert "store_location" not in client.get("/desk/notifications?status=read").text
    client.post("/api/v1/auth/sign-out", headers={"X-CSRF-Token": client.cookies.get("centralino_csrf", "")})
    client.cookies.clear()
    sign_in(client, "agent_care")
    refused = client.get("/desk/notifications")
    assert refused.status_code == 404 and 'href="/desk/notifications"' not in refused.text

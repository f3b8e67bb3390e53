"""The campaign API: create, plan, start, progress, recipients, funnel CSV, CSV upload, errors."""

from __future__ import annotations

import json

from starlette.testclient import TestClient

from centralino.services import Services
from tests.campaign_helpers import approved_template, contacts_with
from tests.factories import whatsapp_channel

AUTH = {"Authorization": "Bearer demo-token"}
PARAMS = {"1": {"field": "display_name"}, "2": {"attribute": "city", "default": "Italia"}, "3": {"text": "X1"}}


def test_create_plan_start_and_follow_a_campaign(client: TestClient, services: Services) -> None:
    channel_id = whatsapp_channel(services)
    template_id = approved_template(services)
    contacts_with(services, 3, tags=("vip",))
    made = client.post("/api/v1/campaigns", headers=AUTH, json={
        "name": "Primavera", "channel_id": channel_id, "template_id": template_id,
        "audience": {"tags": ["VIP"]}, "parameters": PARAMS, "rate_per_s": 20, "daily_tier": "unlimited"})
    assert made.status_code == 201, made.text
    campaign_id = made.json()["id"]
    assert made.json()["status"] == "draft"
    planned = client.post(f"/api/v1/campaigns/{campaign_id}/plan", headers=AUTH).json()
    assert planned["recipients_total"] == 3
    started = client.post(f"/api/v1/campaigns/{campaign_id}/start", headers=AUTH)
    assert started.status_code == 200 and started.json()["status"] == "running"
    assert client.post(f"/api/v1/campaigns/{campaign_id}/start", headers=AUTH).status_code == 409
    progress = client.get(f"/api/v1/campaigns/{campaign_id}/progress", headers=AUTH).json()
    assert progress["counts"]["planned"] == 3 and progress["total"] == 3 and progress["percent"] == 0.0
    page = client.get(f"/api/v1/campaigns/{campaign_id}/recipients?state=planned&limit=2", headers=AUTH).json()
    assert len(page["items"]) == 2 and "da Italia" in page["items"][0]["params"]["template"]["preview"]
    rest = client.get(f"/api/v1/campaigns/{campaign_id}/recipients?after_id={page['next_after_id']}",
                      headers=AUTH).json()
    assert len(rest["items"]) == 1 and rest["next_after_id"] is None
    assert client.post(f"/api/v1/campaigns/{campaign_id}/pause", headers=AUTH).json()["status"] == "paused"
    assert client.post(f"/api/v1/campaigns/{campaign_id}/resume", headers=AUTH).json()["status"] == "running"
    csv = client.get(f"/api/v1/campaigns/{campaign_id}/funnel.csv", headers=AUTH)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert len(csv.text.strip().splitlines()) == 4
    assert client.post(f"/api/v1/campaigns/{campaign_id}/cancel", headers=AUTH).json()["status"] == "cancelled"
    assert any(c["id"] == campaign_id for c in client.get("/api/v1/campaigns", headers=AUTH).json())


def test_csv_upload_and_errors(client: TestClient, services: Services) -> None:
    channel_id = whatsapp_channel(services)
    template_id = approved_template(services)
    definition = json.dumps({"name": "Lista", "channel_id": channel_id, "template_id": template_id})
    made = client.post("/api/v1/campaigns/csv", headers=AUTH, data={"definition": definition},
                       files={"file": ("lista.csv", b"phone;1;2;3\n393471234567;Anna;Roma;A\nabc;B;C;D\n", "text/csv")})
    assert made.status_code == 201, made.text
    assert made.json()["recipients_total"] == 1 and made.json()["plan_report"]["rejected"] == 1
    no_phone = client.post("/api/v1/campaigns/csv", headers=AUTH, data={"definition": definition},
                           files={"file": ("x.csv", b"name,1\nA,B\n", "text/csv")})
    assert no_phone.status_code == 422 and no_phone.json()["error"]["code"] == "campaign.csv_no_phone"
    bad = client.post("/api/v1/campaigns", headers=AUTH, json={"name": "x", "channel_id": channel_id,
                                                               "template_id": template_id, "daily_tier": "5"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "daily_tier"
    unfit = client.post("/api/v1/campaigns", headers=AUTH, json={
        "name": "x", "channel_id": channel_id, "template_id": template_id, "audience": {"tags": ["vip"]},
        "parameters": {"body": [{"from": "contact.name"}, "Roma"]}})  # the template has three variables
    assert unfit.status_code == 422 and unfit.json()["error"]["field"] == "parameters.body"
    assert unfit.json()["error"]["code"] == "template.parameter_count"
    assert not [c for c in client.get("/api/v1/campaigns", headers=AUTH).json() if c["name"] == "x"]
    assert client.get("/api/v1/campaigns/999/progress", headers=AUTH).status_code == 404
    assert client.get("/api/v1/campaigns").status_code == 401

"""The automation API: rules checked on save (400 naming the field), enable/disable, dry run, the execution
log's pages, case-update settings; agents get 403."""

from __future__ import annotations

from sqlalchemy import select

from centralino.storage.tables import messages
from tests.access_helpers import sign_in
from tests.automation_helpers import customer, settle

INTEGRATION = {"Authorization": "Bearer demo-token"}
RULE = {"name": "Tag reclami", "trigger": "message.received",
        "conditions": {"all": [{"field": "message.text", "op": "contains", "value": "reclamo"}]},
        "actions": [{"type": "set_field", "field": "contact.tags", "value": "reclamo"}]}


def test_rules_are_saved_listed_updated_disabled_and_deleted(client):
    bad = client.post("/api/v1/automation/rules", headers=INTEGRATION, json={
        **RULE, "actions": [RULE["actions"][0], {"type": "send_template", "template": "non_esiste"}]})
    assert bad.status_code == 400
    assert bad.json()["error"]["field"] == "actions[1].template"
    bad = client.post("/api/v1/automation/rules", headers=INTEGRATION, json={**RULE, "trigger": "boh"})
    assert (bad.status_code, bad.json()["error"]["field"]) == (400, "trigger")
    assert client.get("/api/v1/automation/rules", headers=INTEGRATION).json() == []
    created = client.post("/api/v1/automation/rules", headers=INTEGRATION, json=RULE)
    assert created.status_code == 201
    rule_id = created.json()["id"]
    changed = client.put(f"/api/v1/automation/rules/{rule_id}", headers=INTEGRATION, json={**RULE, "name": "Reclami"})
    assert changed.json()["name"] == "Reclami"
    off = client.patch(f"/api/v1/automation/rules/{rule_id}", headers=INTEGRATION, json={"enabled": False})
    assert off.json()["enabled"] is False
    assert client.patch(f"/api/v1/automation/rules/{rule_id}", headers=INTEGRATION,
                        json={"enabled": "no"}).status_code == 400
    assert [r["name"] for r in client.get("/api/v1/automation/rules", headers=INTEGRATION).json()] == ["Reclami"]
    assert client.delete(f"/api/v1/automation/rules/{rule_id}", headers=INTEGRATION).status_code == 204
    assert client.get(f"/api/v1/automation/rules/{rule_id}", headers=INTEGRATION).status_code == 404


def test_dry_run_and_executions(client, services):
    conversation_id, contact_id = customer(services, "393470000001", body="ho un reclamo")
    with services.engine.connect() as conn:
        message_id = conn.execute(select(messages.c.id).where(messages.c.conversation_id == conversation_id)).scalar()
    event = {"type": "message.received",
             "payload": {"message_id": message_id, "conversation_id": conversation_id, "contact_id": contact_id}}
    tried = client.post("/api/v1/automation/rules/test", headers=INTEGRATION, json={"rule": RULE, "event": event})
    assert tried.status_code == 200
    assert tried.json()["matched"] is True and tried.json()["facts"]["message"]["text"] == "ho un reclamo"
    rule_id = client.post("/api/v1/automation/rules", headers=INTEGRATION, json=RULE).json()["id"]
    saved_test = client.post(f"/api/v1/automation/rules/{rule_id}/test", headers=INTEGRATION, json={"event": event})
    assert saved_test.json()["actions"] == RULE["actions"]
    for n in range(3):
        customer(services, f"39347000001{n}", body=f"reclamo numero {n}")
    settle(services)
    first = client.get("/api/v1/automation/executions", headers=INTEGRATION, params={"limit": 2}).json()
    assert len(first["items"]) == 2 and first["next"] is not None
    rest = client.get("/api/v1/automation/executions", headers=INTEGRATION,
                      params={"limit": 2, "cursor": first["next"]}).json()
    assert len(rest["items"]) == 1 and rest["next"] is None
    assert {e["outcome"] for e in first["items"] + rest["items"]} == {"done"}


def test_case_update_settings_and_the_catalog(client):
    saved = client.put("/api/v1/automation/case-updates/refund", headers=INTEGRATION,
                       json={"statuses": ["resolved"], "texts": {"resolved": {"it": "Fatto: {number}"}}})
    assert saved.status_code == 200 and saved.json()["statuses"] == ["resolved"]
    bad = client.put("/api/v1/automation/case-updates/refund", headers=INTEGRATION, json={"statuses": ["volata"]})
    assert (bad.status_code, bad.json()["error"]["field"]) == (400, "statuses[0]")
    assert [s["case_type"] for s in client.get("/api/v1/automation/case-updates", headers=INTEGRATION).json()] == [
        "refund"]
    catalog = client.get("/api/v1/automation/catalog", headers=INTEGRATION).json()
    assert "case.status_changed" in catalog["triggers"] and catalog["fields"]["message.text"] == "text"


def test_agents_may_not_touch_rules(client, org):
    headers = sign_in(client, "agent_care")
    assert client.get("/api/v1/automation/rules").status_code == 403
    assert client.post("/api/v1/automation/rules", json=RULE, headers=headers).status_code == 403
    assert client.get("/api/v1/automation/executions").status_code == 403


def test_a_rules_webhook_deliveries_are_listed(client, services):
    rule = {**RULE, "actions": [{"type": "webhook", "url": "https://crm.example.com/h"}]}
    rule_id = client.post("/api/v1/automation/rules", headers=INTEGRATION, json=rule).json()["id"]
    customer(services, "393470000001", body="un reclamo")
    settle(services)
    [delivery] = client.get(f"/api/v1/automation/rules/{rule_id}/webhooks", headers=INTEGRATION).json()
    assert (delivery["url"], delivery["state"], delivery["attempts"]) == ("https://crm.example.com/h", "pending", 0)
    assert client.get("/api/v1/automation/rules/999/webhooks", headers=INTEGRATION).status_code == 404


def test_what_a_customer_was_told_about_a_case(client, services):
    from centralino.demo_access import SETUP
    from tests.automation_helpers import open_case

    client.put("/api/v1/automation/case-updates/refund", headers=INTEGRATION, json={"statuses": ["in_progress"]})
    _, contact_id = customer(services, "393470000001")
    case = open_case(services, contact_id)
    services.cases.cases.do_transition(SETUP, case["id"], "in_progress")
    [update] = client.get(f"/api/v1/automation/case-updates/cases/{case['id']}", headers=INTEGRATION).json()
    assert (update["kind"], update["status"], update["outcome"]) == ("status_changed", "in_progress", "text")

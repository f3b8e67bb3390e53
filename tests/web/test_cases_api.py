"""The cases API over HTTP: a case opened from a conversation, a task escalated to another department and seen in
its work list, 400/404/409 answers naming the field, CSRF on session requests, case types for administrators."""

from __future__ import annotations

import pytest

from centralino.storage.tables_cases import cases
from tests.access_helpers import cheap_hashing, sign_in
from tests.helpers import rows

INTEGRATION = {"Authorization": "Bearer demo-token"}


@pytest.fixture
def settings(settings):
    return cheap_hashing(settings)


def test_open_escalate_and_work_over_http(client, services, org):
    csrf = sign_in(client, "agent_care")
    answer = client.post("/api/v1/cases", headers=csrf, json={
        "case_type": "refund", "title": "Rimborso ordine A-4471", "conversation_id": org.care_conversation,
        "fields": {"order_number": "A-4471", "refund_amount": 39.9}})
    assert answer.status_code == 201, answer.text
    case = answer.json()
    assert case["number"].startswith("C-") and case["status"] == "new" and case["department_id"] == org.care
    assert [(link["kind"], link["ref_id"]) for link in case["links"]] == [("conversation", org.care_conversation)]
    task = client.post(f"/api/v1/cases/{case['id']}/tasks", headers=csrf, json={
        "title": "Verifica bonifico", "department_id": org.care, "checklist": ["IBAN", "Importo"]}).json()
    assert task["checklist"] == [{"text": "IBAN", "done": False}, {"text": "Importo", "done": False}]
    escalated = client.post(f"/api/v1/tasks/{task['id']}/escalate", headers=csrf,
                            json={"to_department_id": org.sales, "reason": "serve l'amministrazione"})
    assert escalated.status_code == 200 and escalated.json()["department_id"] == org.sales
    refused = client.post(f"/api/v1/cases/{case['id']}/transition", headers=csrf, json={"status": "closed"})
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "case.transition_not_allowed"
    assert refused.json()["error"]["details"] == {"from": "new", "to": "closed"}
    moved = client.post(f"/api/v1/cases/{case['id']}/transition", headers=csrf, json={"status": "in_progress"})
    assert moved.status_code == 200 and moved.json()["status"] == "in_progress"
    bad = client.patch(f"/api/v1/cases/{case['id']}", headers=csrf, json={"fields": {"refund_amount": -1}})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "fields.refund_amount"

    sales = sign_in(client, "agent_sales")
    work = client.get(f"/api/v1/departments/{org.sales}/work").json()
    assert [(i["kind"], i["id"]) for i in work["items"]] == [("task", task["id"])]
    seen = client.get(f"/api/v1/cases/{case['id']}").json()  # visible through the task in their department
    assert seen["handoffs"][0]["reason"] == "serve l'amministrazione"
    assert client.get(f"/api/v1/departments/{org.care}/work").status_code == 404
    done = client.post(f"/api/v1/tasks/{task['id']}/transition", headers=sales, json={"status": "done"})
    assert done.status_code == 200 and done.json()["status"] == "done"
    by_number = client.get(f"/api/v1/cases/by-number/{case['number']}", headers=INTEGRATION)
    assert by_number.json()["id"] == case["id"]


def test_scope_csrf_and_errors(client, services, org):
    csrf = sign_in(client, "agent_care")
    case = client.post("/api/v1/cases", headers=csrf, json={
        "case_type": "complaint", "title": "Reclamo", "fields": {"description": "Pacco arrivato rotto"}}).json()
    assert client.post("/api/v1/cases", json={"case_type": "complaint", "title": "x"}).status_code == 403  # no CSRF
    missing = client.post("/api/v1/cases", headers=csrf, json={"case_type": "complaint", "title": "Reclamo"})
    assert missing.status_code == 400 and missing.json()["error"]["field"] == "fields.description"
    assert len(rows(services, cases)) == 1
    sign_in(client, "agent_sales")
    assert client.get(f"/api/v1/cases/{case['id']}").status_code == 404
    assert client.get("/api/v1/cases").json() == {"items": [], "next": None}
    sales = sign_in(client, "agent_sales")
    assert client.post(f"/api/v1/cases/{case['id']}/escalate", headers=sales,
                       json={"to_department_id": org.sales, "reason": "mio"}).status_code == 404
    listed = client.get("/api/v1/cases", headers=INTEGRATION, params={"q": "reclamo"}).json()
    assert [c["id"] for c in listed["items"]] == [case["id"]]


def test_case_types_for_administrators(client, services, org):
    sign_in(client, "agent_care")
    keys = {t["key"] for t in client.get("/api/v1/case-types").json()}
    assert keys == {"complaint", "refund", "technical_issue", "change_of_address"}
    definition = {"key": "warranty", "name": {"it": "Garanzia", "en": "Warranty"},
                  "workflow": {"statuses": ["open", "closed"], "initial": "open",
                               "transitions": {"open": ["closed"]}, "closed": ["closed"]},
                  "fields": [{"key": "serial", "kind": "text", "label": "Serial", "regex": "[A-Z0-9]{8}"}],
                  "sla": {"resolution_min": 480}}
    csrf = sign_in(client, "supervisor")
    assert client.post("/api/v1/case-types", headers=csrf, json=definition).status_code == 403
    admin = sign_in(client, "admin")
    bad = client.post("/api/v1/case-types", headers=admin, json={**definition, "fields": [
        {"key": "serial", "kind": "text", "regex": "[A-Z"}]})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "fields[0].regex"
    created = client.post("/api/v1/case-types", headers=admin, json=definition)
    assert created.status_code == 201 and created.json()["key"] == "warranty"
    assert client.post("/api/v1/case-types", headers=admin, json=definition).status_code == 409
    gone = client.delete(f"/api/v1/case-types/{created.json()['id']}", headers=admin)
    assert gone.status_code == 200 and gone.json()["active"] is False
    back = client.put(f"/api/v1/case-types/{created.json()['id']}", headers=admin,
                      json={**definition, "name": {"it": "Garanzia prodotto", "en": "Product warranty"}})
    assert back.status_code == 200 and back.json()["active"] is True
    assert back.json()["name"]["en"] == "Product warranty" and back.json()["key"] == "warranty"
    unknown = client.post("/api/v1/case-types", headers=admin, json={**definition, "key": "other", "colour": "red"})
    assert unknown.status_code == 422 and unknown.json()["error"]["field"] == "colour"


def test_my_tasks_over_http(client, services, org):
    csrf = sign_in(client, "agent_care")
    case = client.post("/api/v1/cases", headers=csrf, json={
        "case_type": "technical_issue", "title": "Router guasto", "fields": {"severity": "high"}}).json()
    mine = client.post(f"/api/v1/cases/{case['id']}/tasks", headers=csrf, json={
        "title": "Richiamare", "assignee_user_id": org.agent_care}).json()
    client.post(f"/api/v1/cases/{case['id']}/tasks", headers=csrf, json={"title": "Ufficio", "department_id": org.care})
    listed = client.get("/api/v1/tasks", params={"assignee": "me"}).json()
    assert [t["id"] for t in listed["items"]] == [mine["id"]] and listed["next"] is None
    cycle = client.post(f"/api/v1/tasks/{mine['id']}/dependencies", headers=csrf,
                        json={"depends_on_task_id": mine["id"]})
    assert cycle.status_code == 409 and cycle.json()["error"]["code"] == "task.dependency_cycle"

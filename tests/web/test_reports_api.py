"""The reports and service-level API over HTTP: JSON and CSV for supervisors, refused to agents, business
hours and SLA policies saved with errors naming the field."""

from __future__ import annotations

import pytest

from centralino.demo_access import SETUP
from centralino.domain.access import Role
from centralino.domain.enums import ConversationStatus
from centralino.storage.tables_service_levels import sla_policies
from tests.access_helpers import PASSWORD, cheap_hashing, sign_in
from tests.helpers import count
from tests.service_level_helpers import Desk, rome

INTEGRATION = {"Authorization": "Bearer demo-token"}


@pytest.fixture
def settings(settings):
    return cheap_hashing(settings)


def test_supervisors_read_reports_as_json_and_csv_agents_may_not(client, org):
    headers = sign_in(client, "supervisor")
    answer = client.get("/api/v1/reports", params={"from": "2020-01-01", "to": "2020-01-31"}, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["summary"]["contacts"] == 0
    csv = client.get("/api/v1/reports.csv", params={"from": "2020-01-01", "to": "2020-01-31"}, headers=headers)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert "report-2020-01-01-2020-01-31.csv" in csv.headers["content-disposition"]
    assert csv.text.splitlines()[1] == "all,,,0,0,0,0,,,,0,,"
    client.post("/api/v1/auth/sign-out", headers=headers)
    agent = sign_in(client, "agent_care")
    refused = client.get("/api/v1/reports", params={"from": "2020-01-01", "to": "2020-01-31"}, headers=agent)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "reports.forbidden"


def test_bad_ranges_name_the_field(client, org):
    bad = client.get("/api/v1/reports", params={"from": "25/11/2026", "to": "2026-11-30"}, headers=INTEGRATION)
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "from"
    long = client.get("/api/v1/reports", params={"from": "2020-01-01", "to": "2026-01-01"}, headers=INTEGRATION)
    assert long.status_code == 400 and long.json()["error"]["field"] == "to"


def test_policies_and_hours_over_http(client, services, org):
    queue = services.routing.do_save_queue(SETUP, {"name": "general", "department_id": org.care})
    created = client.post("/api/v1/sla-policies", headers=INTEGRATION, json={
        "name": "Standard", "queue_id": queue, "first_response_s": 300, "resolution_s": 86400,
        "escalation": [{"on": "breached", "action": "requeue"}]})
    assert created.status_code == 201, created.text
    policy = created.json()
    assert (policy["first_response_s"], policy["next_response_s"], policy["warn_percent"]) == (300, None, 80)
    bad = client.post("/api/v1/sla-policies", headers=INTEGRATION, json={
        "name": "Bad", "first_response_s": 300, "escalation": [{"on": "breached", "action": "fire"}]})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "escalation[0].action"
    taken = client.post("/api/v1/sla-policies", headers=INTEGRATION, json={"name": "Standard",
                                                                          "first_response_s": 60})
    assert taken.status_code == 409
    assert count(services, sla_policies) == 1
    updated = client.put(f"/api/v1/sla-policies/{policy['id']}", headers=INTEGRATION,
                         json={"name": "Standard", "queue_id": queue, "first_response_s": 600})
    assert updated.json()["first_response_s"] == 600 and updated.json()["resolution_s"] is None
    assert client.get(f"/api/v1/queues/{queue}/hours", headers=INTEGRATION).json()["always_open"] is True
    hours = client.put(f"/api/v1/queues/{queue}/hours", headers=INTEGRATION, json={
        "calendar": {"time_zone": "Europe/Rome", "hours": {"mon": [["09:00", "18:00"]]}, "holidays": "it"},
        "out_of_hours": "auto_reply", "auto_reply": {"it": "Siamo chiusi."}})
    assert hours.status_code == 200, hours.text
    assert hours.json()["calendar"]["hours"] == {"mon": [["09:00", "18:00"]]}
    wrong = client.put(f"/api/v1/queues/{queue}/hours", headers=INTEGRATION,
                       json={"calendar": {"hours": {"mon": [["18:00", "09:00"]]}}})
    assert wrong.status_code == 400 and wrong.json()["error"]["field"] == "calendar.hours.mon"
    missing = client.put("/api/v1/queues/999/hours", headers=INTEGRATION, json={"calendar": {}})
    assert missing.status_code == 404
    assert client.delete(f"/api/v1/sla-policies/{policy['id']}", headers=INTEGRATION).status_code == 204
    assert count(services, sla_policies) == 0


def test_the_reports_page_for_supervisors_only(client, services, org):
    queue = services.routing.do_save_queue(SETUP, {"name": "<b>vip</b>", "department_id": org.care})
    sign_in(client, "agent_care")
    assert client.get("/desk/reports").status_code == 404
    assert 'href="/desk/reports"' not in client.get("/desk/").text
    client.cookies.clear()
    sign_in(client, "supervisor")
    assert 'href="/desk/reports"' in client.get("/desk/").text
    page = client.get("/desk/reports", params={"from": "2026-11-01", "to": "2026-11-30", "queue_id": queue})
    assert page.status_code == 200
    assert 'data-figure="contacts">0<' in page.text
    assert "&lt;b&gt;vip&lt;/b&gt;" in page.text and "<b>vip</b>" not in page.text  # a name is never HTML
    assert 'href="/api/v1/reports.csv?from=2026-11-01&amp;to=2026-11-30&amp;queue_id=' in page.text
    backwards = client.get("/desk/reports", params={"from": "2026-11-30", "to": "2026-11-01"})
    assert backwards.status_code == 200 and 'role="alert"' in backwards.text


@pytest.fixture
def filled(services):
    """No org: a routed desk with one answered, resolved contact and a supervisor who can sign in."""
    desk = Desk(services)
    desk.queue("general")
    agent = desk.center.agent("anna", {})
    desk.policy(first_response_s=600)
    desk.at(rome(2026, 11, 25, 10, 0))
    conversation = desk.customer_writes("aiuto")
    desk.clock.advance(150)
    desk.agent_replies(conversation, agent)
    desk.services.desk.do_set_status(SETUP, conversation, ConversationStatus.RESOLVED)
    services.admin.do_create_user(SETUP, email="boss@example.com", display_name="Boss", role=Role.SUPERVISOR,
                                  password=PASSWORD, department_ids=[desk.center.department_id])
    return desk


def test_the_reports_page_shows_the_figures(client, filled):
    sign_in(client, "boss")
    page = client.get("/desk/reports", params={"from": "2026-11-25", "to": "2026-11-25"})
    assert page.status_code == 200, page.text
    assert 'data-figure="contacts">1<' in page.text
    assert 'data-figure="avg_first_response_s">2m 30s<' in page.text
    assert '<tr data-kind="first_response"><td>Prima risposta</td><td>1</td><td>0</td><td>100.0%</td></tr>' in page.text
    csv = client.get("/api/v1/reports.csv", params={"from": "2026-11-25", "to": "2026-11-25"})
    assert csv.status_code == 200 and csv.text.splitlines()[1].startswith("all,,,1,1,1,0,150.0,")

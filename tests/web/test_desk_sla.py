"""The SLA-policy and business-hours page (/desk/routing/sla): supervisors and administrators only, what it
shows, and a save round trip through the API the page's script calls (a 400 naming the field the page has a
slot for, nothing saved; then the fixed body saved and shown)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from centralino.demo_access import SETUP
from centralino.domain.access import Role
from centralino.storage.tables_service_levels import queue_hours, sla_policies
from tests.access_helpers import PASSWORD, cheap_hashing, sign_in
from tests.service_level_helpers import Desk


@pytest.fixture
def settings(settings):
    return cheap_hashing(settings)


@pytest.fixture
def desk(services):
    """Queue "mutui" in a department with agent anna and supervisor boss; supervisor other elsewhere."""
    desk = Desk(services)
    desk.queue_id = desk.center.queue("mutui")  # type: ignore[attr-defined]
    for name, role in (("anna", Role.AGENT), ("boss", Role.SUPERVISOR)):
        services.admin.do_create_user(SETUP, email=f"{name}@example.com", display_name=name.title(), role=role,
                                      password=PASSWORD, department_ids=[desk.center.department_id])
    other = int(services.admin.do_create_department(SETUP, "Elsewhere", channel_ids=[])["id"])
    services.admin.do_create_user(SETUP, email="other@example.com", display_name="Other", role=Role.SUPERVISOR,
                                  password=PASSWORD, department_ids=[other])
    return desk


def count(services, table) -> int:
    with services.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_agents_get_404_supervisors_see_the_page_and_links(client, desk):
    assert client.get("/desk/routing/sla", follow_redirects=False).status_code == 303
    sign_in(client, "anna")
    assert client.get("/desk/routing/sla").status_code == 404
    assert 'href="/desk/routing/sla"' not in client.get("/desk/").text
    sign_in(client, "boss")
    page = client.get("/desk/routing/sla")
    assert page.status_code == 200
    assert f'data-queue-id="{desk.queue_id}"' in page.text  # its hours form
    for field in ("first_response_s", "warn_percent", "escalation", "calendar.hours", "auto_reply"):
        assert f'data-error-for="{field}"' in page.text
    for path in ("/desk/supervisor", "/desk/routing/queues", "/desk/routing/agents"):
        assert 'href="/desk/routing/sla"' in client.get(path).text, path
    sign_in(client, "other")
    assert f'data-queue-id="{desk.queue_id}"' not in client.get("/desk/routing/sla").text


def test_policy_and_hours_round_trip_with_a_validation_error(client, services, desk):
    csrf = sign_in(client, "boss")
    body = {"name": "Standard", "queue_id": desk.queue_id, "priority": None, "first_response_s": 0,
            "next_response_s": None, "resolution_s": 28800, "warn_percent": 80,
            "escalation": [{"on": "breached", "action": "raise_priority", "by": 2}], "active": True}
    bad = client.post("/api/v1/sla-policies", headers=csrf, json=body)
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "first_response_s"
    assert count(services, sla_policies) == 0
    made = client.post("/api/v1/sla-policies", headers=csrf, json={**body, "first_response_s": 300})
    assert made.status_code == 201, made.text
    page = client.get("/desk/routing/sla").text
    assert f'data-policy-id="{made.json()["id"]}"' in page
    assert 'name="first_response_s" type="text" inputmode="numeric" value="300"' in page
    assert ">breached raise_priority 2</textarea>" in page

    hours = {"calendar": {"time_zone": "Europe/Rome", "hours": {"mon": [["09:00", "25:00"]]}, "holidays": "it",
                          "closed_dates": [], "open_dates": []}, "out_of_hours": "auto_reply",
             "auto_reply": {"it": "Siamo chiusi"}}
    bad = client.put(f"/api/v1/queues/{desk.queue_id}/hours", headers=csrf, json=hours)
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "calendar.hours.mon"
    assert count(services, queue_hours) == 0
    hours["calendar"]["hours"] = {"mon": [["09:00", "13:00"], ["14:00", "18:00"]]}
    assert client.put(f"/api/v1/queues/{desk.queue_id}/hours", headers=csrf, json=hours).status_code == 200
    page = client.get("/desk/routing/sla").text
    assert ">mon 09:00-13:00 14:00-18:00</textarea>" in page
    assert '<option value="it" selected>' in page and ">it: Siamo chiusi</textarea>" in page

    assert client.delete(f"/api/v1/sla-policies/{made.json()['id']}", headers=csrf).status_code == 204
    assert 'data-policy-id="' + str(made.json()["id"]) not in client.get("/desk/routing/sla").text

"""The timeline over HTTP: a customer's and a case's story, newest first, pages with no gap and no repeat,
filters, and visibility (out of scope is 404, and entries of conversations the reader may not see are left out)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from centralino.domain.access import Principal, Role
from centralino.storage.tables import conversations
from tests.access_helpers import cheap_hashing, sign_in
from tests.factories import PNID_2, WABA_2, text_delivery
from tests.helpers import store

INTEGRATION = {"Authorization": "Bearer demo-token"}
ADMIN = Principal(role=Role.ADMIN, user_id=None, via="integration")


@pytest.fixture
def settings(settings):
    return cheap_hashing(settings)


def contact_of_conversation(services, conversation_id: int) -> int:
    with services.engine.connect() as conn:
        return int(conn.execute(select(conversations.c.contact_id).where(conversations.c.id == conversation_id))
                   .scalar_one())


def walk(client, url: str, headers=None, **params) -> list[dict]:
    """Every page, following next_cursor."""
    found, cursor = [], None
    while True:
        answer = client.get(url, params={**params, **({"cursor": cursor} if cursor else {})}, headers=headers)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        found += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return found


def test_pages_have_no_gap_and_no_repeat_and_filters_narrow(client, org, services):
    contact_id = contact_of_conversation(services, org.care_conversation)
    for i in range(6):
        services.desk.do_add_note(ADMIN, org.care_conversation, f"nota {i}")
    services.desk.do_assign(ADMIN, org.care_conversation, org.agent_care)
    url = f"/api/v1/contacts/{contact_id}/timeline"

    everything = walk(client, url, INTEGRATION, limit=200)
    paged = walk(client, url, INTEGRATION, limit=2)
    assert [e["id"] for e in paged] == [e["id"] for e in everything]  # same entries, same order, no repeat
    assert len(everything) == 8  # the customer's message, six notes, the assignment
    keys = [(e["occurred_at"], e["id"]) for e in everything]
    assert keys == sorted(keys, reverse=True)
    assert everything[-1]["kind"] == "message_in" and everything[-1]["message"]["text"] == "assistenza"
    assert everything[0]["kind"] == "conversation_assigned"

    notes = walk(client, url, INTEGRATION, kind="note", limit=4)
    assert [e["message"]["text"] for e in notes] == [f"nota {i}" for i in reversed(range(6))]
    assert {e["message"]["direction"] for e in notes} == {"int"}
    grouped = walk(client, url, INTEGRATION, kind="messages,conversations")
    assert len(grouped) == 8
    assert walk(client, url, INTEGRATION, channel="email") == []
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert walk(client, url, INTEGRATION, since=future) == []
    assert len(walk(client, url, INTEGRATION, until=future)) == 8

    bad = client.get(url, params={"kind": "gossip"}, headers=INTEGRATION)
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "kind"
    assert client.get(url, params={"cursor": "nonsense"}, headers=INTEGRATION).json()["error"]["field"] == "cursor"


def test_out_of_scope_is_404_and_hidden_conversations_are_left_out(client, org, services):
    care_contact = contact_of_conversation(services, org.care_conversation)
    # the same customer also writes to the sales number: a second conversation, which care may not see
    store(services, text_delivery("393470000001", "vorrei comprare", int(time.time()), "wamid.CARE2SALES",
                                  pnid=PNID_2, waba=WABA_2))
    services.delivery_worker.drain()
    url = f"/api/v1/contacts/{care_contact}/timeline"
    assert len(walk(client, url, INTEGRATION)) == 2

    sign_in(client, "agent_care")
    seen = walk(client, url)
    assert [e["message"]["text"] for e in seen] == ["assistenza"]
    sign_in(client, "agent_sales")
    assert [e["message"]["text"] for e in walk(client, url)] == ["vorrei comprare"]

    sales_only = contact_of_conversation(services, org.sales_conversation)
    sign_in(client, "agent_care")
    for path in (f"/api/v1/contacts/{sales_only}/timeline", "/api/v1/contacts/999999/timeline",
                 "/api/v1/cases/999999/timeline"):
        answer = client.get(path)
        assert answer.status_code == 404, path


def test_a_cases_story_shows_its_events_and_its_linked_conversation(client, org, services):
    cases = services.cases
    assert cases is not None
    case = cases.cases.do_create_case(ADMIN, case_type="technical_issue", title="Il modem non va",
                                      conversation_id=org.care_conversation, department_id=org.care,
                                      fields={"product": "modem", "severity": "high"})
    task = cases.tasks.do_add_task(ADMIN, int(case["id"]), title="Sostituire il modem", department_id=org.care)
    cases.tasks.do_escalate_task(ADMIN, int(task["id"]), org.sales, reason="serve il magazzino")
    url = f"/api/v1/cases/{case['id']}/timeline"

    story = walk(client, url, INTEGRATION)
    kinds = [e["kind"] for e in reversed(story)]
    assert kinds[0] == "message_in"  # the linked conversation's message came first
    assert {"case_created", "case_linked", "task_created", "task_escalated"} <= set(kinds)
    escalated = next(e for e in story if e["kind"] == "task_escalated")
    assert escalated["summary"]["from_department_id"] == org.care
    assert escalated["summary"]["to_department_id"] == org.sales
    assert "serve il magazzino" not in str(escalated["summary"])

    sign_in(client, "agent_sales")  # the task is in sales now: they may see the case
    assert client.get(url).status_code == 200
    sign_in(client, "agent_care")
    assert client.get(url).status_code == 200
    other = cases.cases.do_create_case(ADMIN, case_type="technical_issue", title="Altro", department_id=org.sales,
                                       contact_id=contact_of_conversation(services, org.sales_conversation),
                                       fields={"product": "router", "severity": "low"}, owner_user_id=None)
    assert client.get(f"/api/v1/cases/{other['id']}/timeline").status_code == 404


def test_a_customers_entries_of_a_case_the_reader_may_not_see_are_left_out(client, org, services):
    cases = services.cases
    assert cases is not None
    care_contact = contact_of_conversation(services, org.care_conversation)
    mine = cases.cases.do_create_case(ADMIN, case_type="technical_issue", title="Visibile", department_id=org.care,
                                      contact_id=care_contact, fields={"severity": "low"}, owner_user_id=None)
    theirs = cases.cases.do_create_case(ADMIN, case_type="technical_issue", title="Di vendite",
                                        department_id=org.sales, contact_id=care_contact,
                                        fields={"severity": "low"}, owner_user_id=None)
    url = f"/api/v1/contacts/{care_contact}/timeline"
    assert {e["case_id"] for e in walk(client, url, INTEGRATION) if e["case_id"]} == {mine["id"], theirs["id"]}
    only_theirs = walk(client, url, INTEGRATION, case_id=theirs["id"])
    assert only_theirs and {e["case_id"] for e in only_theirs} == {theirs["id"]}

    sign_in(client, "agent_care")
    seen = walk(client, url, limit=1)
    assert {e["case_id"] for e in seen if e["case_id"]} == {mine["id"]}
    assert any(e["kind"] == "message_in" for e in seen)


def test_time_and_channel_filters_bound_the_story(client, org, services):
    contact_id = contact_of_conversation(services, org.care_conversation)
    url = f"/api/v1/contacts/{contact_id}/timeline"
    [first] = walk(client, url, INTEGRATION)
    at = datetime.fromisoformat(first["occurred_at"])
    services.desk.do_add_note(ADMIN, org.care_conversation, "dopo")
    assert [e["id"] for e in walk(client, url, INTEGRATION, until=at.isoformat())] == []  # until is exclusive
    assert [e["kind"] for e in walk(client, url, INTEGRATION, since=at.isoformat())] == ["note", "message_in"]
    later = (at + timedelta(microseconds=1)).isoformat()
    assert [e["kind"] for e in walk(client, url, INTEGRATION, since=later)] == ["note"]
    assert len(walk(client, url, INTEGRATION, channel="whatsapp")) == 2
    bad = client.get(url, params={"since": "2026-11-25T10:00:00"}, headers=INTEGRATION)
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "since"

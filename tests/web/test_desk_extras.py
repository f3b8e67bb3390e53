"""The desktop's extras over HTTP: unread counts and read markers, the customer panel (GET/PATCH
/api/v1/contacts/{id}), quick replies (API, picker fragment, page) and presence through the live hub."""

from __future__ import annotations

import asyncio
import re
import time

import pytest
from sqlalchemy import select

from centralino.domain.access import Principal, Role
from centralino.storage.tables import audit_log, contact_tags, contacts, conversations, events
from centralino.storage.tables_desk import conversation_reads, quick_replies
from tests.access_helpers import cheap_hashing
from tests.factories import PNID, WABA, text_delivery
from tests.helpers import count, rows, store
from tests.web.test_desk import csrf, desk_sign_in


@pytest.fixture
def settings(settings):
    return cheap_hashing(settings)


def signed_in(client, who: str) -> dict[str, str]:
    client.cookies.clear()
    desk_sign_in(client, who)
    return csrf(client)


def care_contact(services, org) -> int:
    return int(rows(services, conversations, conversations.c.id == org.care_conversation)[0]["contact_id"])


def customer_writes(services, body: str, msg_id: str, name: str = "Cliente") -> None:
    store(services, text_delivery("393470000001", body, int(time.time()), msg_id, name=name, pnid=PNID, waba=WABA))
    services.delivery_worker.drain()


def unread_badge(client, conversation_id: int) -> str | None:
    html = client.get("/desk/inbox/rows?view=departments").text
    row = html.split(f'data-conversation-id="{conversation_id}"')[1].split("</li>")[0]
    found = re.search(r'<span class="badge unread"[^>]*>([^<]+)</span>', row)
    return found.group(1) if found else None


# --- unread counts -------------------------------------------------------------------------------------------

def test_unread_counts_badge_the_inbox_and_reset_when_an_agent_opens_the_conversation(client, org, services,
                                                                                       recorder):
    signed_in(client, "agent_care")
    assert unread_badge(client, org.care_conversation) == "1"  # the customer's first message
    customer_writes(services, "ci siete?", "wamid.U2")
    customer_writes(services, "pronto?", "wamid.U3")
    assert unread_badge(client, org.care_conversation) == "3"

    recorder.events.clear()
    assert client.get(f"/desk/conversations/{org.care_conversation}").status_code == 200
    assert unread_badge(client, org.care_conversation) is None
    [marker] = rows(services, conversation_reads, order_by=conversation_reads.c.conversation_id)
    assert marker["conversation_id"] == org.care_conversation and marker["read_by_user_id"] == org.agent_care
    assert marker["read_at"] is not None
    assert [e.payload for e in recorder.events if e.type == "conversation.read"] == [
        {"conversation_id": org.care_conversation, "user_id": org.agent_care, "actor": f"user:{org.agent_care}"}]

    recorder.events.clear()  # opening it again with nothing new moves nothing and says nothing
    client.get(f"/desk/conversations/{org.care_conversation}")
    assert [e for e in recorder.events if e.type == "conversation.read"] == []

    customer_writes(services, "ancora", "wamid.U4")
    assert unread_badge(client, org.care_conversation) == "1"


def test_the_read_marker_api_resets_and_hides_what_the_caller_may_not_see(client, org, services):
    headers = signed_in(client, "agent_care")
    assert client.post(f"/api/v1/conversations/{org.care_conversation}/read-marker", headers=headers
                       ).status_code == 204
    assert unread_badge(client, org.care_conversation) is None
    headers = signed_in(client, "agent_sales")
    answer = client.post(f"/api/v1/conversations/{org.care_conversation}/read-marker", headers=headers)
    assert answer.status_code == 404
    assert [r["read_by_user_id"] for r in rows(services, conversation_reads, order_by=conversation_reads.c.conversation_id)] == [org.agent_care]


# --- the customer panel ----------------------------------------------------------------------------------------

def test_the_panel_edits_language_tags_and_attributes_audited_and_announced(client, org, services, recorder):
    contact_id = care_contact(services, org)
    headers = signed_in(client, "agent_care")
    answer = client.patch(f"/api/v1/contacts/{contact_id}", headers=headers, json={
        "display_name": "  Anna   Rossi ", "language": "en_GB", "tags": ["VIP", "reso ", "vip"],
        "attributes": {"city": "Milano", "tier": "gold"}})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["display_name"] == "Anna Rossi" and body["language"] == "en_GB"
    assert body["tags"] == ["reso", "vip"] and body["attributes"] == {"city": "Milano", "tier": "gold"}
    assert body["profile_name"] == "Test User"  # what WhatsApp calls her, kept apart

    answer = client.patch(f"/api/v1/contacts/{contact_id}", headers=headers,
                          json={"tags": ["vip"], "attributes": {"tier": None, "city": "Roma"}})
    assert answer.json()["tags"] == ["vip"] and answer.json()["attributes"] == {"city": "Roma"}
    assert client.get(f"/api/v1/contacts/{contact_id}").json()["attributes"] == {"city": "Roma"}
    assert [r["tag"] for r in rows(services, contact_tags, order_by=contact_tags.c.tag)] == ["vip"]

    audits = rows(services, audit_log, audit_log.c.action == "contact.updated")
    assert [a["target_id"] for a in audits] == [str(contact_id)] * 2
    assert audits[1]["details"]["tags"] == {"from": ["reso", "vip"], "to": ["vip"]}
    updates = [e.payload for e in recorder.events if e.type == "contact.updated"]
    assert updates[0]["fields"] == ["attributes", "display_name", "language", "tags"]
    assert updates[1]["fields"] == ["attributes", "tags"]

    page = client.get(f"/desk/conversations/{org.care_conversation}").text
    assert 'data-tag="vip"' in page and 'value="Roma"' in page
    assert '<option value="en_GB" selected>' in page
    assert "Test User" in page.split('id="profile-name"')[1].split("</small>")[0]


@pytest.mark.parametrize(("change", "field"), [
    ({"language": "klingon"}, "language"),
    ({"tags": ["ok", "<b>no</b>"]}, "tags[1]"),
    ({"attributes": {"Bad Key": "x"}}, "attributes.Bad Key"),
    ({"attributes": {"city": {"nested": 1}}}, "attributes.city"),
    ({"display_name": "   "}, "display_name"),
    ({"merged_into_id": 1}, "merged_into_id"),
])
def test_a_bad_field_is_named_and_nothing_changes(client, org, services, change, field):
    contact_id = care_contact(services, org)
    headers = signed_in(client, "agent_care")
    before = rows(services, contacts, contacts.c.id == contact_id)
    answer = client.patch(f"/api/v1/contacts/{contact_id}", headers=headers,
                          json={"display_name": "Changed", "tags": ["fine"], **change})
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["field"] == field
    assert rows(services, contacts, contacts.c.id == contact_id) == before
    assert count(services, contact_tags) == 0 and count(services, audit_log, audit_log.c.action == "contact.updated") == 0


def test_a_contact_none_of_whose_conversations_the_caller_sees_is_not_found(client, org, services):
    contact_id = care_contact(services, org)
    headers = signed_in(client, "agent_sales")
    assert client.get(f"/api/v1/contacts/{contact_id}").status_code == 404
    answer = client.patch(f"/api/v1/contacts/{contact_id}", headers=headers, json={"tags": ["x"]})
    assert answer.status_code == 404
    assert count(services, contact_tags) == 0


def test_contact_updates_reach_the_conversations_of_the_contact_live(org, services):
    from centralino.web.desk.live import DeskEventHub

    contact_id = care_contact(services, org)

    async def scenario() -> tuple[list[dict], list[dict]]:
        hub = DeskEventHub(services.engine)
        hub.start(services.bus)
        care = hub.connect(Principal(Role.AGENT, org.agent_care, frozenset({org.care})))
        sales = hub.connect(Principal(Role.AGENT, org.agent_sales, frozenset({org.sales})))
        admin = Principal(Role.ADMIN, org.admin)
        await asyncio.to_thread(services.desk.profiles.do_update, admin, contact_id, {"tags": ["vip"]})
        got_care = await care.next_items(5)
        await asyncio.sleep(0.2)
        got_sales = sales.take_items()
        await hub.stop()
        return got_care, got_sales

    got_care, got_sales = asyncio.run(scenario())
    assert got_care == [{"type": "contact.updated", "conversation_id": org.care_conversation}]
    assert got_sales == []


# --- quick replies ---------------------------------------------------------------------------------------------

def create(client, headers, **fields):
    return client.post("/api/v1/quick-replies", headers=headers, json=fields)


def test_quick_replies_personal_and_shared_with_who_may_manage_them(client, org, services):
    headers = signed_in(client, "agent_care")
    mine = create(client, headers, title="Saluto", shortcut="/Ciao", body="Ciao {{contact.first_name}}!")
    assert mine.status_code == 201, mine.text
    assert mine.json()["shortcut"] == "ciao" and mine.json()["owner_user_id"] == org.agent_care
    refused = create(client, headers, title="Tutti", shortcut="tutti", body="x", shared=True)
    assert refused.status_code == 403

    headers = signed_in(client, "supervisor")
    care_only = create(client, headers, title="Orari", shortcut="orari", body="Siamo aperti 9-18, {{agent.name}}",
                       shared=True, department_id=org.care)
    assert care_only.status_code == 201 and care_only.json()["owner_user_id"] is None
    assert create(client, headers, title="Vendite", shortcut="v", body="x", shared=True,
                  department_id=org.sales).status_code == 403  # not their department
    # the agent's personal one is not the supervisor's to see or change
    assert client.get(f"/api/v1/quick-replies/{mine.json()['id']}").status_code == 404
    assert client.patch(f"/api/v1/quick-replies/{mine.json()['id']}", headers=headers,
                        json={"title": "x"}).status_code == 404

    signed_in(client, "agent_care")
    assert [q["shortcut"] for q in client.get("/api/v1/quick-replies").json()["items"]] == ["ciao", "orari"]
    headers = signed_in(client, "agent_sales")
    assert client.get("/api/v1/quick-replies").json()["items"] == []
    assert client.delete(f"/api/v1/quick-replies/{care_only.json()['id']}", headers=headers).status_code == 404

    headers = signed_in(client, "agent_care")  # an agent cannot change a shared one they may use
    answer = client.patch(f"/api/v1/quick-replies/{care_only.json()['id']}", headers=headers, json={"body": "x"})
    assert answer.status_code == 403
    assert client.delete(f"/api/v1/quick-replies/{mine.json()['id']}", headers=headers).status_code == 204
    assert [r["shortcut"] for r in rows(services, quick_replies)] == ["orari"]
    assert [a["action"] for a in rows(services, audit_log, audit_log.c.target_type == "quick_reply")] == [
        "quick_reply.created", "quick_reply.created", "quick_reply.deleted"]


@pytest.mark.parametrize(("fields", "field", "code"), [
    ({"body": "Ciao {{contact.surname}}"}, "body", "quick_reply.unknown_variable"),
    ({"body": "{{ contact.attributes.Bad-Key }}"}, "body", "quick_reply.unknown_variable"),
    ({"body": "   "}, "body", "quick_reply.invalid_body"),
    ({"shortcut": "due parole"}, "shortcut", "quick_reply.invalid_shortcut"),
    ({"title": ""}, "title", "quick_reply.invalid_title"),
])
def test_a_quick_reply_with_a_bad_field_is_refused_naming_it(client, org, services, fields, field, code):
    headers = signed_in(client, "agent_care")
    answer = create(client, headers, **{"title": "T", "shortcut": "t", "body": "ok", **fields})
    assert answer.status_code == 400
    assert (answer.json()["error"]["field"], answer.json()["error"]["code"]) == (field, code)
    assert count(services, quick_replies) == 0


def test_quick_replies_page_by_shortcut_and_search(client, org, services):
    headers = signed_in(client, "agent_care")
    for n in range(5):
        assert create(client, headers, title=f"Risposta {n}", shortcut=f"r{n}", body=f"testo {n}").status_code == 201
    first = client.get("/api/v1/quick-replies?limit=2").json()
    second = client.get(f"/api/v1/quick-replies?limit=2&cursor={first['next_cursor']}").json()
    third = client.get(f"/api/v1/quick-replies?limit=2&cursor={second['next_cursor']}").json()
    assert [q["shortcut"] for q in first["items"] + second["items"] + third["items"]] == ["r0", "r1", "r2", "r3", "r4"]
    assert third["next_cursor"] is None
    assert [q["shortcut"] for q in client.get("/api/v1/quick-replies?q=TESTO 3").json()["items"]] == ["r3"]
    assert [q["shortcut"] for q in client.get("/api/v1/quick-replies?q=/r4").json()["items"]] == ["r4"]
    assert client.get("/api/v1/quick-replies?q=%25").json()["items"] == []  # % is literal


def test_a_quick_reply_renders_for_the_conversation_as_plain_text(client, org, services):
    contact_id = care_contact(services, org)
    headers = signed_in(client, "agent_care")
    client.patch(f"/api/v1/contacts/{contact_id}", headers=headers, json={
        "display_name": "<img src=x onerror=alert(1)> Rossi", "attributes": {"order": "A-42"}})
    create(client, headers, title="Ordine", shortcut="ordine",
           body="Buongiorno {{contact.first_name}}, l'ordine {{contact.attributes.order}} è partito. "
                "{{agent.name}} ({{contact.attributes.missing}})")
    [rendered] = client.get(f"/api/v1/conversations/{org.care_conversation}/quick-replies?q=ord").json()
    assert rendered["text"] == "Buongiorno <img, l'ordine A-42 è partito. agent_care ()"
    picker = client.get(f"/desk/conversations/{org.care_conversation}/quick-replies?q=ord").text
    assert 'data-text="Buongiorno &lt;img, l&#39;ordine A-42' in picker and "<img" not in picker
    headers = signed_in(client, "agent_sales")
    assert client.get(f"/desk/conversations/{org.care_conversation}/quick-replies").status_code == 404
    assert client.get(f"/api/v1/conversations/{org.care_conversation}/quick-replies").status_code == 404


def test_the_quick_replies_page_lists_and_offers_sharing_to_supervisors(client, org):
    headers = signed_in(client, "agent_care")
    create(client, headers, title="<b>Saluto</b>", shortcut="ciao", body="Ciao!")
    page = client.get("/desk/quick-replies")
    assert page.status_code == 200 and "&lt;b&gt;Saluto&lt;/b&gt;" in page.text
    assert 'value="shared"' not in page.text
    signed_in(client, "supervisor")
    page = client.get("/desk/quick-replies").text
    assert 'value="shared"' in page and f'value="department:{org.care}"' in page
    assert f'value="department:{org.sales}"' not in page


# --- presence --------------------------------------------------------------------------------------------------

def test_presence_goes_live_to_who_may_see_the_conversation_and_is_never_stored(client, org, services, recorder):
    from centralino.web.desk.live import DeskEventHub

    headers = signed_in(client, "agent_care")
    stored_before = count(services, events)

    async def scenario() -> tuple[list[dict], list[dict]]:
        hub = DeskEventHub(services.engine)
        hub.start(services.bus)
        supervisor = hub.connect(Principal(Role.SUPERVISOR, org.supervisor, frozenset({org.care})))
        sales = hub.connect(Principal(Role.AGENT, org.agent_sales, frozenset({org.sales})))
        answer = await asyncio.to_thread(client.post, f"/api/v1/conversations/{org.care_conversation}/presence",
                                         headers=headers, json={"state": "typing"})
        assert answer.status_code == 204
        got = await supervisor.next_items(5)
        await asyncio.sleep(0.2)
        got_sales = sales.take_items()
        await hub.stop()
        return got, got_sales

    got, got_sales = asyncio.run(scenario())
    assert got == [{"type": "desk.presence", "conversation_id": org.care_conversation, "user_id": org.agent_care,
                    "name": "agent_care", "state": "typing"}]
    assert got_sales == []
    assert count(services, events) == stored_before  # ephemeral: no row
    with services.engine.connect() as conn:
        assert conn.execute(select(events.c.id).where(events.c.type == "desk.presence")).first() is None
    assert client.post(f"/api/v1/conversations/{org.care_conversation}/presence", headers=headers,
                       json={"state": "dancing"}).status_code == 422
    headers = signed_in(client, "agent_sales")
    assert client.post(f"/api/v1/conversations/{org.care_conversation}/presence", headers=headers,
                       json={"state": "viewing"}).status_code == 404

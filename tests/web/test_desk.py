"""The agent desktop over HTTP (no browser): sign-in form, inbox views and search, the conversation page
with every message kind escaped, notes never queued, assignment and status, visibility by URL, the
security headers. The browser tests (tests/browser/) cover the scripts and live updates."""

from __future__ import annotations

import asyncio
import re

import pytest
from sqlalchemy import func, select, update

from centralino.storage.tables import audit_log, contacts, conversations, messages, outbox
from tests.access_helpers import PASSWORD, cheap_hashing
from tests.helpers import rows


@pytest.fixture
def settings(settings):
    return cheap_hashing(settings)


def desk_sign_in(client, who: str, password: str = PASSWORD, **extra):
    return client.post("/desk/sign-in", data={"email": f"{who}@example.com", "password": password, **extra},
                       follow_redirects=False)


def csrf(client) -> dict[str, str]:
    page = client.get("/desk/")
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert token, page.text[:500]
    return {"X-CSRF-Token": token.group(1)}


def test_pages_without_a_session_lead_to_the_sign_in_form(client, org):
    answer = client.get(f"/desk/conversations/{org.care_conversation}", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/desk/sign-in?next=%2Fdesk%2Fconversations%2F")
    form = client.get(answer.headers["location"])
    assert form.status_code == 200 and 'action="/desk/sign-in"' in form.text
    assert "script-src 'self'" in form.headers["content-security-policy"]
    assert client.get("/desk/events").status_code == 401


def test_sign_in_form_sets_the_cookie_and_goes_where_it_was_asked(client, org):
    wrong = desk_sign_in(client, "agent_care", "nope")
    assert wrong.status_code == 401 and "centralino_session" not in wrong.headers.get("set-cookie", "")
    answer = desk_sign_in(client, "agent_care", next=f"/desk/conversations/{org.care_conversation}")
    assert answer.status_code == 303 and answer.headers["location"] == f"/desk/conversations/{org.care_conversation}"
    assert "HttpOnly" in answer.headers["set-cookie"]
    # never an open redirect
    assert desk_sign_in(client, "agent_care", next="https://evil.example/").headers["location"] == "/desk/"
    assert desk_sign_in(client, "agent_care", next="//evil.example/x").headers["location"] == "/desk/"


def test_a_cross_site_sign_in_form_is_refused(client, org):
    answer = client.post("/desk/sign-in", data={"email": "agent_care@example.com", "password": PASSWORD},
                         headers={"Origin": "https://evil.example"}, follow_redirects=False)
    assert answer.status_code == 403


def test_inbox_views_and_search(client, org, services):
    desk_sign_in(client, "agent_care")
    page = client.get("/desk/")
    assert page.status_code == 200
    assert 'data-view="all"' not in page.text  # agents have no "all" view
    ids = lambda html: [int(i) for i in re.findall(r'data-conversation-id="(\d+)"', html)]  # noqa: E731
    # departments: the care conversation; mine: the one assigned to her (on a sales channel)
    assert ids(client.get("/desk/?view=departments").text) == [org.care_conversation]
    assert ids(client.get("/desk/?view=mine").text) == [org.assigned_conversation]
    assert ids(client.get("/desk/?view=unassigned").text) == [org.care_conversation]
    assert set(ids(client.get("/desk/?view=all").text)) == {org.care_conversation, org.assigned_conversation}
    assert ids(client.get("/desk/inbox/rows?view=departments&q=assist").text) == [org.care_conversation]
    assert ids(client.get("/desk/inbox/rows?view=departments&q=3470000001").text) == [org.care_conversation]
    assert ids(client.get("/desk/inbox/rows?view=departments&q=nothing-like-this").text) == []
    assert ids(client.get("/desk/inbox/rows?view=departments&q=100%25").text) == []  # LIKE wildcards are literal
    client.cookies.clear()
    desk_sign_in(client, "supervisor")
    assert 'data-view="all"' in client.get("/desk/").text


def test_inbox_pages_with_a_cursor(client, org, services):
    desk_sign_in(client, "admin")
    from centralino.web.desk import pages
    pages.INBOX_PAGE, before = 2, pages.INBOX_PAGE
    try:
        first = client.get("/desk/?view=all").text
        more = re.search(r'href="(/desk/\?view=all&amp;q=&amp;cursor=[^"]+)"', first)
        assert more
        second = client.get(more.group(1).replace("&amp;", "&")).text
    finally:
        pages.INBOX_PAGE = before
    seen = re.findall(r'data-conversation-id="(\d+)"', first) + re.findall(r'data-conversation-id="(\d+)"', second)
    assert len(seen) == len(set(seen)) == 3


def test_another_departments_conversation_is_not_found_by_url(client, org):
    desk_sign_in(client, "agent_sales")
    answer = client.get(f"/desk/conversations/{org.care_conversation}")
    assert answer.status_code == 404 and "assistenza" not in answer.text
    assert client.get(f"/desk/conversations/{org.care_conversation}/header").status_code == 404
    care_message = client.get(f"/desk/conversations/{org.care_conversation}/messages/1")
    assert care_message.status_code == 404


def test_customer_content_is_escaped_everywhere(client, org, services):
    evil = "<img src=x onerror=alert(1)>"
    with services.engine.begin() as conn:
        contact_id = conn.execute(select(conversations.c.contact_id)
                                  .where(conversations.c.id == org.care_conversation)).scalar_one()
        conn.execute(update(contacts).where(contacts.c.id == contact_id).values(display_name=evil))
        conn.execute(update(messages).where(messages.c.conversation_id == org.care_conversation)
                     .values(text=f"hi {evil}", content={"body": f"hi {evil}\nsecond line"}))
    desk_sign_in(client, "agent_care")
    for html in (client.get("/desk/").text, client.get(f"/desk/conversations/{org.care_conversation}").text):
        assert evil not in html
        assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_a_note_is_shown_but_never_queued(client, org, services):
    desk_sign_in(client, "agent_care")
    headers = csrf(client)
    assert client.post(f"/api/v1/conversations/{org.care_conversation}/notes", json={"body": "x"}).status_code == 403
    answer = client.post(f"/api/v1/conversations/{org.care_conversation}/notes", json={"body": "call back <b>"},
                         headers=headers)
    assert answer.status_code == 201, answer.text
    note_id = answer.json()["id"]
    [note] = rows(services, messages, messages.c.id == note_id)
    assert (note["direction"], note["type"], note["external_id"]) == ("int", "note", None)
    with services.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(outbox)
                            .where(outbox.c.message_id == note_id)).scalar() == 0
    fragment = client.get(f"/desk/conversations/{org.care_conversation}/messages/{note_id}").text
    assert "dir-int" in fragment and "call back &lt;b&gt;" in fragment
    # another department's agent cannot add one either
    client.cookies.clear()
    desk_sign_in(client, "agent_sales")
    assert client.post(f"/api/v1/conversations/{org.care_conversation}/notes", json={"body": "x"},
                       headers=csrf(client)).status_code == 404


def test_assign_unassign_resolve_reopen_and_rename_are_audited(client, org, services):
    desk_sign_in(client, "agent_care")
    headers = csrf(client)
    base = f"/api/v1/conversations/{org.care_conversation}"
    assert client.put(f"{base}/assignee", json={"user_id": org.agent_care}, headers=headers).status_code == 204
    assert client.put(f"{base}/assignee", json={"user_id": org.supervisor}, headers=headers).status_code == 403
    assert client.put(f"{base}/status", json={"status": "resolved"}, headers=headers).status_code == 204
    assert client.put(f"{base}/contact-name", json={"display_name": "Anna  Verdi"}, headers=headers).status_code == 204
    page = client.get(f"/desk/conversations/{org.care_conversation}").text
    assert "Anna Verdi" in page and 'data-action="reopen"' in page and 'data-action="unassign"' in page
    assert client.put(f"{base}/status", json={"status": "open"}, headers=headers).status_code == 204
    assert client.put(f"{base}/assignee", json={"user_id": None}, headers=headers).status_code == 204
    actions = [r["action"] for r in rows(services, audit_log) if r["target_type"] in ("conversation", "contact")]
    assert actions == ["conversation.assigned", "conversation.resolved", "contact.renamed", "conversation.reopened",
                       "conversation.assigned"]


def test_language_is_the_users_setting_and_switchable(client, org):
    desk_sign_in(client, "agent_care")
    assert '<html lang="it">' in client.get("/desk/").text
    assert client.put("/api/v1/auth/language", json={"language": "en"}, headers=csrf(client)).status_code == 204
    page = client.get("/desk/").text
    assert '<html lang="en">' in page and "Unassigned" in page


def test_static_scripts_are_served_and_pages_have_no_inline_script(client, org):
    desk_sign_in(client, "agent_care")
    for name in ("common.js", "inbox.js", "conversation.js", "desk.css"):
        assert client.get(f"/desk/static/{name}").status_code == 200
    for path in ("/desk/", f"/desk/conversations/{org.care_conversation}", "/desk/sign-in"):
        html = client.get(path).text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert not re.search(r"\son[a-z]+=", html), path


def test_live_events_reach_only_the_sessions_that_may_see_the_conversation(org, services):
    """The hub fans bus events out per visibility; a note added in a request thread reaches the care
    agent's stream and not the sales agent's."""
    from centralino.domain.access import Principal, Role
    from centralino.web.desk.live import DeskEventHub

    async def scenario() -> tuple[list[dict], list[dict]]:
        hub = DeskEventHub(services.engine)
        hub.start(services.bus)
        care = hub.connect(Principal(Role.AGENT, org.agent_care, frozenset({org.care})))
        sales = hub.connect(Principal(Role.AGENT, org.agent_sales, frozenset({org.sales})))
        admin = Principal(Role.ADMIN, org.admin)
        await asyncio.to_thread(services.desk.do_add_note, admin, org.care_conversation, "care only")
        await asyncio.to_thread(services.desk.do_add_note, admin, org.sales_conversation, "sales only")
        got_care = await care.next_items(5)
        got_sales = await sales.next_items(5)
        await asyncio.sleep(0.2)
        got_care += care.take_items()
        got_sales += sales.take_items()
        await hub.stop()
        return got_care, got_sales

    got_care, got_sales = asyncio.run(scenario())
    assert [(e["type"], e["conversation_id"]) for e in got_care] == [("message.note_added", org.care_conversation)]
    assert [(e["type"], e["conversation_id"]) for e in got_sales] == [("message.note_added", org.sales_conversation)]


def test_supervisors_transfer_to_their_departments_people_and_agents_get_no_picker(client, org, services):
    desk_sign_in(client, "agent_care")
    assert 'id="transfer-to"' not in client.get(f"/desk/conversations/{org.care_conversation}").text
    client.cookies.clear()
    desk_sign_in(client, "supervisor")
    page = client.get(f"/desk/conversations/{org.care_conversation}").text
    offered = {int(v) for v in re.findall(r'<option value="(\d+)"', page.split('id="transfer-to"')[1].split("</select>")[0])}
    assert offered == {org.supervisor, org.agent_care}  # care's people, not sales'
    answer = client.put(f"/api/v1/conversations/{org.care_conversation}/assignee", json={"user_id": org.agent_care},
                        headers=csrf(client))
    assert answer.status_code == 204
    [row] = rows(services, conversations, conversations.c.id == org.care_conversation)
    assert row["assignee_user_id"] == org.agent_care


def test_snooze_until_a_time_or_until_the_customer_writes(client, org, services):
    from datetime import UTC, datetime, timedelta

    desk_sign_in(client, "agent_care")
    headers = csrf(client)
    base = f"/api/v1/conversations/{org.care_conversation}"
    soon = datetime.now(UTC) + timedelta(hours=1)
    assert client.put(f"{base}/snooze", json={"until": (datetime.now(UTC) - timedelta(minutes=1)).isoformat()},
                      headers=headers).status_code == 400  # the past
    assert client.put(f"{base}/snooze", json={"until": soon.isoformat()}, headers=headers).status_code == 204
    page = client.get(f"/desk/conversations/{org.care_conversation}").text
    assert "status-snoozed" in page and 'data-action="reopen"' in page and 'data-action="snooze"' not in page

    def status() -> str:
        [row] = rows(services, conversations, conversations.c.id == org.care_conversation)
        return str(row["status"])

    assert services.desk.wake_snoozed() == 0 and status() == "snoozed"  # not yet, nobody wrote
    with services.engine.begin() as conn:  # the customer writes after the snooze
        conn.execute(update(conversations).where(conversations.c.id == org.care_conversation)
                     .values(last_inbound_at=datetime.now(UTC) + timedelta(seconds=1)))
    assert services.desk.wake_snoozed() == 1 and status() == "open"
    # and by time
    assert client.put(f"{base}/snooze", json={"until": soon.isoformat()}, headers=headers).status_code == 204
    later = services.desk.clock
    services.desk.clock = lambda: later() + timedelta(hours=2)
    try:
        assert services.desk.wake_snoozed() == 1 and status() == "open"
    finally:
        services.desk.clock = later
    actions = [r["action"] for r in rows(services, audit_log) if r["target_type"] == "conversation"]
    assert actions == ["conversation.snoozed", "conversation.snoozed"]


def test_older_messages_page_back_from_the_latest(client, org, services):
    from centralino.web.desk import pages

    for i in range(5):
        services.desk.do_add_note(supervisor_of(org), org.care_conversation, f"note {i}")
    desk_sign_in(client, "agent_care")
    pages.CONVERSATION_MESSAGES, before = 2, pages.CONVERSATION_MESSAGES
    try:
        page = client.get(f"/desk/conversations/{org.care_conversation}").text
        seen = re.findall(r'data-message-id="(\d+)"', page)
        while (older := re.search(r'id="older" data-cursor="([^"]+)"', page)):
            page = client.get(f"/desk/conversations/{org.care_conversation}/older",
                              params={"cursor": older.group(1)}).text
            seen = re.findall(r'data-message-id="(\d+)"', page) + seen
    finally:
        pages.CONVERSATION_MESSAGES = before
    assert len(seen) == 6 and seen == sorted(seen, key=int)  # the customer's message and five notes, in order
    client.cookies.clear()
    desk_sign_in(client, "agent_sales")
    assert client.get(f"/desk/conversations/{org.care_conversation}/older", params={"cursor": "x"}).status_code == 404


def supervisor_of(org):
    from centralino.domain.access import Principal, Role
    return Principal(Role.SUPERVISOR, org.supervisor, frozenset({org.care}))

"""The agent's side of the virtual agent over HTTP (no browser): the handoff summary card (customer-provided values
rendered as text), the suggestion card sent with one click as the agent (and gone afterwards), taking a
conversation over from the bot, the "bot" owner badge, visibility by department, and the live hub forwarding the
runtime's bot events only to who may see the conversation. Bot rows come from tests/bot_helpers.py factories.
The browser side is tests/browser/test_bot_desk_browser.py."""

from __future__ import annotations

import asyncio
import re

import pytest

from centralino.domain.access import Principal, Role
from centralino.storage.tables import audit_log, conversations, messages, outbox
from centralino.storage.tables_bot import bot_sessions, bot_turns
from centralino.web.desk.live import DeskEventHub
from tests.access_helpers import cheap_hashing, sign_in
from tests.bot_helpers import HANDOFF_SUMMARY, bot_session, bot_turn, emit
from tests.helpers import rows

XSS = "<img src=x onerror=alert(1)>"
SUGGESTION = "Il suo ordine 4711 è in viaggio con BRT, arriva domani."


@pytest.fixture
def settings(settings):
    return cheap_hashing(settings)


def _suggestion_card(html: str) -> int | None:
    found = re.search(r'id="bot-suggestion" data-turn-id="(\d+)"', html)
    return int(found.group(1)) if found else None


def test_the_handoff_summary_shows_what_the_bot_found_and_customer_values_stay_text(client, org, services):
    summary = {**HANDOFF_SUMMARY, "slots": {"order_number": "4711", "note": XSS},
               "entities": [{"kind": "email", "value": "<b>x@example.com</b>"}],
               "turns": [{"decision": "rephrase", "text": XSS, "intent": None, "confidence": 0.3},
                         {"decision": "handoff", "text": "operatore", "intent": "order_status", "confidence": 0.91}]}
    bot_session(services.engine, org.care_conversation, state="handed_off", summary=summary)
    sign_in(client, "agent_care")
    for url in (f"/desk/conversations/{org.care_conversation}", f"/desk/conversations/{org.care_conversation}/bot"):
        html = client.get(url).text
        card = html.split('id="bot-summary"')[1].split("</details>")[0]
        assert "order_status" in card and "91%" in card and ">it<" in card
        assert "4711" in card and "note" in card
        line = card.split('id="bot-summary-line">')[1].split("</span>")[0]  # the folded line, in her language
        assert line == "order_status 91% · it · risposta suggerita all&#39;operatore"
        assert "ha chiesto di riformulare" in card and "è passata a un operatore" in card  # what the bot did
        assert "&lt;img src=x onerror=alert(1)&gt;" in card and "&lt;b&gt;x@example.com&lt;/b&gt;" in card
        assert "<img src=x" not in html and "<b>x@" not in html
    # no summary and no suggestion: no card
    bot_session(services.engine, org.care_conversation, state="handed_off", summary={}, language=None)
    assert 'id="bot-summary"' not in client.get(f"/desk/conversations/{org.care_conversation}").text


def test_one_click_sends_the_suggestion_as_the_agent_and_the_card_goes(client, org, services, recorder):
    bot_session(services.engine, org.care_conversation, state="handed_off", summary=HANDOFF_SUMMARY)
    turn = bot_turn(services.engine, org.care_conversation, suggestion=SUGGESTION)
    csrf = sign_in(client, "agent_care")
    page = client.get(f"/desk/conversations/{org.care_conversation}").text
    assert _suggestion_card(page) == turn and "Il suo ordine 4711 è in viaggio" in page
    answer = client.post(f"/api/v1/conversations/{org.care_conversation}/bot/suggestion", json={"turn_id": turn},
                         headers=csrf)
    assert answer.status_code == 202, answer.text
    message_id = answer.json()["id"]
    [sent] = rows(services, messages, messages.c.id == message_id)
    assert (sent["direction"], sent["type"], sent["text"], sent["origin"], sent["status"]) == (
        "out", "text", SUGGESTION, f"agent:{org.agent_care}", "queued")
    assert len(rows(services, outbox, outbox.c.message_id == message_id)) == 1
    [used] = rows(services, bot_turns, bot_turns.c.id == turn)
    assert used["reply_message_id"] == message_id
    [audit] = rows(services, audit_log, audit_log.c.action == "bot.suggestion_sent")
    assert audit["actor"] == f"user:{org.agent_care}" and audit["details"]["turn_id"] == turn
    assert [e.type for e in recorder.events if e.type in ("message.queued", "bot.suggestion_sent")] == [
        "message.queued", "bot.suggestion_sent"]
    # the card is gone, and a second click (another tab, a colleague) sends nothing more
    assert _suggestion_card(client.get(f"/desk/conversations/{org.care_conversation}/bot").text) is None
    again = client.post(f"/api/v1/conversations/{org.care_conversation}/bot/suggestion", json={"turn_id": turn},
                        headers=csrf)
    assert again.status_code == 409 and again.json()["error"]["code"] == "bot.suggestion_gone"
    assert len(rows(services, messages, messages.c.direction == "out")) == 1


def test_a_suggestion_edited_in_the_composer_or_overtaken_by_the_customer_is_no_longer_offered(client, org, services):
    bot_session(services.engine, org.care_conversation, state="handed_off", summary=HANDOFF_SUMMARY)
    turn = bot_turn(services.engine, org.care_conversation, suggestion=SUGGESTION)
    csrf = sign_in(client, "agent_care")
    bot_url = f"/desk/conversations/{org.care_conversation}/bot"
    assert _suggestion_card(client.get(bot_url).text) == turn
    # the agent edited it and sent it from the composer: an agent's reply after the customer's message
    edited = client.post(f"/api/v1/conversations/{org.care_conversation}/messages",
                         json={"type": "text", "text": {"body": SUGGESTION + " Saluti"}}, headers=csrf)
    assert edited.status_code == 202, edited.text
    assert _suggestion_card(client.get(bot_url).text) is None
    refused = client.post(f"/api/v1/conversations/{org.care_conversation}/bot/suggestion", json={"turn_id": turn},
                          headers=csrf)
    assert refused.status_code == 409
    # a newer suggestion shows; a turn for a newer customer message (still pending) replaces it
    newer = bot_turn(services.engine, org.care_conversation, suggestion="Altro", message_id=_inbound_after(services, org))
    assert _suggestion_card(client.get(bot_url).text) == newer
    bot_turn(services.engine, org.care_conversation, decision=None, state="pending",
             message_id=_inbound_after(services, org))
    assert _suggestion_card(client.get(bot_url).text) is None


def _inbound_after(services, org) -> int:
    """A new customer message in the care conversation (stored directly: only its id and order matter here)."""
    from datetime import UTC, datetime

    from sqlalchemy import insert

    [conversation] = rows(services, conversations, conversations.c.id == org.care_conversation)
    now = datetime.now(UTC)
    with services.engine.begin() as conn:
        return int(conn.execute(insert(messages).values(
            conversation_id=org.care_conversation, channel_id=conversation["channel_id"],
            contact_id=conversation["contact_id"], direction="in", type="text", raw_type="text", text="ancora io",
            content={"body": "ancora io"}, status="unknown", forwarded=False, frequently_forwarded=False,
            sent_at=now, created_at=now)).inserted_primary_key[0])


def test_take_over_ends_the_bot_session_and_assigns_the_conversation(client, org, services, recorder):
    bot_session(services.engine, org.care_conversation, state="active", intent="order_status")
    csrf = sign_in(client, "agent_care")
    inbox = client.get("/desk/inbox/rows?view=departments").text
    row = inbox.split(f'data-conversation-id="{org.care_conversation}"')[1].split("</li>")[0]
    assert "bot-owner" in row
    header = client.get(f"/desk/conversations/{org.care_conversation}/header").text
    assert 'id="bot-owner"' in header and 'data-bot-action="take-over"' in header
    assert 'data-action="assign-me"' not in header  # taking it from the bot is the one way to take it
    answer = client.post(f"/api/v1/conversations/{org.care_conversation}/bot/take-over", headers=csrf)
    assert answer.status_code == 204, answer.text
    [session] = rows(services, bot_sessions, bot_sessions.c.conversation_id == org.care_conversation,
                     order_by=bot_sessions.c.conversation_id)
    assert session["state"] == "ended"
    [conversation] = rows(services, conversations, conversations.c.id == org.care_conversation)
    assert conversation["assignee_user_id"] == org.agent_care
    [audit] = rows(services, audit_log, audit_log.c.action == "conversation.assigned")
    assert audit["details"] == {"from": None, "to": org.agent_care, "bot_session": "ended"}
    assigned = [e for e in recorder.events if e.type == "conversation.assigned"]
    assert [(e.payload["conversation_id"], e.payload["assignee_user_id"]) for e in assigned] == [
        (org.care_conversation, org.agent_care)]
    assert "bot.session_ended" in recorder.types()
    # no badge, no take-over any more; a second take-over is refused and changes nothing
    assert "bot-owner" not in client.get("/desk/inbox/rows?view=mine").text
    assert 'data-bot-action="take-over"' not in client.get(f"/desk/conversations/{org.care_conversation}/header").text
    again = client.post(f"/api/v1/conversations/{org.care_conversation}/bot/take-over", headers=csrf)
    assert again.status_code == 409 and again.json()["error"]["code"] == "bot.not_active"


def test_an_agent_of_another_department_neither_sees_nor_takes_over_nor_sends(client, org, services):
    bot_session(services.engine, org.care_conversation, state="active", summary=HANDOFF_SUMMARY)
    turn = bot_turn(services.engine, org.care_conversation, suggestion=SUGGESTION)
    csrf = sign_in(client, "agent_sales")
    assert client.get(f"/desk/conversations/{org.care_conversation}").status_code == 404
    assert client.get(f"/desk/conversations/{org.care_conversation}/bot").status_code == 404
    assert "bot-owner" not in client.get("/desk/inbox/rows?view=departments").text
    take = client.post(f"/api/v1/conversations/{org.care_conversation}/bot/take-over", headers=csrf)
    send = client.post(f"/api/v1/conversations/{org.care_conversation}/bot/suggestion", json={"turn_id": turn},
                       headers=csrf)
    assert take.status_code == 404 and send.status_code == 404
    [session] = rows(services, bot_sessions, bot_sessions.c.conversation_id == org.care_conversation,
                     order_by=bot_sessions.c.conversation_id)
    assert session["state"] == "active"
    [conversation] = rows(services, conversations, conversations.c.id == org.care_conversation)
    assert conversation["assignee_user_id"] is None
    assert rows(services, messages, messages.c.direction == "out") == []


def test_a_signed_in_agent_needs_the_csrf_header_to_act(client, org, services):
    bot_session(services.engine, org.care_conversation, state="active")
    sign_in(client, "agent_care")
    refused = client.post(f"/api/v1/conversations/{org.care_conversation}/bot/take-over")
    assert refused.status_code in (401, 403)
    [session] = rows(services, bot_sessions, bot_sessions.c.conversation_id == org.care_conversation,
                     order_by=bot_sessions.c.conversation_id)
    assert session["state"] == "active"


def test_the_runtime_bot_events_reach_only_the_browsers_that_may_see_the_conversation(org, services):
    async def scenario() -> tuple[list[dict], list[dict]]:
        hub = DeskEventHub(services.engine)
        hub.start(services.bus)
        care = hub.connect(Principal(Role.AGENT, org.agent_care, frozenset({org.care})))
        sales = hub.connect(Principal(Role.AGENT, org.agent_sales, frozenset({org.sales})))
        for event_type in ("bot.turn_decided", "bot.suggested", "bot.handed_off"):
            await asyncio.to_thread(emit, services.engine, services.bus, event_type,
                                    conversation_id=org.care_conversation, turn_id=1, decision="suggested")
        await asyncio.to_thread(emit, services.engine, services.bus, "bot.suggested",
                                conversation_id=org.sales_conversation, turn_id=2)
        got_care = await care.next_items(5)
        got_sales = await sales.next_items(5)
        await asyncio.sleep(0.2)
        got_care += care.take_items()
        got_sales += sales.take_items()
        await hub.stop()
        return got_care, got_sales

    got_care, got_sales = asyncio.run(scenario())
    assert got_care == [{"type": t, "conversation_id": org.care_conversation}
                        for t in ("bot.turn_decided", "bot.suggested", "bot.handed_off")]
    assert got_sales == [{"type": "bot.suggested", "conversation_id": org.sales_conversation}]

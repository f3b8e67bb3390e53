"""The desk against the real runtime (app/bot.py): customers write through the webhook pipeline to a bot-enabled
channel, the bot decides (tfidf encoder, tests/bot_runtime_helpers.py), and the agent sees and acts on what it
decided: the "bot" badge while it answers, the suggestion card it made and the summary it wrote at handoff, sent
with one click; take over of a conversation it is still answering. tests/web/test_desk_bot.py covers the desk with
rows written directly."""

from __future__ import annotations

import re

import pytest

from centralino.demo_access import SETUP
from centralino.domain.access import Role
from centralino.storage.tables import conversations, messages
from centralino.storage.tables_bot import bot_sessions
from tests.access_helpers import PASSWORD, cheap_hashing, sign_in
from tests.bot_runtime_helpers import INTENTS, BotCenter, build_bot_center
from tests.helpers import rows

CUSTOMER = "393479990001"


@pytest.fixture
def settings(settings):
    return cheap_hashing(settings)


@pytest.fixture
def bc(services) -> BotCenter:
    center = build_bot_center(services)
    services.admin.do_create_user(SETUP, email="agent_care@example.com", display_name="agent_care", role=Role.AGENT,
                                  password=PASSWORD, department_ids=[center.center.department_id])
    return center


def _row(inbox: str, conversation_id: int) -> str:
    return inbox.split(f'data-conversation-id="{conversation_id}"')[1].split("</li>")[0]


def test_the_bots_suggestion_and_summary_reach_the_agent_who_sends_it_with_one_click(client, bc):
    conversation_id = bc.writes("voglio un rimborso")  # refund: automation "suggest"
    csrf = sign_in(client, "agent_care")
    assert "bot-owner" in _row(client.get("/desk/inbox/rows?view=departments").text, conversation_id)
    assert bc.answer() == 1
    assert bc.decisions(conversation_id) == ["suggested"]
    page = client.get(f"/desk/conversations/{conversation_id}").text
    turn_id = int(re.search(r'id="bot-suggestion" data-turn-id="(\d+)"', page).group(1))
    answer = INTENTS["refund"][2]["it"]
    assert answer.replace("'", "&#39;") in page
    summary = page.split('id="bot-summary"')[1].split("</details>")[0]
    assert "refund" in summary and "voglio un rimborso" in summary
    assert 'id="bot-owner"' not in page  # handed off: a person's now
    sent = client.post(f"/api/v1/conversations/{conversation_id}/bot/suggestion", json={"turn_id": turn_id},
                       headers=csrf)
    assert sent.status_code == 202, sent.text
    [message] = rows(bc.services, messages, messages.c.id == sent.json()["id"])
    assert message["text"] == answer and message["origin"].startswith("agent:")
    assert 'id="bot-suggestion"' not in client.get(f"/desk/conversations/{conversation_id}/bot").text


def test_taking_over_a_conversation_the_bot_is_answering_silences_it(client, bc):
    conversation_id = bc.writes("a che ora aprite", wa_id=CUSTOMER)  # opening_hours: answered automatically
    bc.answer()
    assert bc.decisions(conversation_id) == ["answered"]
    csrf = sign_in(client, "agent_care")
    header = client.get(f"/desk/conversations/{conversation_id}/header").text
    assert 'data-bot-action="take-over"' in header
    assert client.post(f"/api/v1/conversations/{conversation_id}/bot/take-over", headers=csrf).status_code == 204
    [session] = rows(bc.services, bot_sessions, bot_sessions.c.conversation_id == conversation_id,
                     order_by=bot_sessions.c.conversation_id)
    [conversation] = rows(bc.services, conversations, conversations.c.id == conversation_id)
    assert session["state"] == "ended" and conversation["assignee_user_id"] is not None
    said = len(bc.said(conversation_id))
    bc.writes("e la domenica a che ora aprite?", wa_id=CUSTOMER)
    bc.answer()
    assert len(bc.said(conversation_id)) == said  # the bot never speaks while a person owns it


"""Out of hours the bot holds a closed queue's conversations (SQLite and PostgreSQL): conversation.handed_to_bot
starts a held session with a turn, the bot answers beside the waiting queue item, a handoff tells the customer
when the team is back and leaves the conversation in its queue, and at the opening the worker's sweep hands it
to the team with a summary. The queue's setting is enough: the bot is not enabled on the channel here."""

from __future__ import annotations

from datetime import UTC

import pytest

from centralino.demo_access import SETUP
from centralino.storage.tables import messages
from centralino.storage.tables_bot import bot_sessions, bot_turns
from centralino.storage.tables_routing import routing_items
from tests.bot_runtime_helpers import HOLDER, seed_intents
from tests.helpers import rows
from tests.service_level_helpers import OFFICE, Desk, rome

SATURDAY = rome(2026, 11, 28, 11, 0)  # the office queue is closed until Monday 30 November, 9:00
MONDAY_OPENING = rome(2026, 11, 30, 9, 0)


@pytest.fixture
def night(services) -> Desk:
    desk = Desk(services)
    bot = services.bot
    bot.ownership.clock = bot.runtime.clock = desk.clock
    bot.models.encoder = "tfidf"
    desk.queue("office", hours=OFFICE, out_of_hours="bot")
    seed_intents(services)
    return desk


def answer(desk: Desk) -> int:
    total = 0
    while taken := desk.services.bot.runtime.run_once(HOLDER):
        total += taken
    return total


def session(desk: Desk, conversation_id: int) -> dict:
    [found] = rows(desk.services, bot_sessions, bot_sessions.c.conversation_id == conversation_id,
                   order_by=bot_sessions.c.conversation_id)
    return found


def said(desk: Desk, conversation_id: int) -> list[str]:
    return [m["text"] for m in rows(desk.services, messages, messages.c.conversation_id == conversation_id,
                                    messages.c.origin == "bot", order_by=messages.c.id)]


def turns(desk: Desk, conversation_id: int) -> list[dict]:
    return rows(desk.services, bot_turns, bot_turns.c.conversation_id == conversation_id, order_by=bot_turns.c.id)


def items(desk: Desk, conversation_id: int) -> list[dict]:
    return rows(desk.services, routing_items, routing_items.c.conversation_id == conversation_id)


def test_open_hours_leave_the_conversation_to_the_queue(night, recorder):
    night.at(rome(2026, 11, 27, 11, 0))  # Friday morning: open
    conversation = night.customer_writes("a che ora aprite?")
    assert rows(night.services, bot_sessions, order_by=bot_sessions.c.conversation_id) == []
    assert turns(night, conversation) == []
    assert [i["state"] for i in items(night, conversation)] == ["waiting"]
    assert "conversation.handed_to_bot" not in recorder.types()


def test_a_closed_queue_hands_the_conversation_to_the_bot_which_answers_while_the_item_waits(night, recorder):
    night.at(SATURDAY)
    conversation = night.customer_writes("a che ora aprite?")
    held = session(night, conversation)
    assert (held["state"], held["held_until"]) == ("active", MONDAY_OPENING.astimezone(UTC))
    [turn] = turns(night, conversation)
    assert turn["state"] == "pending"
    [item] = items(night, conversation)
    assert item["state"] == "waiting"
    queued = [e.payload for e in recorder.events if e.type == "bot.turn_queued"]
    assert [(q["conversation_id"], q["new_session"]) for q in queued] == [(conversation, True)]

    assert answer(night) == 1
    assert said(night, conversation) == ["Siamo aperti dal lunedì al sabato, 9-19."]
    assert [t["decision"] for t in turns(night, conversation)] == ["answered"]
    # the bot keeps it: the next message is its turn too, and the queue item is the same one, still waiting
    night.customer_writes("what time do you open?")
    assert answer(night) == 1
    assert said(night, conversation)[-1] == "We are open Monday to Saturday, 9am-7pm."
    assert session(night, conversation)["state"] == "active"
    assert [(i["id"], i["state"]) for i in items(night, conversation)] == [(item["id"], "waiting")]


def test_a_handoff_out_of_hours_says_when_the_team_is_back_and_leaves_it_in_the_queue(night, recorder):
    night.at(SATURDAY)
    conversation = night.customer_writes("voglio parlare con un operatore")
    [item] = items(night, conversation)
    assert answer(night) == 1
    assert said(night, conversation) == [
        "Ora siamo chiusi: il team torna lunedì 30 novembre alle 9:00. La tua richiesta è in coda e ti risponderemo "
        "allora."]
    handed = session(night, conversation)
    assert handed["state"] == "handed_off"
    assert (handed["summary"]["reason"], handed["summary"]["opens_at"]) == (
        "customer_asked", MONDAY_OPENING.isoformat())
    assert [(i["id"], i["state"]) for i in items(night, conversation)] == [(item["id"], "waiting")]
    [event] = [e.payload for e in recorder.events if e.type == "bot.handed_off"]
    assert (event["reason"], event["item_id"], event["opens_at"]) == (
        "customer_asked", item["id"], MONDAY_OPENING.isoformat())
    # handed off: silent for the rest of the night
    night.customer_writes("ci siete?")
    assert len(turns(night, conversation)) == 1 and answer(night) == 0


def test_in_english_the_evening_before_the_team_is_back_tomorrow(night):
    night.at(rome(2026, 11, 30, 20, 0))  # Monday evening
    conversation = night.customer_writes("I want to talk to a human", wa_id="447700900123")
    assert answer(night) == 1
    assert said(night, conversation) == [
        "We are closed right now: the team is back tomorrow at 9:00. Your request is in the queue and we will "
        "answer you then."]


def test_a_handoff_from_an_ordinary_session_into_a_closed_queue_says_when_the_team_is_back(services, recorder):
    # The bot answers on the channel all day; the office queue keeps its items waiting at night (not `bot`).
    desk = Desk(services)
    services.bot.ownership.clock = services.bot.runtime.clock = desk.clock
    services.bot.models.encoder = "tfidf"
    desk.queue("office", hours=OFFICE, out_of_hours="keep")
    seed_intents(services)
    services.bot.channels.do_configure(SETUP, desk.center.channel_id, {"enabled": True})
    desk.at(SATURDAY)
    conversation = desk.customer_writes("voglio parlare con un operatore")
    assert session(desk, conversation)["held_until"] is None  # an ordinary session, not held for the queue
    assert answer(desk) == 1
    assert said(desk, conversation) == [
        "Ora siamo chiusi: il team torna lunedì 30 novembre alle 9:00. La tua richiesta è in coda e ti risponderemo "
        "allora."]
    assert session(desk, conversation)["summary"]["opens_at"] == MONDAY_OPENING.isoformat()
    [item] = items(desk, conversation)
    [event] = [e.payload for e in recorder.events if e.type == "bot.handed_off"]
    assert (item["state"], event["item_id"], event["opens_at"]) == ("waiting", item["id"], MONDAY_OPENING.isoformat())
    # while the office is open, the usual words
    desk.at(rome(2026, 11, 30, 10, 0))
    daytime = desk.customer_writes("voglio parlare con un operatore", wa_id="393470000002")
    assert answer(desk) == 1
    assert said(desk, daytime) == ["Ti passo a un collega, ti risponderà al più presto."]
    assert "opens_at" not in session(desk, daytime)["summary"]


def test_at_the_opening_the_sweep_hands_the_conversation_over_with_what_the_bot_did(night, recorder):
    night.at(SATURDAY)
    conversation = night.customer_writes("a che ora aprite?")
    answer(night)
    [item] = items(night, conversation)
    runtime = night.services.bot.runtime
    assert runtime.release_held() == 0  # still closed
    night.at(rome(2026, 11, 30, 9, 1))
    night.customer_writes("siete aperti ora?")  # the team is back: not the bot's any more
    assert len(turns(night, conversation)) == 1
    assert runtime.release_held() == 1
    handed = session(night, conversation)
    assert handed["state"] == "handed_off"
    assert handed["summary"]["reason"] == "queue_open"
    assert [(t["text"], t["decision"]) for t in handed["summary"]["turns"]] == [("a che ora aprite?", "answered")]
    [event] = [e.payload for e in recorder.events if e.type == "bot.handed_off"]
    assert (event["reason"], event["item_id"], event["conversation_id"]) == ("queue_open", item["id"], conversation)
    assert [(i["id"], i["state"]) for i in items(night, conversation)] == [(item["id"], "waiting")]
    assert runtime.release_held() == 0


def test_an_agent_who_takes_it_at_night_ends_the_hold_and_the_bot_stays_silent(night, recorder):
    night.at(SATURDAY)
    conversation = night.customer_writes("a che ora aprite?")
    agent = night.center.agent("anna", {})
    assert night.center.route() == 1  # someone is online after all: the router offers the waiting item
    assert session(night, conversation)["state"] == "ended"
    assert [e.payload["reason"] for e in recorder.events if e.type == "bot.session_ended"] == ["taken_over"]
    assert answer(night) == 1
    assert [t["decision"] for t in turns(night, conversation)] == ["ignored"]
    assert said(night, conversation) == []
    assert night.center.assignee(conversation) == agent

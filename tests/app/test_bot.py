"""The bot answering customers end to end (SQLite and PostgreSQL): webhooks in through the real pipeline, the
pending turn written with the message, the runtime deciding by automation level and threshold (answer, suggest,
hand off), rephrase once then hand off, learning candidates, and the bot silent while a person owns the
conversation. Dialogs and services: tests/app/test_bot_dialogs.py; the worker: tests/workers/test_bot_worker.py."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from centralino.demo_access import SETUP
from centralino.domain.enums import ConversationStatus
from centralino.storage.tables import outbox
from centralino.storage.tables_bot import bot_candidates, bot_sessions
from centralino.storage.tables_routing import routing_items
from tests.bot_runtime_helpers import BotCenter, build_bot_center
from tests.helpers import rows


@pytest.fixture
def bc(services) -> BotCenter:
    return build_bot_center(services)


def session(bc: BotCenter, conversation_id: int) -> dict:
    [found] = rows(bc.services, bot_sessions, bot_sessions.c.conversation_id == conversation_id,
                   order_by=bot_sessions.c.conversation_id)
    return found


def items(bc: BotCenter, conversation_id: int) -> list[dict]:
    return rows(bc.services, routing_items, routing_items.c.conversation_id == conversation_id)


def test_the_turn_is_written_with_the_message_and_routing_leaves_the_conversation_to_the_bot(bc, recorder):
    conversation = bc.writes("a che ora aprite?")
    [turn] = bc.turns(conversation)
    assert (turn["state"], turn["decision"], turn["attempts"]) == ("pending", None, 0)
    assert session(bc, conversation)["state"] == "active"
    assert items(bc, conversation) == []  # the general queue's rule matches everything, yet nothing was queued
    assert "bot.turn_queued" in recorder.types()


def test_an_auto_intent_above_its_threshold_is_answered(bc, recorder):
    conversation = bc.writes("a che ora aprite?")
    assert bc.answer() == 1
    [turn] = bc.turns(conversation)
    assert (turn["state"], turn["decision"], turn["intent"], turn["language"]) == (
        "done", "answered", "opening_hours", "it")
    assert turn["confidence"] >= 0.4 and turn["model_version"] == 1
    [reply] = bc.said(conversation)
    assert (reply["text"], reply["status"], reply["id"]) == (
        "Siamo aperti dal lunedì al sabato, 9-19.", "queued", turn["reply_message_id"])
    assert len(rows(bc.services, outbox, outbox.c.message_id == reply["id"])) == 1
    assert session(bc, conversation)["state"] == "active" and items(bc, conversation) == []
    decided = [e.payload for e in recorder.events if e.type == "bot.turn_decided"]
    assert [(d["conversation_id"], d["decision"], d["intent"]) for d in decided] == [
        (conversation, "answered", "opening_hours")]
    # English gets the English answer
    english = bc.writes("what time do you open?")
    bc.answer()
    assert bc.texts(english) == ["We are open Monday to Saturday, 9am-7pm."]


def test_a_suggest_intent_stores_the_suggestion_and_hands_the_conversation_to_a_queue(bc, recorder):
    conversation = bc.writes("voglio un rimborso")
    bc.answer()
    [turn] = bc.turns(conversation)
    assert (turn["decision"], turn["intent"]) == ("suggested", "refund")
    assert turn["suggestion"] == "Per il rimborso ti serve il numero d'ordine: te lo avviamo noi."
    assert bc.said(conversation) == []  # the agent sends it, with one click
    held = session(bc, conversation)
    assert held["state"] == "handed_off"
    assert (held["summary"]["reason"], held["summary"]["intent"], held["summary"]["language"]) == (
        "suggested", "refund", "it")
    assert held["summary"]["suggestion"] == turn["suggestion"]
    [item] = items(bc, conversation)
    assert item["state"] == "waiting"
    suggested = [e.payload for e in recorder.events if e.type == "bot.suggested"]
    assert [(s["conversation_id"], s["turn_id"]) for s in suggested] == [(conversation, turn["id"])]
    handed = [e.payload for e in recorder.events if e.type == "bot.handed_off"]
    assert [(h["reason"], h["item_id"]) for h in handed] == [("suggested", item["id"])]
    # once handed off the bot is silent: the next message is the agents'
    bc.writes("ci siete?", wa_id=_wa_id(bc, conversation))
    assert bc.answer() == 0 and len(bc.turns(conversation)) == 1


def test_a_human_intent_is_handed_off_with_a_summary(bc):
    conversation = bc.writes("voglio fare un reclamo formale")
    bc.answer()
    assert bc.decisions(conversation) == ["handoff"]
    assert bc.texts(conversation) == ["Ti passo a un collega, ti risponderà al più presto."]
    summary = session(bc, conversation)["summary"]
    assert (summary["reason"], summary["intent"]) == ("intent_for_a_person", "complaint")
    assert [t["text"] for t in summary["turns"]] == ["voglio fare un reclamo formale"]  # told once
    assert "complaint" in summary["text"]
    assert [i["state"] for i in items(bc, conversation)] == ["waiting"]


def test_below_the_threshold_the_bot_asks_to_rephrase_once_then_hands_off(bc):
    wa_id = "393470009999"
    conversation = bc.writes("zxqv plorf gnaa", wa_id=wa_id)
    bc.answer()
    assert bc.decisions(conversation) == ["rephrase"]
    assert bc.texts(conversation) == ["Scusa, non ho capito bene. Puoi riformulare con altre parole?"]
    assert session(bc, conversation)["rephrased"] == 1 and items(bc, conversation) == []
    bc.writes("blorp vrzzt kkq", wa_id=wa_id)
    bc.answer()
    assert bc.decisions(conversation) == ["rephrase", "handoff"]
    assert bc.texts(conversation)[-1] == "Ti passo a un collega, ti risponderà al più presto."
    assert session(bc, conversation)["summary"]["reason"] == "not_understood"
    assert [i["state"] for i in items(bc, conversation)] == ["waiting"]
    # both unsure messages are learning candidates
    candidates = rows(bc.services, bot_candidates)
    assert [(c["text"], c["reason"], c["state"]) for c in candidates] == [
        ("zxqv plorf gnaa", "unsure", "pending"), ("blorp vrzzt kkq", "unsure", "pending")]


def test_understood_after_rephrasing_the_count_starts_again(bc):
    wa_id = "393470008888"
    conversation = bc.writes("zxqv plorf gnaa", wa_id=wa_id)
    bc.answer()
    bc.writes("a che ora aprite?", wa_id=wa_id)
    bc.answer()
    assert bc.decisions(conversation) == ["rephrase", "answered"]
    assert session(bc, conversation)["rephrased"] == 0


def test_asking_for_a_person_hands_off_at_once(bc):
    conversation = bc.writes("voglio parlare con un operatore")
    bc.answer()
    assert bc.decisions(conversation) == ["handoff"]
    assert session(bc, conversation)["summary"]["reason"] == "customer_asked"


def test_the_bot_never_speaks_while_a_person_owns_the_conversation(bc, recorder):
    # assigned to an agent before the customer writes: no session, no turn
    agent = bc.center.agent("anna", {})
    wa_id = "393470007777"
    conversation = bc.writes("a che ora aprite?", wa_id=wa_id)
    bc.answer()
    assert bc.decisions(conversation) == ["answered"]
    bc.services.desk.do_assign(SETUP, conversation, agent)
    assert session(bc, conversation)["state"] == "ended"  # a person took it: the bot lets go
    bc.writes("e la domenica?", wa_id=wa_id)
    assert bc.answer() == 0 and len(bc.turns(conversation)) == 1
    # a person takes it between the message and the bot's answer: the decision is `ignored`, nothing is sent
    other = bc.writes("a che ora aprite?")
    with bc.services.engine.begin() as conn:  # assigned directly, without the listeners (a race, not a take-over)
        from centralino.storage.tables import conversations
        conn.execute(update(conversations).where(conversations.c.id == other).values(assignee_user_id=agent))
    bc.answer()
    assert bc.decisions(other) == ["ignored"] and bc.said(other) == []
    assert [e.payload["decision"] for e in recorder.events if e.type == "bot.turn_decided"
            and e.payload["conversation_id"] == other] == ["ignored"]


def test_outside_the_window_the_bot_sends_nothing_and_hands_off(bc):
    # a message delivered late (sent 25 hours ago by the customer's clock): WhatsApp's 24-hour window is closed,
    # free text is refused, people answer with a template
    conversation = bc.writes("a che ora aprite?", ago_s=25 * 3600)
    bc.answer()
    [turn] = bc.turns(conversation)
    assert (turn["decision"], turn["intent"], turn["reply_message_id"]) == ("handoff", "opening_hours", None)
    assert bc.said(conversation) == []
    assert session(bc, conversation)["summary"]["reason"] == "cannot_send"
    assert [i["state"] for i in items(bc, conversation)] == ["waiting"]


def test_with_the_bot_disabled_routing_is_unchanged(bc):
    bc.bot.channels.do_configure(SETUP, bc.channel_id, {"enabled": False})
    conversation = bc.writes("a che ora aprite?")
    assert bc.turns(conversation) == [] and rows(bc.services, bot_sessions, order_by=bot_sessions.c.conversation_id) == []
    assert [i["state"] for i in items(bc, conversation)] == ["waiting"]
    assert bc.answer() == 0


def test_resolved_conversations_teach_and_a_new_message_starts_a_new_session(bc):
    wa_id = "393470006666"
    conversation = bc.writes("voglio un rimborso subito", wa_id=wa_id)
    bc.answer()
    assert session(bc, conversation)["state"] == "handed_off"
    bc.services.desk.do_set_status(SETUP, conversation, ConversationStatus.RESOLVED)
    [candidate] = rows(bc.services, bot_candidates, bot_candidates.c.reason == "resolved")
    assert (candidate["text"], candidate["predicted_intent"]) == ("voglio un rimborso subito", "refund")
    assert session(bc, conversation)["state"] == "handed_off"
    # the customer writes again: the bot owns it again (a new session), routing leaves it alone
    bc.writes("a che ora aprite?", wa_id=wa_id)
    fresh = session(bc, conversation)
    assert (fresh["state"], fresh["summary"], fresh["rephrased"]) == ("active", {}, 0)
    assert [i["state"] for i in items(bc, conversation)] == ["completed"]
    bc.answer()
    assert bc.decisions(conversation)[-1] == "answered"


def test_settings_are_checked_and_name_the_field(bc):
    from centralino.domain.access import Principal, Role
    from centralino.errors import Forbidden, InvalidInput

    with pytest.raises(InvalidInput) as bad:
        bc.bot.channels.do_configure(SETUP, bc.channel_id, {"rephrase_limit": 9})
    assert bad.value.field == "rephrase_limit"
    with pytest.raises(InvalidInput) as bad:
        bc.bot.channels.do_configure(SETUP, bc.channel_id, {"texts": {"greeting": {"it": "ciao"}}})
    assert bad.value.field == "texts.greeting"
    with pytest.raises(Forbidden):
        bc.bot.channels.do_configure(Principal(Role.AGENT, 1), bc.channel_id, {"enabled": False})
    assert bc.bot.channels.get(bc.channel_id)["enabled"] is True
    # the channel's own texts replace ours
    bc.bot.channels.do_configure(SETUP, bc.channel_id, {"texts": {"handoff": {"it": "Arriva un umano!"}}})
    conversation = bc.writes("voglio fare un reclamo")
    bc.answer()
    assert bc.texts(conversation) == ["Arriva un umano!"]


def _wa_id(bc: BotCenter, conversation_id: int) -> str:
    from sqlalchemy import select

    from centralino.storage.tables import contact_identities, conversations
    with bc.services.engine.connect() as conn:
        return str(conn.execute(select(contact_identities.c.value).join(
            conversations, conversations.c.contact_id == contact_identities.c.contact_id)
            .where(conversations.c.id == conversation_id, contact_identities.c.kind == "whatsapp")).scalar_one())


def test_a_reaction_is_not_a_turn(bc):
    import time

    from centralino.simulator import payloads
    from tests.factories import PNID, WABA
    from tests.helpers import store

    wa_id = "393470005555"
    conversation = bc.writes("a che ora aprite?", wa_id=wa_id)
    bc.answer()
    reaction = payloads.reaction(wa_id, "wamid.some-earlier-message", "\N{THUMBS UP SIGN}", int(time.time()))
    store(bc.services, payloads.encode(payloads.envelope(WABA, PNID, "15550783881", contacts=[
        payloads.contact(wa_id, "Test User")], messages=[reaction])))
    bc.services.delivery_worker.drain()
    assert bc.answer() == 0 and bc.decisions(conversation) == ["answered"]

"""app/bot_desk.py: the use cases behind the desk's suggestion "Send" and "Take over", and what they refuse
(nothing changed then). The pages and routes are tests/web/test_desk_bot.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from centralino.app.bot_desk import BotDesk
from centralino.app.outbound import WindowClosed
from centralino.domain.access import Principal, Role
from centralino.errors import Conflict, Forbidden, NotFound
from centralino.storage.tables import audit_log, conversations, messages, outbox
from centralino.storage.tables_bot import bot_sessions, bot_turns
from tests.access_helpers import Org, build_org, cheap_hashing
from tests.bot_helpers import bot_session, bot_turn
from tests.helpers import rows

SUGGESTION = "Il suo ordine è in viaggio."


@pytest.fixture
def settings(settings):
    return cheap_hashing(settings)


@pytest.fixture
def org(services) -> Org:
    return build_org(services)


@pytest.fixture
def bot_desk(services) -> BotDesk:
    return BotDesk(services.engine, services.bus, services.outbound)


def agent(org: Org, who: str = "care") -> Principal:
    if who == "care":
        return Principal(Role.AGENT, org.agent_care, frozenset({org.care}))
    return Principal(Role.AGENT, org.agent_sales, frozenset({org.sales}))


def session_state(services, conversation_id: int) -> str:
    [row] = rows(services, bot_sessions, bot_sessions.c.conversation_id == conversation_id,
                 order_by=bot_sessions.c.conversation_id)
    return str(row["state"])


def test_a_suggestion_is_not_sent_once_the_window_has_closed(services, org, bot_desk):
    turn = bot_turn(services.engine, org.care_conversation, suggestion=SUGGESTION)
    with services.engine.begin() as conn:
        conn.execute(update(conversations).where(conversations.c.id == org.care_conversation)
                     .values(window_expires_at=datetime.now(UTC) - timedelta(hours=1)))
    with pytest.raises(WindowClosed):
        bot_desk.do_send_suggestion(agent(org), org.care_conversation, turn)
    assert rows(services, messages, messages.c.direction == "out") == [] and rows(services, outbox) == []
    [kept] = rows(services, bot_turns, bot_turns.c.id == turn)
    assert kept["reply_message_id"] is None
    assert rows(services, audit_log, audit_log.c.action == "bot.suggestion_sent") == []


def test_only_the_open_suggestion_of_that_conversation_is_sent(services, org, bot_desk):
    answered = bot_turn(services.engine, org.care_conversation, decision="answered", suggestion=None)
    with pytest.raises(Conflict) as refused:
        bot_desk.do_send_suggestion(agent(org), org.care_conversation, answered)
    assert refused.value.code == "bot.suggestion_gone"
    elsewhere = bot_turn(services.engine, org.assigned_conversation, suggestion=SUGGESTION)  # agent_care's own
    with pytest.raises(Conflict):  # a turn id of another conversation
        bot_desk.do_send_suggestion(agent(org), org.care_conversation, elsewhere)
    with pytest.raises(NotFound):  # a conversation the sales agent may not see
        bot_desk.do_send_suggestion(agent(org, "sales"), org.care_conversation, answered)
    assert rows(services, messages, messages.c.direction == "out") == []
    message_id = bot_desk.do_send_suggestion(agent(org), org.assigned_conversation, elsewhere)
    [sent] = rows(services, messages, messages.c.id == message_id)
    assert sent["conversation_id"] == org.assigned_conversation and sent["text"] == SUGGESTION


def test_take_over_needs_an_active_session_and_a_conversation_the_agent_may_take(services, org, bot_desk):
    with pytest.raises(Conflict) as no_session:
        bot_desk.do_take_over(agent(org), org.care_conversation)
    assert no_session.value.code == "bot.not_active"
    # a conversation assigned to someone else: an agent may not take it, a supervisor may
    bot_session(services.engine, org.care_conversation, state="active")
    with services.engine.begin() as conn:
        conn.execute(update(conversations).where(conversations.c.id == org.care_conversation)
                     .values(assignee_user_id=org.supervisor))
    with pytest.raises(Forbidden):
        bot_desk.do_take_over(agent(org), org.care_conversation)
    assert session_state(services, org.care_conversation) == "active"
    with pytest.raises(Forbidden):  # the integration token is nobody to assign to
        bot_desk.do_take_over(Principal(Role.ADMIN, None, via="integration"), org.care_conversation)
    supervisor = Principal(Role.SUPERVISOR, org.supervisor, frozenset({org.care}))
    bot_desk.do_take_over(supervisor, org.care_conversation)  # already theirs: only the session ends
    assert session_state(services, org.care_conversation) == "ended"
    [audit] = rows(services, audit_log, audit_log.c.action == "bot.taken_over")
    assert audit["actor"] == f"user:{org.supervisor}"
    assert rows(services, audit_log, audit_log.c.action == "conversation.assigned") == []


def test_take_over_ends_the_session_assigns_and_tells_the_runtime(services, org, bot_desk, recorder):
    bot_session(services.engine, org.care_conversation, state="active")
    bot_desk.do_take_over(agent(org), org.care_conversation)
    assert session_state(services, org.care_conversation) == "ended"
    [conversation] = rows(services, conversations, conversations.c.id == org.care_conversation)
    assert conversation["assignee_user_id"] == org.agent_care
    assert [t for t in recorder.types() if t.startswith(("conversation.", "bot."))] == [
        "conversation.assigned", "bot.session_ended"]
    ended = recorder.events[-1].payload
    assert ended == {"conversation_id": org.care_conversation, "reason": "taken_over", "user_id": org.agent_care,
                     "actor": f"user:{org.agent_care}"}


def test_two_agents_clicking_send_at_once_send_it_once(services, org, bot_desk):
    import threading

    turn = bot_turn(services.engine, org.care_conversation, suggestion=SUGGESTION)
    supervisor = Principal(Role.SUPERVISOR, org.supervisor, frozenset({org.care}))
    start = threading.Barrier(2)
    outcomes: list[object] = []

    def click(who: Principal) -> None:
        start.wait()
        try:
            outcomes.append(bot_desk.do_send_suggestion(who, org.care_conversation, turn))
        except Conflict as exc:
            outcomes.append(exc.code)

    clicks = [threading.Thread(target=click, args=(who,)) for who in (agent(org), supervisor)]
    for thread in clicks:
        thread.start()
    for thread in clicks:
        thread.join(30)
    assert sorted(outcomes, key=str).count("bot.suggestion_gone") == 1 and len(outcomes) == 2
    [sent] = rows(services, messages, messages.c.direction == "out")
    [used] = rows(services, bot_turns, bot_turns.c.id == turn)
    assert used["reply_message_id"] == sent["id"] and sent["id"] in outcomes

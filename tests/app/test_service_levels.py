"""SLA timers across business hours with a moved clock, escalations, out-of-hours behaviour, on the real
inbound pipeline (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from sqlalchemy import select

from centralino.demo_access import SETUP
from centralino.domain.access import Principal, Role
from centralino.domain.enums import ConversationStatus
from centralino.errors import Forbidden, InvalidInput
from centralino.storage.tables import messages
from centralino.storage.tables_routing import routing_items
from centralino.storage.tables_service_levels import out_of_hours_replies, service_episodes, sla_policies, sla_timers
from tests.helpers import count, rows
from tests.service_level_helpers import OFFICE, Desk, rome


@pytest.fixture
def desk(services) -> Desk:
    return Desk(services)


def timers(desk: Desk, conversation_id: int) -> dict[str, dict]:
    return {t["kind"]: t for t in rows(desk.services, sla_timers, sla_timers.c.conversation_id == conversation_id,
                                       order_by=sla_timers.c.id)}


def test_first_response_counts_business_hours_warns_breaches_and_escalates(desk, recorder):
    queue = desk.queue(hours=OFFICE)
    desk.policy(queue_id=queue, first_response_s=3600, warn_percent=80,
                escalation=[{"on": "breached", "action": "raise_priority", "by": 2},
                            {"on": "warning", "action": "alert_supervisor"}])
    agent = desk.center.agent("anna", {})
    desk.at(rome(2026, 11, 27, 17, 30))  # Friday, half an hour before closing
    conversation = desk.customer_writes("aiuto")
    timer = timers(desk, conversation)["first_response"]
    # 30 min on Friday + 30 min on Monday; the warning at 48 min of business time (Monday 09:18)
    assert (timer["due_at"], timer["warn_at"]) == (rome(2026, 11, 30, 9, 30), rome(2026, 11, 30, 9, 18))
    assert "resolution" not in timers(desk, conversation)  # the policy sets no resolution target
    desk.at(rome(2026, 11, 29, 23, 0))  # the whole weekend passed: nothing is due
    assert desk.sla.run_once() == 0
    desk.at(rome(2026, 11, 30, 9, 20))
    assert desk.sla.run_once() == 1
    assert recorder.types().count("sla.warning") == 1 and "sla.breached" not in recorder.types()
    escalated = [e.payload for e in recorder.events if e.type == "sla.escalated"]
    assert [(e["action"], e["on"]) for e in escalated] == [("alert_supervisor", "warning")]
    assert desk.sla.run_once() == 0  # the warning is not repeated
    before = desk.center.item(conversation)["priority"]
    desk.at(rome(2026, 11, 30, 9, 31))
    assert desk.sla.run_once() == 1
    assert recorder.types().count("sla.breached") == 1
    assert desk.center.item(conversation)["priority"] == before + 2
    assert timers(desk, conversation)["first_response"]["next_check_at"] is None
    desk.customer_writes("ci siete?")  # the weekend closed the 24-h window; this opens it again
    assert count(desk.services, sla_timers) == 1  # still the first answer awaited: no new clock
    desk.agent_replies(conversation, agent)
    stopped = timers(desk, conversation)["first_response"]
    assert (stopped["state"], stopped["business_s"], stopped["running_key"]) == ("missed", 61 * 60, None)


def test_replies_in_time_meet_first_and_next_response_and_resolution(desk):
    queue = desk.queue(hours=OFFICE)
    desk.policy(queue_id=queue, first_response_s=600, next_response_s=900, resolution_s=4 * 3600)
    agent = desk.center.agent("anna", {})
    desk.at(rome(2026, 11, 25, 10, 0))
    conversation = desk.customer_writes("buongiorno")
    assert set(timers(desk, conversation)) == {"first_response", "resolution"}
    desk.clock.advance(300)
    desk.agent_replies(conversation, agent)
    desk.clock.advance(60)
    desk.customer_writes("un'altra domanda")
    desk.customer_writes("e un'altra ancora")  # one next-response clock, not two
    assert count(desk.services, sla_timers, sla_timers.c.kind == "next_response") == 1
    desk.clock.advance(600)
    desk.agent_replies(conversation, agent, "risposta")
    desk.clock.advance(600)
    desk.services.desk.do_set_status(SETUP, conversation, ConversationStatus.RESOLVED)
    found = timers(desk, conversation)
    assert {k: t["state"] for k, t in found.items()} == {"first_response": "met", "next_response": "met",
                                                         "resolution": "met"}
    assert found["first_response"]["business_s"] == 300
    assert found["resolution"]["business_s"] == 1560
    episode = rows(desk.services, service_episodes)[0]
    assert (episode["first_response_s"], episode["resolution_s"], episode["handle_s"]) == (300, 1560, 1260)
    assert episode["agent_user_id"] == agent and episode["open_conversation_id"] is None
    # the customer writes again: a new contact, new clocks
    desk.clock.advance(60)
    desk.customer_writes("di nuovo io")
    assert count(desk.services, service_episodes) == 2
    assert count(desk.services, sla_timers, sla_timers.c.state == "running") == 2


def test_resolved_without_an_answer_cancels_the_response_clock(desk):
    queue = desk.queue()
    desk.policy(queue_id=queue, first_response_s=600, resolution_s=3600)
    desk.at(rome(2026, 11, 25, 10, 0))
    conversation = desk.customer_writes("ciao")
    desk.clock.advance(120)
    desk.services.desk.do_set_status(SETUP, conversation, ConversationStatus.RESOLVED)
    assert {k: t["state"] for k, t in timers(desk, conversation).items()} == {"first_response": "cancelled",
                                                                              "resolution": "met"}


def test_the_most_specific_policy_applies(desk):
    queue = desk.queue()
    other = desk.queue("other")
    desk.policy(first_response_s=100)
    desk.policy(queue_id=queue, first_response_s=200)
    desk.policy(queue_id=other, priority=9, first_response_s=300)
    desk.at(rome(2026, 11, 25, 10, 0))
    conversation = desk.customer_writes("ciao")
    timer = timers(desk, conversation)["first_response"]
    assert timer["due_at"] == rome(2026, 11, 25, 10, 0) + timedelta(seconds=200)


def test_no_queue_no_timers(desk):
    desk.policy(first_response_s=100)
    desk.at(rome(2026, 11, 25, 10, 0))
    conversation = desk.customer_writes("senza regole")  # no routing rule: not in a queue
    assert timers(desk, conversation) == {}
    assert count(desk.services, service_episodes) == 1  # still a contact for the reports


def test_out_of_hours_auto_reply_once_per_closed_period(desk):
    desk.queue(hours=OFFICE, out_of_hours="auto_reply",
               auto_reply={"it": "Siamo chiusi, rispondiamo dalle 9.", "en": "We are closed until 9."})
    desk.at(rome(2026, 11, 28, 11, 0))  # Saturday
    conversation = desk.customer_writes("c'è qualcuno?")
    desk.clock.advance(600)
    desk.customer_writes("pronto?")
    sent = rows(desk.services, messages, messages.c.origin == "system")
    assert [m["text"] for m in sent] == ["Siamo chiusi, rispondiamo dalle 9."]
    period = rows(desk.services, out_of_hours_replies, order_by=out_of_hours_replies.c.reopens_at)
    assert [(p["reopens_at"], p["message_id"]) for p in period] == [(rome(2026, 11, 30, 9, 0), sent[0]["id"])]
    desk.at(rome(2026, 11, 30, 10, 0))  # open: nothing is sent
    desk.customer_writes("lunedì")
    desk.at(rome(2026, 11, 30, 19, 0))  # closed again: a new period, a new reply
    desk.customer_writes("lunedì sera")
    assert count(desk.services, messages, messages.c.origin == "system") == 2
    assert conversation


def test_out_of_hours_reply_in_the_customers_language(desk):
    desk.queue(hours=OFFICE, out_of_hours="auto_reply", auto_reply={"it": "Chiusi.", "en": "Closed."})
    desk.at(rome(2026, 11, 28, 11, 0))
    desk.customer_writes("hello", wa_id="447700900001")
    desk.set_language("447700900001", "en_GB")
    desk.at(rome(2026, 12, 5, 11, 0))  # the next weekend
    desk.customer_writes("hello again", wa_id="447700900001")
    assert [m["text"] for m in rows(desk.services, messages, messages.c.origin == "system",
                                    order_by=messages.c.id)] == ["Chiusi.", "Closed."]


def test_out_of_hours_keep_sends_nothing_and_bot_is_handed_over(desk, recorder):
    desk.queue("kept", hours=OFFICE, out_of_hours="keep")
    desk.at(rome(2026, 11, 28, 11, 0))
    desk.customer_writes("ciao")
    assert count(desk.services, messages, messages.c.origin == "system") == 0
    assert rows(desk.services, routing_items)[0]["state"] == "waiting"  # still queued


def test_out_of_hours_bot_records_the_hand_over(services, recorder):
    desk = Desk(services)
    desk.queue("bot", hours=OFFICE, out_of_hours="bot")
    desk.at(rome(2026, 12, 8, 11, 0))  # a Tuesday, but… the calendar has no holidays: open
    desk.customer_writes("martedì")
    assert "conversation.handed_to_bot" not in recorder.types()
    desk.at(rome(2026, 12, 8, 20, 0))
    desk.customer_writes("martedì sera")
    handed = [e.payload for e in recorder.events if e.type == "conversation.handed_to_bot"]
    assert [(h["reason"], h["until"]) for h in handed] == [("out_of_hours", rome(2026, 12, 9, 9, 0).astimezone(UTC).isoformat())]


def test_holidays_close_the_queue(desk):
    desk.queue(hours={**OFFICE, "holidays": "it"}, out_of_hours="auto_reply", auto_reply={"it": "Festivo."})
    desk.at(rome(2026, 12, 8, 11, 0))  # Immacolata
    desk.customer_writes("ciao")
    assert [m["text"] for m in rows(desk.services, messages, messages.c.origin == "system")] == ["Festivo."]


def test_policy_and_hours_validation_names_the_field_and_changes_nothing(desk):
    queue = desk.queue()
    admin = desk.levels.admin
    with pytest.raises(InvalidInput) as err:
        admin.do_save_policy(SETUP, {"name": "x", "first_response_s": -5})
    assert err.value.field == "first_response_s"
    with pytest.raises(InvalidInput) as err:
        admin.do_save_policy(SETUP, {"name": "x", "resolution_s": 60, "escalation": [{"on": "late", "action": "x"}]})
    assert err.value.field == "escalation[0].on"
    with pytest.raises(InvalidInput) as err:
        admin.do_save_policy(SETUP, {"name": "x"})
    assert err.value.field == "first_response_s"
    with pytest.raises(InvalidInput) as err:
        admin.do_set_hours(SETUP, queue, {"calendar": {"time_zone": "Europe/Roma"}})
    assert err.value.field == "calendar.time_zone"
    with pytest.raises(InvalidInput) as err:
        admin.do_set_hours(SETUP, queue, {"calendar": OFFICE, "out_of_hours": "auto_reply"})
    assert err.value.field == "auto_reply"
    with pytest.raises(Forbidden):
        admin.do_save_policy(Principal(Role.AGENT, 1), {"name": "x", "first_response_s": 60})
    assert count(desk.services, sla_policies) == 0
    assert admin.hours(queue) is None


def test_a_used_policy_is_deactivated_not_deleted(desk):
    queue = desk.queue()
    policy = desk.policy(queue_id=queue, first_response_s=60)
    desk.at(rome(2026, 11, 25, 10, 0))
    desk.customer_writes("ciao")
    desk.levels.admin.do_delete_policy(SETUP, policy)
    with desk.services.engine.connect() as conn:
        assert conn.execute(select(sla_policies.c.active)).scalar_one() is False


def test_a_breach_can_requeue_the_agents_item_through_routing(desk, recorder):
    from centralino.workers.sla import sla_loop_for

    queue = desk.queue()
    desk.policy(queue_id=queue, first_response_s=60, escalation=[{"on": "breached", "action": "requeue"}])
    agent = desk.center.agent("anna", {})
    desk.at(rome(2026, 11, 25, 10, 0))
    conversation = desk.customer_writes("ciao")
    assert desk.center.route() == 1 and desk.center.assignee(conversation) == agent
    loop = sla_loop_for(desk.services)
    loop.clock.clock = desk.clock
    desk.clock.advance(61)
    assert loop.clock.run_once() == 1
    item = desk.center.item(conversation)
    assert (item["state"], item["assigned_to"]) == ("waiting", None)
    assert desk.center.load(agent) == 0 and desk.center.assignee(conversation) is None
    assert "routing.item_requeued" in recorder.types()


def test_the_worker_loop_evaluates_due_timers(desk, recorder):
    import asyncio

    from centralino.workers.sla import SlaLoop

    queue = desk.queue()
    desk.policy(queue_id=queue, first_response_s=60)
    desk.at(rome(2026, 11, 25, 10, 0))
    desk.customer_writes("ciao")
    desk.clock.advance(120)

    async def scenario() -> None:
        task = asyncio.create_task(SlaLoop(desk.sla, tick_s=0.01).run_forever())
        for _ in range(500):
            if "sla.breached" in recorder.types():
                break
            await asyncio.sleep(0.01)
        task.cancel()

    asyncio.run(scenario())
    assert recorder.types().count("sla.breached") == 1


def test_a_contact_merge_moves_contacts_and_timers_without_doubling_them(desk):
    from tests.helpers import ingest

    queue = desk.queue()
    desk.policy(queue_id=queue, first_response_s=3600)
    desk.at(rome(2026, 11, 25, 10, 0))
    desk.customer_writes("from the phone", wa_id="393471234599")
    ingest(desk.services, "messages_bsuid_only.json")  # the same person by BSUID: a second conversation
    assert count(desk.services, sla_timers, sla_timers.c.state == "running") == 2
    ingest(desk.services, "messages_bsuid_and_wa_id.json")  # both ids seen: one contact, one conversation
    [kept] = {e["conversation_id"] for e in rows(desk.services, service_episodes)}
    assert count(desk.services, service_episodes, service_episodes.c.open_conversation_id == kept) == 1
    states = sorted(t["state"] for t in rows(desk.services, sla_timers))
    assert states == ["cancelled", "running"]
    assert {t["conversation_id"] for t in rows(desk.services, sla_timers)} == {kept}

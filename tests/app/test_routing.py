"""Routing end to end on the real pipeline (SQLite and PostgreSQL): rules pick the queue, the router assigns by
skills, levels and capacity, relaxes over (test-controlled) time, sticks to the previous agent, re-routes on
offer timeout, decline and an agent leaving, and lets go of manual assignments."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from centralino.demo_access import SETUP
from centralino.domain.access import Principal, Role
from centralino.domain.enums import ConversationStatus
from centralino.domain.outbound import Text
from centralino.errors import Conflict, Forbidden, InvalidInput
from centralino.storage.tables_routing import agent_presence_history, routing_items
from tests.helpers import rows
from tests.routing_helpers import Center, build_center

IT = {"language:it": 4, "product:mortgages": 4}


@pytest.fixture
def center(services) -> Center:
    return build_center(services)


def agent_principal(uid: int, center: Center) -> Principal:
    return Principal(Role.AGENT, uid, frozenset({center.department_id}))


def test_without_rules_nothing_is_queued(center):
    conversation = center.customer_writes("ciao")
    assert rows(center.services, routing_items) == []
    assert center.assignee(conversation) is None


def test_rules_pick_the_queue_and_the_router_assigns_by_skill(center, recorder):
    mortgages = center.queue("mortgages", required_skills=[{"skill": "product:mortgages", "min_level": 3}],
                             priority=5)
    general = center.queue("general")
    center.rule(mortgages, 0, keywords_any=["mutuo"])
    center.rule(general, 1)
    novice = center.agent("novice", {"language:it": 5})
    expert = center.agent("expert", IT)
    loan = center.customer_writes("vorrei un mutuo", wa_id="393470000111")
    hello = center.customer_writes("buongiorno")
    assert (center.item(loan)["queue_id"], center.item(loan)["priority"]) == (mortgages, 5)
    assert center.item(hello)["queue_id"] == general
    assert center.route() == 2
    assert center.assignee(loan) == expert
    assert center.assignee(hello) == novice  # the expert already has work: spare capacity wins
    item = center.item(loan)
    assert (item["state"], item["owner_kind"], item["assigned_to"], item["skill_match"]) == ("offered", "agent",
                                                                                             expert, True)
    assert (center.load(expert), center.load(novice)) == (1, 1)
    assert {"routing.item_enqueued", "routing.item_assigned", "conversation.assigned"} <= set(recorder.types())
    # a second message on an owned conversation enqueues nothing
    assert center.customer_writes("ancora io", wa_id="393470000111") == loan
    assert len(rows(center.services, routing_items)) == 2


def test_capacity_is_never_exceeded_and_the_rest_waits(center):
    q = center.queue("general")
    center.rule(q)
    solo = center.agent("solo", {}, capacity=2)
    convs = [center.customer_writes(f"hi {i}") for i in range(4)]
    assert center.route() == 2
    assert center.load(solo) == 2
    assert [center.item(c)["state"] for c in convs] == ["offered", "offered", "waiting", "waiting"]
    # resolving one frees a slot: the next in line (the oldest) gets it
    center.services.desk.do_set_status(SETUP, convs[0], ConversationStatus.RESOLVED)
    assert center.item(convs[0])["state"] == "completed"
    assert center.route() == 1
    assert center.item(convs[2])["state"] == "offered"
    assert center.load(solo) == 2


def test_the_requirement_relaxes_over_time_then_overflows(center):
    overflow = center.queue("overflow")
    strict = center.queue("strict", required_skills=[{"skill": "product:mortgages", "min_level": 5}],
                          relaxation=[{"after_s": 60, "min_level": 3}, {"after_s": 300, "overflow": True}],
                          overflow_queue_id=overflow)
    center.rule(strict)
    mid = center.agent("mid", {"product:mortgages": 3}, capacity=1)
    conv = center.customer_writes("mutuo")
    other = center.customer_writes("mutuo 2")
    assert center.route() == 0
    center.clock.advance(61)
    assert center.route() == 1
    assert center.assignee(conv) == mid
    assert center.item(conv)["relaxation_step"] == 1
    center.clock.advance(300)
    center.services.desk.do_assign(SETUP, conv, mid)  # no change: still theirs
    center.route()
    moved = center.item(other)
    assert (moved["queue_id"], moved["state"]) == (overflow, "waiting")


def test_an_unanswered_offer_times_out_and_goes_to_someone_else(center, recorder):
    q = center.queue("general", offer_timeout_s=30)
    center.rule(q)
    first = center.agent("first", {}, capacity=1)
    conv = center.customer_writes("ciao")
    center.route()
    assert center.assignee(conv) == first
    second = center.agent("second", {}, capacity=1)
    center.clock.advance(31)
    assert center.route() == 1
    item = center.item(conv)
    assert (item["assigned_to"], item["excluded_user_ids"], item["attempts"]) == (second, [first], 2)
    assert (center.load(first), center.load(second)) == (0, 1)
    assert "routing.item_requeued" in recorder.types()


def test_a_reply_answers_the_offer_and_the_agent_keeps_it_when_going_away(center):
    q = center.queue("general", offer_timeout_s=30)
    center.rule(q)
    anna = center.agent("anna", {}, capacity=3)
    answered, unanswered = center.customer_writes("uno"), center.customer_writes("due")
    center.route()
    center.services.outbound.do_send(answered, Text("buongiorno"), origin=f"agent:{anna}")
    assert center.item(answered)["state"] == "assigned"
    center.routing.do_set_presence(agent_principal(anna, center), anna, "away", "lunch")
    assert center.assignee(answered) == anna
    assert center.item(unanswered)["state"] == "waiting"
    assert center.assignee(unanswered) is None
    assert center.load(anna) == 1
    center.clock.advance(3600)
    center.route()  # no one online: it waits; the answered one never times out
    assert center.item(answered)["state"] == "assigned"
    history = rows(center.services, agent_presence_history, agent_presence_history.c.user_id == anna)
    assert [(h["state"], h["reason"], h["ended_at"] is None) for h in history] == [("online", None, False),
                                                                                  ("away", "lunch", True)]


def test_decline_excludes_the_agent_for_that_item(center):
    q = center.queue("general")
    center.rule(q)
    bruno = center.agent("bruno", {}, capacity=1)
    conv = center.customer_writes("ciao")
    center.route()
    with pytest.raises(Conflict):
        center.routing.do_decline(agent_principal(bruno + 1000, center), conv)
    center.routing.do_decline(agent_principal(bruno, center), conv)
    assert center.route() == 0  # bruno is the only agent and declined it
    assert center.item(conv)["excluded_user_ids"] == [bruno]
    carla = center.agent("carla", {}, capacity=1)
    assert center.route() == 1
    assert center.assignee(conv) == carla


def test_stickiness_brings_a_returning_customer_back_to_their_agent(center):
    q = center.queue("general")
    center.rule(q)
    dario = center.agent("dario", {}, capacity=5)
    conv = center.customer_writes("primo", wa_id="393479990001")
    center.route()
    center.agent("elena", {}, capacity=5)
    center.services.desk.do_set_status(SETUP, conv, ConversationStatus.RESOLVED)
    center.customer_writes("sono tornato", wa_id="393479990001")
    item = center.item(conv)
    assert (item["state"], item["previous_agent_id"]) == ("waiting", dario)
    assert center.assignee(conv) is None
    center.route()
    assert center.assignee(conv) == dario


def test_manual_assignment_takes_the_item_out_of_the_queue(center):
    q = center.queue("general")
    center.rule(q)
    fabio = center.agent("fabio", {}, capacity=1, online=False)
    waiting = center.customer_writes("uno")
    offered_conv = center.customer_writes("due")
    center.services.desk.do_assign(SETUP, waiting, fabio)
    assert (center.item(waiting)["state"], center.item(waiting)["close_reason"]) == ("removed", "manual_assignment")
    center.routing.do_set_presence(SETUP, fabio, "online")
    center.route()
    assert center.assignee(offered_conv) == fabio and center.load(fabio) == 1
    supervisor = center.agent("sara", {}, online=False, role=Role.SUPERVISOR)
    center.services.desk.do_assign(SETUP, offered_conv, supervisor)  # a transfer
    assert center.item(offered_conv)["state"] == "removed"
    assert center.load(fabio) == 0
    assert center.assignee(offered_conv) == supervisor


def test_bad_configuration_changes_nothing_and_names_the_field(center):
    with pytest.raises(InvalidInput) as err:
        center.queue("bad", relaxation=[{"after_s": 10, "min_level": 9}])
    assert err.value.field == "relaxation[0].min_level"
    q = center.queue("ok")
    with pytest.raises(InvalidInput) as err:
        center.routing.do_save_rule(SETUP, {"name": "r", "queue_id": q, "conditions": {"vip": True}})
    assert err.value.field == "conditions.vip"
    with pytest.raises(InvalidInput) as err:
        center.routing.do_save_rule(SETUP, {"name": "r", "queue_id": q + 99, "conditions": {}})
    assert err.value.field == "queue_id"
    from centralino.storage.tables_routing import routing_rules
    assert rows(center.services, routing_rules) == []


def test_agents_set_only_their_own_presence_and_configure_nothing(center):
    gino = center.agent("gino", {}, online=False)
    other = center.agent("other", {}, online=False)
    me = agent_principal(gino, center)
    center.routing.do_set_presence(me, gino, "online")
    with pytest.raises(Forbidden):
        center.routing.do_set_presence(me, other, "online")
    with pytest.raises(Forbidden):
        center.routing.do_set_skills(me, gino, [{"skill": "language:it", "level": 5}])
    supervisor = Principal(Role.SUPERVISOR, None, frozenset({center.department_id}))
    center.routing.do_set_presence(supervisor, other, "busy", "training")
    with center.services.engine.connect() as conn:
        states = dict(conn.execute(select(agent_presence_history.c.user_id, agent_presence_history.c.state)
                                   .where(agent_presence_history.c.ended_at.is_(None))).all())
    assert states == {gino: "online", other: "busy"}

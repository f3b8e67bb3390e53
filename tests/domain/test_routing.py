"""Routing's pure rules: validation naming the field, relaxation over waiting time, scoring and choose()."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from centralino.domain.routing import AgentState, WaitingItem, choose, requirement_at
from centralino.domain.routing_rules import (
    QueueSpec,
    RelaxationStep,
    RoutingFacts,
    SkillRequirement,
    check_queue,
    check_rule,
    rule_matches,
)
from centralino.errors import InvalidInput

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
IT3 = SkillRequirement("language:it", 3)
MORTGAGE = QueueSpec(
    id=1, name="mortgages", department_id=10, priority=0,
    required=(IT3, SkillRequirement("product:mortgages", 4)),
    relaxation=(RelaxationStep(60, min_level=2), RelaxationStep(180, any_department_agent=True),
                RelaxationStep(300, overflow=True)),
    overflow_queue_id=2, offer_timeout_s=60)
GENERAL = QueueSpec(id=2, name="general", department_id=None, priority=0, required=(), relaxation=(),
                    overflow_queue_id=None, offer_timeout_s=60)
QUEUES = {1: MORTGAGE, 2: GENERAL}


def agent(uid: int, skills: dict[str, int], *, cap: int = 2, active: int = 0, depts: frozenset[int] = frozenset({10}),
          idle_min: int = 0) -> AgentState:
    return AgentState(uid, skills, depts, {"whatsapp": cap}, {"whatsapp": active}, NOW - timedelta(minutes=idle_min))


def item(iid: int, waited_s: float = 0, *, queue: int = 1, priority: int = 0, previous: int | None = None,
         excluded: frozenset[int] = frozenset()) -> WaitingItem:
    return WaitingItem(iid, queue, "whatsapp", priority, NOW - timedelta(seconds=waited_s), previous, excluded)


@pytest.mark.parametrize(("data", "field"), [
    ({"name": ""}, "name"),
    ({"name": "q", "required_skills": [{"skill": "Language IT", "min_level": 3}]}, "required_skills[0].skill"),
    ({"name": "q", "required_skills": [{"skill": "language:it", "min_level": 6}]}, "required_skills[0].min_level"),
    ({"name": "q", "relaxation": [{"after_s": 60, "min_level": 2}, {"after_s": 30, "min_level": 1}]},
     "relaxation[1].after_s"),
    ({"name": "q", "relaxation": [{"after_s": 60}]}, "relaxation[0]"),
    ({"name": "q", "relaxation": [{"after_s": 60, "colour": "red"}]}, "relaxation[0].colour"),
    ({"name": "q", "relaxation": [{"after_s": 300, "overflow": True}]}, "overflow_queue_id"),
    ({"name": "q", "offer_timeout_s": 0}, "offer_timeout_s"),
])
def test_a_wrong_queue_is_refused_naming_the_field(data, field):
    with pytest.raises(InvalidInput) as err:
        check_queue(data)
    assert err.value.field == field


def test_a_good_queue_is_normalised():
    fields = check_queue({"name": " Mutui ", "required_skills": [{"skill": "Language:IT", "min_level": 3}],
                          "relaxation": [{"after_s": 60, "min_level": 2}, {"after_s": 300, "overflow": True}],
                          "overflow_queue_id": 7})
    assert fields["name"] == "Mutui"
    assert fields["required_skills"] == [{"skill": "language:it", "min_level": 3}]
    assert fields["relaxation"] == [{"after_s": 60, "min_level": 2}, {"after_s": 300, "overflow": True}]


@pytest.mark.parametrize(("conditions", "field"), [
    ({"colour": ["red"]}, "conditions.colour"),
    ({"tags_any": []}, "conditions.tags_any"),
    ({"keywords_any": "mutuo"}, "conditions.keywords_any"),
    ({"attributes": {"segment": ["a"]}}, "conditions.attributes.segment"),
    ({"channel_id": ["x"]}, "conditions.channel_id"),
])
def test_a_wrong_rule_is_refused_naming_the_field(conditions, field):
    with pytest.raises(InvalidInput) as err:
        check_rule({"name": "r", "queue_id": 1, "conditions": conditions})
    assert err.value.field == field


def test_rules_match_on_channel_language_tags_attributes_intent_and_keywords():
    facts = RoutingFacts("whatsapp", 3, language="it-IT", tags=frozenset({"vip"}), attributes={"segment": "gold"},
                         intent="mortgage", text="Vorrei un MUTUO per casa")
    assert rule_matches({}, facts)
    assert rule_matches(check_rule({"name": "r", "queue_id": 1, "conditions": {
        "channel_kind": ["whatsapp"], "channel_id": [3], "language": ["it"], "tags_any": ["VIP"],
        "attributes": {"segment": "gold"}, "intent": ["mortgage"], "keywords_any": ["mutuo"]}})["conditions"], facts)
    assert not rule_matches({"tags_any": ["blocked"]}, facts)
    assert not rule_matches({"keywords_any": ["prestito"]}, facts)
    assert not rule_matches({"language": ["en"]}, facts)
    assert not rule_matches({"attributes": {"segment": "silver"}}, facts)


def test_the_requirement_relaxes_with_waiting_time():
    assert requirement_at(MORTGAGE, 0).skills == MORTGAGE.required
    at_60 = requirement_at(MORTGAGE, 60)
    assert (at_60.step, {s.min_level for s in at_60.skills}) == (1, {2})
    at_200 = requirement_at(MORTGAGE, 200)
    assert (at_200.step, at_200.skills, at_200.department_id, at_200.overflow) == (2, (), 10, False)
    assert requirement_at(MORTGAGE, 301).overflow


def test_only_agents_meeting_the_skills_get_the_item_until_it_relaxes():
    agents = [agent(1, {"language:it": 2, "product:mortgages": 2}), agent(2, {"language:it": 5})]
    assert choose([item(1, 10)], agents, QUEUES, NOW).decisions == ()
    relaxed = choose([item(1, 61)], agents, QUEUES, NOW).decisions
    assert [(d.agent_id, d.requirement.step) for d in relaxed] == [(1, 1)]
    # any agent of the department after 180 s, but not one outside it
    outsider = [agent(3, {}, depts=frozenset({99}))]
    assert choose([item(1, 200)], outsider, QUEUES, NOW).decisions == ()
    assert [d.agent_id for d in choose([item(1, 200)], [agent(4, {})], QUEUES, NOW).decisions] == [4]
    assert choose([item(1, 301)], agents, QUEUES, NOW).overflow == (1,)


def test_priority_then_waiting_time_and_capacity_is_respected():
    expert = agent(1, {"language:it": 5, "product:mortgages": 5}, cap=2)
    items = [item(1, 10), item(2, 50), item(3, 5, priority=5)]
    decisions = choose(items, [expert], QUEUES, NOW).decisions
    assert [d.item_id for d in decisions] == [3, 2]  # item 1 waits: the agent is full


def test_spare_capacity_then_longest_idle_and_stickiness():
    skills = {"language:it": 5, "product:mortgages": 5}
    busy, free_recent, free_idle = agent(1, skills, cap=4, active=2), agent(2, skills, cap=4), \
        agent(3, skills, cap=4, idle_min=30)
    assert [d.agent_id for d in choose([item(1)], [busy, free_recent, free_idle], QUEUES, NOW).decisions] == [3]
    assert [d.agent_id for d in choose([item(1, previous=1)], [busy, free_recent, free_idle], QUEUES,
                                       NOW).decisions] == [1]
    # the round spreads work: three items go to three different idle agents first
    spread = choose([item(1), item(2), item(3)], [busy, free_recent, free_idle], QUEUES, NOW).decisions
    assert sorted(d.agent_id for d in spread[:2]) == [2, 3]


def test_an_excluded_agent_is_never_chosen_for_that_item():
    skills = {"language:it": 5, "product:mortgages": 5}
    decisions = choose([item(1, excluded=frozenset({1})), item(2)], [agent(1, skills, cap=1)], QUEUES, NOW).decisions
    assert [(d.item_id, d.agent_id) for d in decisions] == [(2, 1)]


def test_no_agent_gets_more_than_capacity_in_a_big_round():
    agents = [agent(i, {"language:it": 1 + i % 5, "product:mortgages": 1 + (i * 7) % 5}, cap=3) for i in range(50)]
    items = [item(i, waited_s=i % 400, queue=1 + i % 2) for i in range(1000)]
    decisions = choose(items, agents, QUEUES, NOW).decisions
    per_agent: dict[int, int] = {}
    for d in decisions:
        per_agent[d.agent_id] = per_agent.get(d.agent_id, 0) + 1
    assert max(per_agent.values()) <= 3
    assert len({d.item_id for d in decisions}) == len(decisions)
    assert len(decisions) == 150

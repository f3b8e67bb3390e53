"""Automation rules, pure: validation naming the field, and conditions on the typed facts."""

from __future__ import annotations

from typing import Any

import pytest

from centralino.domain.automation import fill, matches, pick_text
from centralino.domain.automation_check import check_rule, template_refs
from centralino.errors import InvalidInput


def rule(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"name": "Rimborsi", "trigger": "message.received",
                            "conditions": {"all": [{"field": "message.text", "op": "contains", "value": "rimborso"}]},
                            "actions": [{"type": "assign", "queue_id": 1}]}
    return {**base, **over}


def error_field(data: dict[str, Any]) -> str | None:
    with pytest.raises(InvalidInput) as caught:
        check_rule(data)
    return caught.value.field


def test_a_valid_rule_is_returned_normalised() -> None:
    checked = check_rule(rule(name="  Rimborsi "))
    assert checked.name == "Rimborsi"
    assert checked.trigger == "message.received"
    assert checked.enabled is True
    assert checked.actions == ({"type": "assign", "queue_id": 1},)


@pytest.mark.parametrize(("data", "field"), [
    (rule(name=""), "name"),
    (rule(trigger="message.teleported"), "trigger"),
    (rule(conditions={"all": [{"field": "message.colour", "op": "equals", "value": "red"}]}),
     "conditions.all[0].field"),
    (rule(conditions={"all": [{"field": "message.text", "op": "gt", "value": 3}]}), "conditions.all[0].op"),
    (rule(conditions={"any": [{"field": "contact.language", "op": "equals", "value": "it"},
                              {"field": "conversation.channel_id", "op": "equals", "value": "one"}]}),
     "conditions.any[1].value"),
    (rule(conditions={"all": [{"field": "message.text", "op": "matches", "value": "(["}]}),
     "conditions.all[0].value"),
    (rule(conditions={"all": [{"field": "contact.tags", "op": "exists", "value": "x"}]}), "conditions.all[0].value"),
    (rule(conditions={"all": []}), "conditions.all"),
    (rule(conditions={"all": [{"field": "task.status", "op": "equals", "value": "open"}]}),
     "conditions.all[0].field"),  # no task on message.received
    (rule(actions=[]), "actions"),
    (rule(actions=[{"type": "assign", "queue_id": 1}, {"type": "teleport"}]), "actions[1].type"),
    (rule(actions=[{"type": "assign"}]), "actions[0].user_id"),
    (rule(actions=[{"type": "assign", "queue_id": "uno"}]), "actions[0].queue_id"),
    (rule(actions=[{"type": "assign", "queue_id": True}]), "actions[0].queue_id"),
    (rule(trigger="consent.recorded", conditions={}, actions=[{"type": "add_task", "title": "Chiamare"}]),
     "actions[0].type"),  # needs a case
    (rule(actions=[{"type": "set_field", "field": "contact.name", "value": "x"}]), "actions[0].field"),
    (rule(actions=[{"type": "set_field", "field": "contact.tags", "value": 3}]), "actions[0].value"),
    (rule(actions=[{"type": "notify", "text": ""}]), "actions[0].text"),
    (rule(actions=[{"type": "notify", "text": "ok", "template": {"language": "it"}}]), "actions[0].template.name"),
    (rule(actions=[{"type": "send_template"}]), "actions[0].template"),
    (rule(actions=[{"type": "webhook", "url": "ftp://x"}]), "actions[0].url"),
    (rule(trigger="case.created", conditions={}, actions=[{"type": "escalate", "target": "task", "department_id": 2,
                                           "reason": "x"}]), "actions[0].type"),
    (rule(enabled="yes"), "enabled"),
    (rule(condition={"all": []}), "condition"),  # misspelt: never silently "always"
    (rule(actions=[{"type": "notify", "text": "ok", "tempate": {"name": "x"}}]), "actions[0].tempate"),
    (rule(conditions={"all": [{"field": "message.text", "op": "contains", "value": "x", "vale": 1}]}),
     "conditions.all[0].vale"),
])
def test_validation_names_the_wrong_field(data: dict[str, Any], field: str) -> None:
    assert error_field(data) == field


def test_case_and_task_triggers_offer_their_subjects() -> None:
    check_rule(rule(trigger="task.sla_breached",
                    conditions={"all": [{"field": "task.status", "op": "not_equals", "value": "done"},
                                        {"field": "case.priority", "op": "in", "value": ["high", "urgent"]}]},
                    actions=[{"type": "escalate", "target": "task", "department_id": 2, "reason": "late"},
                             {"type": "add_task", "title": "Richiamare {contact.name}"}]))
    check_rule(rule(trigger="case.status_changed",
                    conditions={"all": [{"field": "case.fields.refund_amount", "op": "gt", "value": 100}]},
                    actions=[{"type": "set_field", "field": "case.priority", "value": "high"}]))


def test_template_references_are_listed_with_their_fields() -> None:
    checked = check_rule(rule(actions=[{"type": "webhook", "url": "https://example.com/h"},
                                       {"type": "send_template", "template": "case_update", "language": "it"},
                                       {"type": "notify", "text": "ciao", "template": {"name": "case_update"}}]))
    assert [(r.name_field, r.name, r.language, r.language_field) for r in template_refs(checked)] == [
        ("actions[1].template", "case_update", "it", "actions[1].language"),
        ("actions[2].template.name", "case_update", None, "actions[2].template.language")]


FACTS: dict[str, Any] = {
    "message": {"text": "Vorrei un RIMBORSO per l'ordine 42", "type": "text"},
    "contact": {"language": "it", "tags": ["vip"], "attributes": {"tier": "gold", "orders": "12"}},
    "conversation": {"channel": "whatsapp", "channel_id": 1, "department_id": None},
    "business_hours": {"open": False},
}


@pytest.mark.parametrize(("conditions", "expected"), [
    ({}, True),
    ({"field": "message.text", "op": "contains", "value": "rimborso"}, True),  # case-insensitive
    ({"field": "message.text", "op": "not_contains", "value": "rimborso"}, False),
    ({"field": "message.text", "op": "matches", "value": r"ordine \d+"}, True),
    ({"field": "contact.tags", "op": "contains", "value": "VIP"}, True),
    ({"field": "contact.tags", "op": "not_contains", "value": "blocked"}, True),
    ({"field": "contact.attributes.tier", "op": "in", "value": ["gold", "platinum"]}, True),
    ({"field": "contact.attributes.orders", "op": "gte", "value": 10}, True),
    ({"field": "contact.attributes.missing", "op": "exists"}, False),
    ({"field": "contact.attributes.missing", "op": "not_exists"}, True),
    ({"field": "contact.attributes.missing", "op": "equals", "value": "x"}, False),
    ({"field": "conversation.department_id", "op": "exists"}, False),
    ({"field": "conversation.channel_id", "op": "equals", "value": 1.0}, True),
    ({"field": "business_hours.open", "op": "equals", "value": False}, True),
    ({"all": [{"field": "contact.language", "op": "equals", "value": "IT"},
              {"field": "conversation.channel", "op": "equals", "value": "email"}]}, False),
    ({"any": [{"field": "contact.language", "op": "equals", "value": "en"},
              {"all": [{"field": "conversation.channel", "op": "equals", "value": "whatsapp"},
                       {"field": "message.type", "op": "equals", "value": "text"}]}]}, True),
])
def test_conditions(conditions: dict[str, Any], expected: bool) -> None:
    assert matches(conditions, FACTS) is expected


def test_placeholders_and_language_choice() -> None:
    facts = {"case": {"number": "C-2026-000007"}, "contact": {"name": "Anna"}}
    assert fill("Pratica {case.number} di {contact.name} {case.missing}", facts) == \
        "Pratica C-2026-000007 di Anna {case.missing}"
    texts = {"it": "ciao", "en": "hello"}
    assert pick_text(texts, "en_US") == "hello"
    assert pick_text(texts, "de") == "ciao"
    assert pick_text("sempre", "en") == "sempre"

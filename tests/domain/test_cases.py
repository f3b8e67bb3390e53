"""Case types, workflows, custom fields, numbers and task rules (domain/cases.py, domain/case_tasks.py)."""

from __future__ import annotations

import copy

import pytest

from centralino.domain.case_defaults import DEFAULT_CASE_TYPES
from centralino.domain.case_tasks import TaskStatus, check_checklist, check_task_transition, creates_cycle
from centralino.domain.cases import (
    Priority,
    case_type_to_dict,
    check_fields,
    check_transition,
    find_case_number,
    format_case_number,
    parse_case_number,
    parse_case_type,
)
from centralino.errors import Conflict, InvalidInput
from tests.case_helpers import SIMPLE_TYPE


def simple(**changes):
    data = copy.deepcopy(SIMPLE_TYPE)
    data.update(changes)
    return data


def test_the_default_types_parse_and_round_trip_in_both_languages():
    keys = set()
    for data in DEFAULT_CASE_TYPES:
        parsed = parse_case_type(data)
        assert parse_case_type(case_type_to_dict(parsed)) == parsed
        assert parsed.name["it"] and parsed.name["en"] and parsed.name["it"] != parsed.name["en"]
        keys.add(parsed.key)
    assert keys == {"complaint", "refund", "technical_issue", "change_of_address"}


@pytest.mark.parametrize(("change", "field"), [
    ({"key": "Bad Key"}, "key"),
    ({"workflow": {**SIMPLE_TYPE["workflow"], "initial": "nowhere"}}, "workflow.initial"),
    ({"workflow": {**SIMPLE_TYPE["workflow"], "closed": ["unknown"]}}, "workflow.closed"),
    ({"workflow": {**SIMPLE_TYPE["workflow"], "transitions": {"new": ["ghost"]}}}, "workflow.transitions.new"),
    ({"workflow": {**SIMPLE_TYPE["workflow"], "transitions": {"new": ["working"]}}}, "workflow.transitions"),
    ({"fields": [{"key": "a", "kind": "colour"}]}, "fields[0].kind"),
    ({"fields": [{"key": "a", "kind": "choice", "options": []}]}, "fields[0].options"),
    ({"fields": [{"key": "a", "kind": "text", "regex": "("}]}, "fields[0].regex"),
    ({"fields": [{"key": "a", "kind": "number", "min": 5, "max": 1}]}, "fields[0].min"),
    ({"fields": [{"key": "a", "kind": "text"}, {"key": "a", "kind": "text"}]}, "fields[1].key"),
    ({"default_priority": "whenever"}, "default_priority"),
    ({"sla": {"resolution_min": 0}}, "sla.resolution_min"),
    ({"sla": {"warn_fraction": 1.5}}, "sla.warn_fraction"),
    ({"sla": {"escalation": [{"on": "breached", "action": "escalate"}]}}, "sla.escalation[0].department_id"),
    ({"sla": {"escalation": [{"on": "later", "action": "alert_supervisor"}]}}, "sla.escalation[0].on"),
    ({"sla": {"calendar": {"time_zone": "Europe/Rome", "hours": {"mon": [["25:00", "26:00"]]}}}},
     "sla.calendar.hours.mon"),
])
def test_a_bad_definition_names_its_field(change, field):
    with pytest.raises(InvalidInput) as err:
        parse_case_type(simple(**change))
    assert err.value.field == field


def test_workflow_transitions_allowed_and_refused():
    workflow = parse_case_type(SIMPLE_TYPE).workflow
    check_transition(workflow, "new", "working")
    check_transition(workflow, "done", "working")  # reopening is part of this workflow
    with pytest.raises(Conflict) as err:
        check_transition(workflow, "new", "done")
    assert (err.value.code, err.value.status) == ("case.transition_not_allowed", 409)
    assert err.value.details == {"from": "new", "to": "done"}
    with pytest.raises(InvalidInput) as unknown:
        check_transition(workflow, "new", "archived")
    assert unknown.value.field == "status"


@pytest.mark.parametrize(("values", "field"), [
    ({}, "fields.refund_amount"),  # required
    ({"refund_amount": 0}, "fields.refund_amount"),  # below min
    ({"refund_amount": 501}, "fields.refund_amount"),  # above max
    ({"refund_amount": "20"}, "fields.refund_amount"),  # not a number
    ({"refund_amount": True}, "fields.refund_amount"),
    ({"refund_amount": 20, "iban": "DE123"}, "fields.iban"),  # regex
    ({"refund_amount": 20, "method": "cash"}, "fields.method"),  # not an option
    ({"refund_amount": 20, "colour": "red"}, "fields.colour"),  # unknown field
])
def test_custom_fields_are_validated_naming_the_field(values, field):
    with pytest.raises(InvalidInput) as err:
        check_fields(parse_case_type(SIMPLE_TYPE), values, complete=True)
    assert err.value.field == field


def test_valid_fields_pass_and_an_update_checks_only_what_it_gives():
    case_type = parse_case_type(SIMPLE_TYPE)
    iban = "IT60X0542811101000000123456"
    assert check_fields(case_type, {"refund_amount": 20.5, "iban": iban, "method": "card"}, complete=True) == {
        "refund_amount": 20.5, "iban": iban, "method": "card"}
    assert check_fields(case_type, {"method": None}, complete=False) == {"method": None}
    refund = parse_case_type(next(d for d in DEFAULT_CASE_TYPES if d["key"] == "refund"))
    assert check_fields(refund, {"purchase_date": "2026-01-31"}, complete=False) == {"purchase_date": "2026-01-31"}
    with pytest.raises(InvalidInput) as err:
        check_fields(refund, {"purchase_date": "31/01/2026"}, complete=False)
    assert err.value.field == "fields.purchase_date"


def test_case_numbers():
    assert format_case_number(2026, 123) == "C-2026-000123"
    assert parse_case_number("c-2026-000123") == (2026, 123)
    assert parse_case_number("C-26-1") is None
    assert find_case_number("ciao, a che punto è la pratica c-2026-000042?") == "C-2026-000042"
    assert find_case_number("nessun numero") is None


def test_priority_order_and_raise():
    assert [p.value for p in Priority] == ["low", "normal", "high", "urgent"]
    assert Priority.NORMAL.raised(1) is Priority.HIGH
    assert Priority.HIGH.raised(3) is Priority.URGENT


def test_task_transitions_wait_for_dependencies():
    check_task_transition(TaskStatus.OPEN, TaskStatus.IN_PROGRESS, {1: "done", 2: "cancelled"})
    with pytest.raises(Conflict) as err:
        check_task_transition(TaskStatus.OPEN, TaskStatus.DONE, {1: "done", 2: "in_progress"})
    assert err.value.code == "task.dependencies_pending" and err.value.details["waiting_for"] == [2]
    check_task_transition(TaskStatus.OPEN, TaskStatus.BLOCKED, {2: "open"})  # blocking needs nothing
    check_task_transition(TaskStatus.OPEN, TaskStatus.CANCELLED, {2: "open"})
    with pytest.raises(Conflict) as finished:
        check_task_transition(TaskStatus.DONE, TaskStatus.IN_PROGRESS, {})
    assert finished.value.code == "task.transition_not_allowed"


def test_dependency_cycles_are_detected():
    edges = [(2, 1), (3, 2)]  # 2 waits for 1, 3 waits for 2
    assert creates_cycle(edges, 1, 3)  # 1 waiting for 3 would loop
    assert creates_cycle(edges, 1, 1)
    assert not creates_cycle(edges, 3, 1)
    assert not creates_cycle(edges, 4, 3)


def test_checklist():
    assert check_checklist(["Call", {"text": "Refund", "done": True}]) == [
        {"text": "Call", "done": False}, {"text": "Refund", "done": True}]
    with pytest.raises(InvalidInput) as err:
        check_checklist([{"text": "", "done": False}])
    assert err.value.field == "checklist[0].text"

"""Cases end to end on SQLite and PostgreSQL: opening one from a conversation, workflow transitions, field
validation (nothing changed on a refusal), links, visibility 404s, numbering under concurrency, assignment
(app/cases.py)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from centralino.errors import Conflict, Forbidden, InvalidInput, NotFound
from centralino.storage.tables import messages
from centralino.storage.tables_cases import case_links, cases
from tests.access_helpers import build_org
from tests.case_helpers import SIMPLE_TYPE, Clock, cases_with_clock, people
from tests.helpers import rows


@pytest.fixture
def world(services):
    org = build_org(services)
    clock = Clock()
    module = cases_with_clock(services, clock)
    who = people(org)
    module.types.do_create_type(who.admin, SIMPLE_TYPE)
    return org, who, module, clock


def open_case(module, principal, **kwargs):
    kwargs.setdefault("case_type", "refund_test")
    kwargs.setdefault("title", "Rimborso ordine 4471")
    kwargs.setdefault("fields", {"refund_amount": 40})
    return module.cases.do_create_case(principal, **kwargs)


def test_open_a_case_from_a_conversation_with_its_messages(services, world, recorder):
    org, who, module, _ = world
    with services.engine.connect() as conn:
        message_id = conn.execute(select(messages.c.id).where(
            messages.c.conversation_id == org.care_conversation)).scalar_one()
    case = open_case(module, who.agent_care, conversation_id=org.care_conversation, message_ids=[message_id])
    assert case["number"] == "C-2026-000001"
    assert (case["status"], case["priority"], case["owner_user_id"], case["department_id"]) == (
        "new", "high", org.agent_care, org.care)  # the type's default priority, the opener, their department
    assert case["contact_id"] is not None
    links = {(r["kind"], r["ref_id"]) for r in rows(services, case_links)}
    assert links == {("conversation", org.care_conversation), ("message", message_id)}
    created = next(e for e in recorder.events if e.type == "case.created")
    assert created.payload["case_id"] == case["id"] and created.payload["contact_id"] == case["contact_id"]
    assert created.payload["actor"] == f"user:{org.agent_care}"
    linked = [e.payload for e in recorder.events if e.type == "case.linked"]
    assert {(p["kind"], p["ref_id"], p["contact_id"]) for p in linked} == {
        ("conversation", org.care_conversation, case["contact_id"]), ("message", message_id, case["contact_id"])}


def test_refusals_name_the_field_and_create_nothing(services, world):
    org, who, module, _ = world
    for kwargs, field in (({"fields": {"refund_amount": 9999}}, "fields.refund_amount"),
                          ({"fields": {}}, "fields.refund_amount"),
                          ({"case_type": "nope"}, "case_type"),
                          ({"title": " "}, "title"),
                          ({"priority": "asap"}, "priority"),
                          ({"conversation_id": org.care_conversation, "message_ids": [999_999]}, "message_ids")):
        with pytest.raises(InvalidInput) as err:
            open_case(module, who.agent_care, **kwargs)
        assert err.value.field == field
    assert rows(services, cases) == []
    with pytest.raises(NotFound):  # a conversation out of the agent's scope is not found
        open_case(module, who.agent_care, conversation_id=org.sales_conversation)
    assert rows(services, cases) == []


def test_transitions_follow_the_type_workflow(services, world, recorder):
    _, who, module, clock = world
    case = open_case(module, who.agent_care)
    with pytest.raises(Conflict) as err:
        module.cases.do_transition(who.agent_care, case["id"], "done")
    assert err.value.code == "case.transition_not_allowed" and err.value.details == {"from": "new", "to": "done"}
    assert rows(services, cases)[0]["status"] == "new"
    clock.advance(minutes=5)
    working = module.cases.do_transition(who.agent_care, case["id"], "working")
    assert working["first_responded_at"] == clock.now and working["closed_at"] is None
    clock.advance(minutes=5)
    done = module.cases.do_transition(who.agent_care, case["id"], "done", note="rimborsato")
    assert done["closed_at"] == clock.now
    reopened = module.cases.do_transition(who.agent_care, case["id"], "working")
    assert reopened["closed_at"] is None
    changes = [(e.payload["from"], e.payload["to"], e.payload["case_id"]) for e in recorder.events
               if e.type == "case.status_changed"]
    assert changes == [("new", "working", case["id"]), ("working", "done", case["id"]), ("done", "working", case["id"])]


def test_update_validates_against_the_type_and_reports_what_changed(services, world, recorder):
    _, who, module, _ = world
    case = open_case(module, who.agent_care)
    with pytest.raises(InvalidInput) as err:
        module.cases.do_update(who.agent_care, case["id"], {"fields": {"iban": "nope"}, "title": "Nuovo"})
    assert err.value.field == "fields.iban"
    assert rows(services, cases)[0]["title"] == "Rimborso ordine 4471"  # nothing changed
    with pytest.raises(InvalidInput) as status:
        module.cases.do_update(who.agent_care, case["id"], {"status": "done"})
    assert status.value.field == "status"
    updated = module.cases.do_update(who.agent_care, case["id"], {
        "fields": {"method": "card"}, "tags": ["VIP", "vip", "urgente"], "priority": "urgent"})
    assert updated["fields"] == {"refund_amount": 40, "method": "card"}
    assert updated["tags"] == ["vip", "urgente"] and updated["priority"] == "urgent"
    event = next(e for e in recorder.events if e.type == "case.updated")
    assert set(event.payload["changes"]) == {"fields", "tags", "priority"}
    assert event.payload["case_id"] == case["id"] and "contact_id" in event.payload


def test_visibility_out_of_scope_is_not_found(services, world):
    org, who, module, _ = world
    case = open_case(module, who.agent_care)
    for principal in (who.agent_sales,):
        with pytest.raises(NotFound):
            module.views.get_case(principal, case["id"])
        with pytest.raises(NotFound):
            module.cases.do_transition(principal, case["id"], "working")
        assert module.views.list_cases(principal)["items"] == []
    assert module.views.get_case(who.supervisor, case["id"])["id"] == case["id"]
    assert module.views.get_case(who.admin, case["id"])["id"] == case["id"]
    # a task for sales makes the case visible to sales' agents
    module.tasks.do_add_task(who.agent_care, case["id"], title="Verifica", department_id=org.sales)
    assert module.views.get_case(who.agent_sales, case["id"])["number"] == case["number"]
    with pytest.raises(NotFound):
        module.views.department_work(who.agent_sales, org.care)


def test_search_filters_and_pages(services, world):
    org, who, module, _ = world
    made = [open_case(module, who.agent_care, title=f"Pratica {i}") for i in range(5)]
    other = open_case(module, who.admin, title="Cambio indirizzo", case_type="change_of_address",
                      fields={"new_address": "Via Roma 1, Milano"}, department_id=org.sales)
    first = module.views.list_cases(who.admin, limit=2)
    assert [c["id"] for c in first["items"]] == [other["id"], made[4]["id"]]
    second = module.views.list_cases(who.admin, limit=4, cursor=first["next"])
    assert [c["id"] for c in second["items"]] == [m["id"] for m in made[3::-1]] and second["next"] is None
    assert [c["id"] for c in module.views.list_cases(who.admin, department_id=org.sales)["items"]] == [other["id"]]
    assert [c["id"] for c in module.views.list_cases(who.admin, q="indirizzo")["items"]] == [other["id"]]
    assert [c["id"] for c in module.views.list_cases(who.admin, q=made[2]["number"].lower())["items"]] == [
        made[2]["id"]]
    assert len(module.views.list_cases(who.admin, case_type="refund_test")["items"]) == 5
    assert module.views.list_cases(who.agent_care, status=["working"])["items"] == []


def test_numbers_are_unique_under_concurrency(services, world):
    _, who, module, _ = world
    numbers: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(5):
                numbers.append(open_case(module, who.admin)["number"])
        except BaseException as err:  # reported below
            errors.append(err)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(numbers) == [f"C-2026-{n:06d}" for n in range(1, 21)]


def test_assignment_and_links(services, world, recorder):
    org, who, module, _ = world
    case = open_case(module, who.supervisor, owner_user_id=None)
    taken = module.cases.do_assign(who.agent_care, case["id"], owner_user_id=org.agent_care)
    assert taken["owner_user_id"] == org.agent_care
    with pytest.raises(Forbidden):
        module.cases.do_assign(who.agent_care, case["id"], owner_user_id=org.supervisor)
    with pytest.raises(Forbidden):
        module.cases.do_assign(who.agent_care, case["id"], department_id=org.sales)
    moved = module.cases.do_assign(who.supervisor, case["id"], department_id=org.sales, reason="competenza")
    assert moved["department_id"] == org.sales
    assigned = [e.payload for e in recorder.events if e.type == "case.assigned"]
    assert assigned[-1]["department_id"] == org.sales and assigned[-1]["case_id"] == case["id"]
    link = module.cases.do_link(who.admin, case["id"], "call", 77)
    assert link == {"case_id": case["id"], "kind": "call", "ref_id": 77}
    module.cases.do_link(who.admin, case["id"], "call", 77)  # twice: one link
    assert len(rows(services, case_links)) == 1
    with pytest.raises(InvalidInput):
        module.cases.do_link(who.admin, case["id"], "fax", 1)
    module.cases.do_unlink(who.admin, case["id"], "call", 77)
    with pytest.raises(NotFound):
        module.cases.do_unlink(who.admin, case["id"], "call", 77)
    assert [e.type for e in recorder.events if e.type in ("case.linked", "case.unlinked")] == [
        "case.linked", "case.unlinked"]


def test_case_types_are_admin_managed(services, world):
    _, who, module, _ = world
    with pytest.raises(Forbidden):
        module.types.do_create_type(who.supervisor, {**SIMPLE_TYPE, "key": "other"})
    with pytest.raises(Conflict):
        module.types.do_create_type(who.admin, SIMPLE_TYPE)
    keys = {t["key"] for t in module.types.list_types()}
    assert {"complaint", "refund", "technical_issue", "change_of_address", "refund_test"} <= keys
    type_id = next(t["id"] for t in module.types.list_types() if t["key"] == "refund_test")
    open_case(module, who.admin)
    narrowed = {**SIMPLE_TYPE, "workflow": {"statuses": ["open", "shut"], "initial": "open",
                                            "transitions": {"open": ["shut"]}, "closed": ["shut"]}}
    with pytest.raises(InvalidInput) as err:  # a case is in "new"
        module.types.do_update_type(who.admin, type_id, narrowed)
    assert err.value.field == "workflow.statuses"
    module.types.do_deactivate_type(who.admin, type_id)
    assert "refund_test" not in {t["key"] for t in module.types.list_types()}
    with pytest.raises(InvalidInput) as inactive:
        open_case(module, who.admin)
    assert inactive.value.field == "case_type"


def test_an_agent_reply_on_a_linked_conversation_is_the_first_response(services, world):
    from centralino.domain.outbound import Text
    from centralino.storage.tables_cases import case_sla_timers

    org, who, _, _ = world
    module = services.cases  # the installed module: its listener hears the reply
    case = module.cases.do_create_case(who.agent_care, case_type="complaint", title="Reclamo",
                                       conversation_id=org.care_conversation,
                                       fields={"description": "Il pacco è arrivato rotto"})
    other = module.cases.do_create_case(who.agent_care, case_type="complaint", title="Senza conversazione",
                                        fields={"description": "Telefonata in negozio"})
    services.outbound.do_send(org.sales_conversation, Text("altro cliente"), origin=f"agent:{org.agent_sales}")
    assert rows(services, cases, cases.c.id == case["id"])[0]["first_responded_at"] is None
    services.outbound.do_send(org.care_conversation, Text("Ci pensiamo noi"), origin=f"agent:{org.agent_care}")
    answered = rows(services, cases, cases.c.id == case["id"])[0]
    assert answered["first_responded_at"] is not None
    timer = rows(services, case_sla_timers, case_sla_timers.c.timer_key == f"case:{case['id']}:first_response")[0]
    assert timer["stopped_at"] is not None and timer["next_check_at"] is None
    assert rows(services, cases, cases.c.id == other["id"])[0]["first_responded_at"] is None


def test_agents_open_cases_for_themselves_or_nobody(services, world):
    org, who, module, _ = world
    with pytest.raises(Forbidden):
        open_case(module, who.agent_care, owner_user_id=org.agent_sales)
    assert open_case(module, who.agent_care, owner_user_id=None)["owner_user_id"] is None
    assert open_case(module, who.supervisor, owner_user_id=org.agent_care)["owner_user_id"] == org.agent_care
    with pytest.raises(InvalidInput) as err:
        open_case(module, who.admin, owner_user_id=999_999)
    assert err.value.field == "owner_user_id"

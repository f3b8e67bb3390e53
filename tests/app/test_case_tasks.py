"""Tasks, hand-offs and the case SLA on SQLite and PostgreSQL: dependencies and cycles, an escalation chain with
the time each department held the work (test clock), the department work list, SLA warnings and breaches once
each with the type's escalation (app/case_tasks.py, app/case_handoffs.py, app/case_sla.py)."""

from __future__ import annotations

import pytest

from centralino.errors import Conflict, InvalidInput, NotFound
from centralino.storage.tables_cases import handoffs
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
    case = module.cases.do_create_case(who.agent_care, case_type="refund_test", title="Rimborso",
                                       conversation_id=org.care_conversation, fields={"refund_amount": 40})
    return org, who, module, clock, case


def test_dependencies_hold_tasks_back_and_cycles_are_refused(services, world, recorder):
    org, who, module, _, case = world
    check = module.tasks.do_add_task(who.agent_care, case["id"], title="Verifica IBAN", department_id=org.care)
    pay = module.tasks.do_add_task(who.agent_care, case["id"], title="Bonifico", department_id=org.care,
                                   depends_on=[check["id"]])
    with pytest.raises(Conflict) as err:
        module.tasks.do_transition_task(who.agent_care, pay["id"], "in_progress")
    assert err.value.code == "task.dependencies_pending" and err.value.details["waiting_for"] == [check["id"]]
    with pytest.raises(Conflict) as cycle:
        module.tasks.do_add_dependency(who.agent_care, check["id"], pay["id"])
    assert cycle.value.code == "task.dependency_cycle"
    module.tasks.do_transition_task(who.agent_care, check["id"], "done")
    started = module.tasks.do_transition_task(who.agent_care, pay["id"], "in_progress")
    assert started["status"] == "in_progress" and started["started_at"] is not None
    assert module.views.get_task(who.agent_care, pay["id"])["depends_on"] == [check["id"]]
    with pytest.raises(InvalidInput):  # a task of another case (or none) is not a dependency
        module.tasks.do_add_task(who.agent_care, case["id"], title="x", department_id=org.care, depends_on=[999])
    with pytest.raises(InvalidInput) as nowhere:
        module.tasks.do_add_task(who.agent_care, case["id"], title="x")
    assert nowhere.value.field == "department_id"
    changes = [(e.payload["task_id"], e.payload["from"], e.payload["to"]) for e in recorder.events
               if e.type == "task.status_changed"]
    assert changes == [(check["id"], "open", "done"), (pay["id"], "open", "in_progress")]
    created = [e.payload for e in recorder.events if e.type == "task.created"]
    assert all(p["case_id"] == case["id"] and p["contact_id"] == case["contact_id"] for p in created)


def test_an_escalation_chain_records_who_when_why_and_how_long(services, world, recorder):
    org, who, module, clock, case = world
    task = module.tasks.do_add_task(who.agent_care, case["id"], title="Back office", department_id=org.care)
    clock.advance(minutes=30)
    module.tasks.do_escalate_task(who.agent_care, task["id"], org.sales, "serve l'amministrazione")
    assert [i["id"] for i in module.views.department_work(who.agent_sales, org.sales)["items"]] == [task["id"]]
    assert module.views.department_work(who.agent_care, org.care)["items"][0]["kind"] == "case"
    clock.advance(hours=2)
    module.tasks.do_escalate_task(who.agent_sales, task["id"], org.care, "manca il documento")
    clock.advance(minutes=10)
    module.cases.do_escalate_case(who.agent_care, case["id"], org.sales, "pratica all'amministrazione")
    with pytest.raises(InvalidInput) as reason:
        module.cases.do_escalate_case(who.supervisor, case["id"], org.care, " ")
    assert reason.value.field == "reason"
    history = module.views.get_case(who.admin, case["id"])["handoffs"]
    assert [(h["task_id"], h["from_department_id"], h["to_department_id"], h["held_seconds"], h["reason"],
             h["by_user_id"]) for h in history] == [
        (task["id"], org.care, org.sales, 1800, "serve l'amministrazione", org.agent_care),
        (task["id"], org.sales, org.care, 7200, "manca il documento", org.agent_sales),
        (None, org.care, org.sales, 9600, "pratica all'amministrazione", org.agent_care)]
    assert len(rows(services, handoffs)) == 3
    escalated = [e.payload for e in recorder.events if e.type in ("task.escalated", "case.escalated")]
    assert [(p.get("task_id"), p["from_department_id"], p["to_department_id"], p["held_seconds"]) for p in escalated] \
        == [(task["id"], org.care, org.sales, 1800), (task["id"], org.sales, org.care, 7200),
            (None, org.care, org.sales, 9600)]
    assert all(p["case_id"] == case["id"] and p["contact_id"] == case["contact_id"] and p["reason"] and p["by"]
               for p in escalated)
    # the case left care (its owner cleared): the agent of care sees it only through the task in care
    moved = module.views.get_case(who.admin, case["id"])
    assert (moved["department_id"], moved["owner_user_id"]) == (org.sales, None)


def test_the_work_list_orders_by_due_time_and_pages(services, world):
    org, who, module, clock, case = world
    due = [clock.now.replace(hour=h) for h in (15, 11, 13)]
    made = [module.tasks.do_add_task(who.agent_care, case["id"], title=f"t{i}", department_id=org.care, due_at=d)
            for i, d in enumerate(due)]
    # the case itself: first response due at 10:00 (60 business minutes, always open)
    page = module.views.department_work(who.agent_care, org.care, limit=2)
    assert [(i["kind"], i["id"]) for i in page["items"]] == [("case", case["id"]), ("task", made[1]["id"])]
    rest = module.views.department_work(who.agent_care, org.care, limit=5, cursor=page["next"])
    assert [i["id"] for i in rest["items"]] == [made[2]["id"], made[0]["id"]] and rest["next"] is None
    module.tasks.do_transition_task(who.agent_care, made[1]["id"], "done")
    ids = [i["id"] for i in module.views.department_work(who.agent_care, org.care)["items"] if i["kind"] == "task"]
    assert ids == [made[2]["id"], made[0]["id"]]
    with pytest.raises(InvalidInput):
        module.views.department_work(who.agent_care, org.care, cursor="garbage!")
    with pytest.raises(NotFound):
        module.views.department_work(who.agent_care, 999)


def test_sla_warning_and_breach_fire_once_and_escalate(services, world, recorder):
    org, who, module, clock, _ = world
    escalating = {**SIMPLE_TYPE, "key": "urgent_refund", "sla": {
        "resolution_min": 60, "task_min": 30, "warn_fraction": 0.5,
        "escalation": [{"on": "warning", "action": "raise_priority", "by": 1},
                       {"on": "breached", "action": "escalate", "department_id": org.sales}]}}
    module.types.do_create_type(who.admin, escalating)
    case = module.cases.do_create_case(who.agent_care, case_type="urgent_refund", title="Urgente",
                                       fields={"refund_amount": 10}, priority="normal")
    task = module.tasks.do_add_task(who.agent_care, case["id"], title="Controllo", department_id=org.care)
    assert module.sla.run_once() == 0
    clock.advance(minutes=16)  # task warning (15 min)
    module.sla.run_once()
    clock.advance(minutes=16)  # task breached (30), case warning (30)
    module.sla.run_once()
    module.sla.run_once()
    clock.advance(minutes=30)  # case breached (60)
    module.sla.run_once()
    clock.advance(hours=5)
    module.sla.run_once()
    module.sla.run_once()
    sla_events = [(e.type, e.payload.get("task_id")) for e in recorder.events if ".sla_" in e.type
                  and e.type.endswith(("warning", "breached")) and e.payload["case_id"] == case["id"]]
    assert sorted(sla_events, key=str) == sorted([
        ("task.sla_warning", task["id"]), ("task.sla_breached", task["id"]),
        ("case.sla_warning", None), ("case.sla_breached", None)], key=str)
    after = module.views.get_case(who.admin, case["id"])
    assert after["priority"] == "urgent"  # raised once by the case warning, once by the task warning
    assert after["department_id"] == org.sales
    assert after["tasks"][0]["department_id"] == org.sales
    assert {h["actor"] for h in after["handoffs"]} == {"sla"}
    assert {h["reason"] for h in after["handoffs"]} == {"sla_breached"}


def test_a_finished_task_stops_its_sla(services, world, recorder):
    org, who, module, clock, case = world
    task = module.tasks.do_add_task(who.agent_care, case["id"], title="Rapido", department_id=org.care)
    module.tasks.do_transition_task(who.agent_care, task["id"], "done")
    clock.advance(hours=4)
    module.sla.run_once()
    assert not [e for e in recorder.events if e.type.startswith("task.sla_")]
    assert [e.payload["kind"] for e in recorder.events if e.type == "case.sla_breached"] == ["first_response"]


def test_the_sla_worker_loop_runs_the_case_clock(services, world, recorder):
    from centralino.workers.sla import sla_loop_for

    _, _, _, clock, case = world
    loop = sla_loop_for(services)
    assert services.cases is not None and services.cases.sla.run_once in loop.others
    services.cases.sla.clock = lambda: clock.now.replace(year=2027)  # long after every target
    assert loop.run_once() is False  # not a full batch
    breached = {e.payload["kind"] for e in recorder.events if e.type == "case.sla_breached"
                and e.payload["case_id"] == case["id"]}
    assert breached == {"first_response", "resolution"}
    loop.run_once()
    assert len([e for e in recorder.events if e.type == "case.sla_breached"]) == 2


def test_task_updates_assignment_and_scope(services, world, recorder):
    org, who, module, clock, case = world
    task = module.tasks.do_add_task(who.agent_care, case["id"], title="Chiamare il corriere", department_id=org.care)
    with pytest.raises(NotFound):
        module.views.get_task(who.agent_sales, task["id"])
    with pytest.raises(NotFound):
        module.tasks.do_transition_task(who.agent_sales, task["id"], "done")
    due = clock.now.replace(hour=17)
    updated = module.tasks.do_update_task(who.agent_care, task["id"], {
        "due_at": due, "checklist": [{"text": "Tracking", "done": True}], "assignee_user_id": org.agent_care})
    assert (updated["due_at"], updated["sla_due_at"], updated["work_due_at"]) == (due, due, due)
    assert updated["checklist"] == [{"text": "Tracking", "done": True}]
    with pytest.raises(InvalidInput) as err:
        module.tasks.do_update_task(who.agent_care, task["id"], {"department_id": org.sales})
    assert err.value.field == "department_id"  # departments change by escalation, with a reason
    assigned = next(e.payload for e in recorder.events if e.type == "task.assigned")
    assert (assigned["task_id"], assigned["assignee_user_id"], assigned["contact_id"]) == (
        task["id"], org.agent_care, case["contact_id"])
    # a task assigned to a sales agent (no department) makes the case visible to that agent
    personal = module.tasks.do_add_task(who.supervisor, case["id"], title="Richiamare", assignee_user_id=org.agent_sales)
    assert module.views.get_task(who.agent_sales, personal["id"])["case_number"] == case["number"]
    with pytest.raises(InvalidInput):
        module.tasks.do_update_task(who.agent_sales, personal["id"], {"assignee_user_id": None})


def test_a_reopened_task_returns_to_the_work_list_and_dependencies_can_be_removed(services, world):
    org, who, module, _, case = world
    first = module.tasks.do_add_task(who.agent_care, case["id"], title="Uno", department_id=org.care)
    second = module.tasks.do_add_task(who.agent_care, case["id"], title="Due", department_id=org.care,
                                      depends_on=[first["id"]])
    module.tasks.do_remove_dependency(who.agent_care, second["id"], first["id"])
    with pytest.raises(NotFound):
        module.tasks.do_remove_dependency(who.agent_care, second["id"], first["id"])
    module.tasks.do_transition_task(who.agent_care, second["id"], "done")

    def task_ids():
        return [i["id"] for i in module.views.department_work(who.agent_care, org.care)["items"] if i["kind"] == "task"]

    assert task_ids() == [first["id"]]
    module.tasks.do_transition_task(who.agent_care, second["id"], "open")
    assert sorted(task_ids()) == [first["id"], second["id"]]
    with pytest.raises(Conflict):
        module.tasks.do_escalate_task(who.agent_care, first["id"], org.care, "stesso reparto")


def test_task_lists_are_scoped_filtered_and_paged(services, world):
    org, who, module, _, case = world
    mine = [module.tasks.do_add_task(who.supervisor, case["id"], title=f"Mio {i}", department_id=org.care,
                                     assignee_user_id=org.agent_care) for i in range(3)]
    theirs = module.tasks.do_add_task(who.supervisor, case["id"], title="Loro", department_id=org.care)
    first = module.views.list_tasks(who.agent_care, assignee_user_id=org.agent_care, limit=2)
    assert [t["id"] for t in first["items"]] == [mine[2]["id"], mine[1]["id"]]
    rest = module.views.list_tasks(who.agent_care, assignee_user_id=org.agent_care, cursor=first["next"])
    assert [t["id"] for t in rest["items"]] == [mine[0]["id"]] and rest["next"] is None
    of_case = [t["id"] for t in module.views.list_tasks(who.agent_care, case_id=case["id"])["items"]]
    assert of_case == [theirs["id"], *(m["id"] for m in reversed(mine))]
    assert module.views.list_tasks(who.agent_sales)["items"] == []  # none of their cases
    module.tasks.do_transition_task(who.agent_care, mine[0]["id"], "done")
    assert [t["id"] for t in module.views.list_tasks(who.admin, status=["done"])["items"]] == [mine[0]["id"]]


def test_two_sla_clocks_at_once_fire_each_event_once(services, world, recorder):
    import threading

    org, who, module, clock, _ = world
    for i in range(6):
        case = module.cases.do_create_case(who.agent_care, case_type="refund_test", title=f"Rimborso {i}",
                                           fields={"refund_amount": 5})
        module.tasks.do_add_task(who.agent_care, case["id"], title="Controllo", department_id=org.care)
    clock.advance(days=2)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            while module.sla.run_once():
                pass
        except BaseException as err:  # reported below
            errors.append(err)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    module.sla.run_once()  # anything a clock skipped while the other held its case
    assert errors == []
    fired = [(e.type, e.payload["timer_id"]) for e in recorder.events if e.type.endswith(("sla_warning", "sla_breached"))]
    assert len(fired) == len(set(fired))
    # 7 cases x (first response + resolution) + 6 tasks, each warned and breached once
    assert len(fired) == 2 * (7 * 2 + 6)

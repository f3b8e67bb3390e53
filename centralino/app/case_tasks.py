"""Tasks on a case: add one (to a department's queue and/or a person, with a due time, a checklist and the
tasks it depends on), update it, move it through its statuses (dependencies enforced), escalate it to another
department. Events carry case_id, contact_id, task_id and actor. docs/cases.md."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, update

from centralino.app.case_handoffs import (
    check_department,
    check_reason,
    move_task,
    task_ref,
    task_work_columns,
)
from centralino.app.case_sla import set_task_timer, stop_timers
from centralino.app.case_types import load_case_type
from centralino.app.cases import check_due, check_user, visible_case
from centralino.app.unit_of_work import unit_of_work
from centralino.domain.access import Principal
from centralino.domain.case_tasks import TaskStatus, check_checklist, check_task_transition, creates_cycle
from centralino.domain.cases import check_title
from centralino.errors import Conflict, InvalidInput, NotFound
from centralino.events.bus import EventBus
from centralino.storage import cases as repo
from centralino.storage.tables_cases import task_dependencies, tasks

MAX_DEPENDENCIES = 50


def _utcnow() -> datetime:
    return datetime.now(UTC)


def visible_task(conn: Connection, principal: Principal, task_id: int, *, lock: bool = False) -> tuple[Any, Any]:
    """(task, case): a task is visible with its case; otherwise 404."""
    task = repo.task_row(conn, task_id, lock=lock)
    if task is None or not repo.is_case_visible(conn, principal, int(task["case_id"])):
        raise NotFound(f"no task {task_id}", field="task_id")
    return task, repo.case_row(conn, int(task["case_id"]))


class TaskService:
    def __init__(self, engine: Engine, bus: EventBus | None, *, clock: Callable[[], datetime] = _utcnow) -> None:
        self.engine = engine
        self.bus = bus
        self.clock = clock

    def do_add_task(self, principal: Principal, case_id: int, *, title: str, department_id: int | None = None,
                    assignee_user_id: int | None = None, due_at: datetime | str | None = None,
                    checklist: list[Any] | None = None, depends_on: Sequence[int] = ()) -> dict[str, Any]:
        """A task for a department's queue and/or a person (at least one). Without a due time the case type's
        task target (business time) sets its SLA."""
        clean_title = check_title(title)
        items = check_checklist(checklist or [])
        due = check_due(due_at)
        if len(depends_on) > MAX_DEPENDENCIES:
            raise InvalidInput(f"at most {MAX_DEPENDENCIES} dependencies", field="depends_on")
        now = self.clock()
        with unit_of_work(self.engine, self.bus) as uow:
            conn = uow.conn
            case = visible_case(conn, principal, case_id, lock=True)
            if department_id is None and assignee_user_id is None:
                raise InvalidInput("a task goes to a department or a person", field="department_id")
            if department_id is not None:
                check_department(conn, department_id)
            if assignee_user_id is not None:
                check_user(conn, assignee_user_id, "assignee_user_id")
            siblings = {int(t["id"]) for t in repo.tasks_of(conn, case_id)}
            for i, other in enumerate(depends_on):
                if other not in siblings:
                    raise InvalidInput(f"no task {other} on this case", field=f"depends_on[{i}]")
            task_id = int(conn.execute(insert(tasks).values(
                case_id=case_id, title=clean_title, department_id=department_id, assignee_user_id=assignee_user_id,
                due_at=due, checklist=items, status=TaskStatus.OPEN.value, created_by=principal.actor,
                created_at=now, updated_at=now, **task_work_columns(department_id, TaskStatus.OPEN.value, due))
                .returning(tasks.c.id)).scalar_one())
            if depends_on:
                conn.execute(insert(task_dependencies), [{"task_id": task_id, "depends_on_task_id": other}
                                                         for other in dict.fromkeys(depends_on)])
            task = repo.task_row(conn, task_id)
            set_task_timer(conn, task, load_case_type(conn, int(case["case_type_id"])).sla, now)
            uow.emit("task.created", **task_ref(task, case["contact_id"]), title=clean_title,
                     department_id=department_id, assignee_user_id=assignee_user_id,
                     depends_on=sorted(set(depends_on)), actor=principal.actor)
            return dict(repo.task_row(conn, task_id))

    def do_update_task(self, principal: Principal, task_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        """Title, due_at (moves its SLA timer), checklist, and assignee_user_id (task.assigned). The department
        changes by escalation (a hand-off with a reason)."""
        allowed = ("title", "due_at", "checklist", "assignee_user_id")
        unknown = sorted(set(changes) - set(allowed))
        if unknown:
            raise InvalidInput(f"{unknown[0]} cannot be changed here; changeable: {', '.join(allowed)}",
                               field=unknown[0])
        now = self.clock()
        with unit_of_work(self.engine, self.bus) as uow:
            conn = uow.conn
            task, case = visible_task(conn, principal, task_id, lock=True)
            values: dict[str, Any] = {}
            if "title" in changes:
                values["title"] = check_title(changes["title"])
            if "due_at" in changes:
                values["due_at"] = check_due(changes["due_at"])
            if "checklist" in changes:
                values["checklist"] = check_checklist(changes["checklist"])
            if "assignee_user_id" in changes and changes["assignee_user_id"] is not None:
                values["assignee_user_id"] = check_user(conn, changes["assignee_user_id"], "assignee_user_id")
            elif "assignee_user_id" in changes:
                if task["department_id"] is None:
                    raise InvalidInput("a task without a department keeps its person", field="assignee_user_id")
                values["assignee_user_id"] = None
            changed = {k: v for k, v in values.items() if v != task[k]}
            if not changed:
                return dict(task)
            conn.execute(update(tasks).where(tasks.c.id == task_id).values(
                **changed, updated_at=now, **task_work_columns(task["department_id"], task["status"],
                                                               task["sla_due_at"] or task["due_at"])))
            fresh = repo.task_row(conn, task_id)
            if "due_at" in changed and not TaskStatus(task["status"]).finished:
                set_task_timer(conn, fresh, load_case_type(conn, int(case["case_type_id"])).sla, now)
            ref = task_ref(task, case["contact_id"])
            if "assignee_user_id" in changed:
                uow.emit("task.assigned", **ref, assignee_user_id=changed["assignee_user_id"],
                         department_id=task["department_id"], actor=principal.actor)
            rest = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in changed.items()
                    if k != "assignee_user_id"}
            if rest:
                uow.emit("task.updated", **ref, changes=rest, actor=principal.actor)
            return dict(repo.task_row(conn, task_id))  # with the SLA due time the timer just moved

    def do_transition_task(self, principal: Principal, task_id: int, to_status: str) -> dict[str, Any]:
        """open ⇄ in_progress ⇄ blocked → done | cancelled, reopen from done/cancelled. Starting or finishing
        waits for the tasks it depends on (409 task.dependencies_pending)."""
        target = TaskStatus.parse(to_status)
        now = self.clock()
        with unit_of_work(self.engine, self.bus) as uow:
            conn = uow.conn
            task, case = visible_task(conn, principal, task_id, lock=True)
            current = TaskStatus(task["status"])
            check_task_transition(current, target, repo.dependency_statuses(conn, task_id))
            values: dict[str, Any] = {"status": target.value, "updated_at": now,
                                      **task_work_columns(task["department_id"], target.value,
                                                          task["sla_due_at"] or task["due_at"])}
            if target is TaskStatus.IN_PROGRESS and task["started_at"] is None:
                values["started_at"] = now
            values["finished_at"] = now if target.finished else None
            conn.execute(update(tasks).where(tasks.c.id == task_id).values(**values))
            if target.finished:
                stop_timers(conn, [f"task:{task_id}"], now)
            elif current.finished:  # reopened: its clock runs again towards the same due time
                set_task_timer(conn, repo.task_row(conn, task_id),
                               load_case_type(conn, int(case["case_type_id"])).sla, now)
            uow.emit("task.status_changed", **task_ref(task, case["contact_id"]),
                     **{"from": current.value, "to": target.value}, actor=principal.actor)
            return dict(repo.task_row(conn, task_id))

    def do_escalate_task(self, principal: Principal, task_id: int, to_department_id: int,
                         reason: str) -> dict[str, Any]:
        """The task goes to another department's queue (assignee cleared) with a reason; returns the hand-off."""
        why = check_reason(reason)
        now = self.clock()
        with unit_of_work(self.engine, self.bus) as uow:
            task, case = visible_task(uow.conn, principal, task_id, lock=True)
            check_department(uow.conn, to_department_id, "to_department_id")
            if to_department_id == task["department_id"]:
                raise Conflict("the task is already in that department", code="task.same_department",
                               field="to_department_id")
            if TaskStatus(task["status"]).finished:
                raise Conflict("a finished task is not escalated; reopen it first", code="task.finished",
                               field="status")
            return move_task(uow, task, case["contact_id"], to_department_id, reason=why, actor=principal.actor,
                             by_user_id=principal.user_id, now=now)

    def do_add_dependency(self, principal: Principal, task_id: int, depends_on_task_id: int) -> None:
        """`task_id` waits for `depends_on_task_id` (same case; 409 task.dependency_cycle when it would loop)."""
        with unit_of_work(self.engine, self.bus) as uow:
            conn = uow.conn
            task, case = visible_task(conn, principal, task_id, lock=True)
            other = repo.task_row(conn, depends_on_task_id)
            if other is None or other["case_id"] != task["case_id"]:
                raise InvalidInput(f"no task {depends_on_task_id} on this case", field="depends_on_task_id")
            edges = repo.dependency_edges(conn, int(task["case_id"]))
            if (task_id, depends_on_task_id) in edges:
                return
            if creates_cycle(edges, task_id, depends_on_task_id):
                raise Conflict(f"task {depends_on_task_id} already waits for task {task_id}",
                               code="task.dependency_cycle", field="depends_on_task_id")
            conn.execute(insert(task_dependencies).values(task_id=task_id, depends_on_task_id=depends_on_task_id))
            uow.emit("task.dependency_added", **task_ref(task, case["contact_id"]),
                     depends_on_task_id=depends_on_task_id, actor=principal.actor)

    def do_remove_dependency(self, principal: Principal, task_id: int, depends_on_task_id: int) -> None:
        with unit_of_work(self.engine, self.bus) as uow:
            task, case = visible_task(uow.conn, principal, task_id, lock=True)
            d = task_dependencies.c
            if not uow.conn.execute(delete(task_dependencies).where(
                    d.task_id == task_id, d.depends_on_task_id == depends_on_task_id)).rowcount:
                raise NotFound(f"task {task_id} does not wait for task {depends_on_task_id}",
                               field="depends_on_task_id")
            uow.emit("task.dependency_removed", **task_ref(task, case["contact_id"]),
                     depends_on_task_id=depends_on_task_id, actor=principal.actor)


"""What cases and tasks share: the event payloads of the contract (case_id, contact_id, task_id, actor), the
work-list columns, and moving work to another department with a hand-off record (used by escalation,
reassignment and the SLA's escalate action). Runs inside the caller's unit of work."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from centralino.app.unit_of_work import UnitOfWork
from centralino.domain.case_tasks import FINISHED
from centralino.errors import InvalidInput
from centralino.storage import cases as repo
from centralino.storage.tables import departments
from centralino.storage.tables_cases import cases, tasks


def case_ref(case: Any) -> dict[str, Any]:
    """The keys every case event carries."""
    return {"case_id": int(case["id"]), "contact_id": case["contact_id"], "number": case["number"]}


def task_ref(task: Any, contact_id: int | None) -> dict[str, Any]:
    return {"case_id": int(task["case_id"]), "contact_id": contact_id, "task_id": int(task["id"])}


def case_work_due(due_at: datetime | None, first_response_due_at: datetime | None,
                  first_responded_at: datetime | None, resolution_due_at: datetime | None) -> datetime:
    """The earliest of what the case must meet: its due date and its running SLA due times."""
    candidates = [d for d in (due_at, resolution_due_at) if d is not None]
    if first_response_due_at is not None and first_responded_at is None:
        candidates.append(first_response_due_at)
    return min(candidates, default=repo.NO_DUE)


def refresh_case_work(conn: Connection, case_id: int) -> None:
    """Recompute the work-list columns after a change of status, department, due date or SLA."""
    c = repo.case_row(conn, case_id)
    conn.execute(update(cases).where(cases.c.id == case_id).values(
        open_department_id=c["department_id"] if c["closed_at"] is None else None,
        work_due_at=case_work_due(c["due_at"], c["first_response_due_at"], c["first_responded_at"],
                                  c["resolution_due_at"])))


def task_work_columns(department_id: int | None, status: str, due_at: datetime | None) -> dict[str, Any]:
    """`due_at`: the task's SLA due time (its own due time, or the type's task target)."""
    return {"open_department_id": department_id if status not in FINISHED else None,
            "work_due_at": due_at or repo.NO_DUE}


def check_department(conn: Connection, department_id: object, field: str = "department_id") -> int:
    if isinstance(department_id, bool) or not isinstance(department_id, int) or conn.execute(
            select(departments.c.id).where(departments.c.id == department_id)).scalar() is None:
        raise InvalidInput(f"no department {department_id}", field=field)
    return department_id


def check_reason(reason: object) -> str:
    if not isinstance(reason, str) or not reason.strip() or len(reason) > 2000:
        raise InvalidInput("say why (1 to 2000 characters)", field="reason")
    return reason.strip()


def move_case(uow: UnitOfWork, case: Any, to_department_id: int | None, *, reason: str, actor: str,
              by_user_id: int | None, now: datetime, event: str = "case.escalated") -> dict[str, Any]:
    """The case goes to another department's queue (its owner cleared: the receiving department picks it up);
    the hand-off records how long the previous department held it. Emits `event` (case.escalated, or
    case.assigned for a plain reassignment)."""
    conn = uow.conn
    since = repo.held_since(conn, int(case["id"]), None, case["created_at"])
    held = max(0, int((now - since).total_seconds()))
    handoff_id = repo.insert_handoff(conn, case_id=case["id"], task_id=None,
                                     from_department_id=case["department_id"], to_department_id=to_department_id,
                                     by_user_id=by_user_id, actor=actor, reason=reason, at=now, held_seconds=held)
    owner = None if event == "case.escalated" else case["owner_user_id"]
    conn.execute(update(cases).where(cases.c.id == case["id"]).values(
        department_id=to_department_id, owner_user_id=owner, updated_at=now))
    refresh_case_work(conn, int(case["id"]))
    details = {"from_department_id": case["department_id"], "to_department_id": to_department_id,
               "held_seconds": held, "handoff_id": handoff_id}
    if event == "case.escalated":
        uow.emit("case.escalated", **case_ref(case), **details, reason=reason, by=actor, actor=actor)
    else:
        uow.emit("case.assigned", **case_ref(case), owner_user_id=owner, department_id=to_department_id,
                 **details, reason=reason, actor=actor)
    return {"id": handoff_id, **details, "reason": reason, "at": now, "actor": actor}


def move_task(uow: UnitOfWork, task: Any, contact_id: int | None, to_department_id: int | None, *, reason: str,
              actor: str, by_user_id: int | None, now: datetime, event: str = "task.escalated",
              assignee_user_id: int | None = None) -> dict[str, Any]:
    """As move_case, for one task (task.escalated clears its assignee; task.assigned sets `assignee_user_id`)."""
    conn = uow.conn
    since = repo.held_since(conn, int(task["case_id"]), int(task["id"]), task["created_at"])
    held = max(0, int((now - since).total_seconds()))
    handoff_id = repo.insert_handoff(conn, case_id=task["case_id"], task_id=task["id"],
                                     from_department_id=task["department_id"], to_department_id=to_department_id,
                                     by_user_id=by_user_id, actor=actor, reason=reason, at=now, held_seconds=held)
    conn.execute(update(tasks).where(tasks.c.id == task["id"]).values(
        department_id=to_department_id, assignee_user_id=assignee_user_id, updated_at=now,
        **task_work_columns(to_department_id, task["status"], task["sla_due_at"] or task["due_at"])))
    details = {"from_department_id": task["department_id"], "to_department_id": to_department_id,
               "held_seconds": held, "handoff_id": handoff_id}
    if event == "task.escalated":
        uow.emit("task.escalated", **task_ref(task, contact_id), **details, reason=reason, by=actor, actor=actor)
    else:
        uow.emit("task.assigned", **task_ref(task, contact_id), assignee_user_id=assignee_user_id,
                 department_id=to_department_id, **details, reason=reason, actor=actor)
    return {"id": handoff_id, **details, "reason": reason, "at": now, "actor": actor}

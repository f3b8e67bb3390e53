"""Reading cases and tasks: one case with its links, tasks (and what they wait for) and hand-off history; case
search; a task; a department's work list (open cases and tasks by due time / SLA risk, keyset cursor). Every
read applies the visibility rule: out of scope is 404 or simply absent."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

from centralino.app.case_tasks import visible_task
from centralino.app.cases import visible_case
from centralino.domain.access import Principal, Role
from centralino.errors import InvalidInput, NotFound
from centralino.storage import cases as repo
from centralino.storage.tables import departments
from centralino.storage.tables_cases import case_sla_timers, case_types

MAX_PAGE = 200


def _out(row: Any) -> dict[str, Any]:
    out = dict(row)
    if out.get("work_due_at") == repo.NO_DUE:
        out["work_due_at"] = None
    out.pop("open_department_id", None)
    return out


def case_out(row: Any) -> dict[str, Any]:
    return _out(row)


def task_out(row: Any, depends_on: Sequence[int] = ()) -> dict[str, Any]:
    return {**_out(row), "depends_on": list(depends_on)}


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit is 1 to {MAX_PAGE}", field="limit")
    return limit


class CaseViews:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get_case(self, principal: Principal, case_id: int) -> dict[str, Any]:
        """The case with its type (key, names), links, tasks, hand-offs (who, when, why, how long each
        department held it) and SLA timers."""
        with self.engine.connect() as conn:
            case = visible_case(conn, principal, case_id)
            type_row = conn.execute(select(case_types.c.key, case_types.c.definition)
                                    .where(case_types.c.id == case["case_type_id"])).one()
            task_rows = repo.tasks_of(conn, case_id)
            deps = repo.dependencies_of(conn, [int(t["id"]) for t in task_rows])
            timers = conn.execute(select(case_sla_timers).where(case_sla_timers.c.case_id == case_id)
                                  .order_by(case_sla_timers.c.id)).mappings().all()
            return {
                **case_out(case),
                "case_type": {"key": type_row.key, "name": type_row.definition.get("name", {}),
                              "closed_statuses": type_row.definition["workflow"]["closed"],
                              "transitions": type_row.definition["workflow"]["transitions"].get(case["status"], [])},
                "links": [dict(r) for r in repo.links_of(conn, case_id)],
                "tasks": [task_out(t, deps.get(int(t["id"]), ())) for t in task_rows],
                "handoffs": [dict(r) for r in repo.handoffs_of(conn, case_id)],
                "sla": [{k: t[k] for k in ("id", "task_id", "kind", "warn_at", "due_at", "warned_at", "breached_at",
                                           "stopped_at")} for t in timers],
            }

    def get_case_by_number(self, principal: Principal, number: str) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = repo.case_by_number(conn, number)
        if row is None:
            raise NotFound(f"no case {number}", field="number")
        return self.get_case(principal, int(row["id"]))

    def get_task(self, principal: Principal, task_id: int) -> dict[str, Any]:
        with self.engine.connect() as conn:
            task, case = visible_task(conn, principal, task_id)
            deps = repo.dependencies_of(conn, [task_id])
            return {**task_out(task, deps.get(task_id, ())), "case_number": case["number"],
                    "contact_id": case["contact_id"]}

    def list_cases(self, principal: Principal, *, department_id: int | None = None, status: Sequence[str] = (),
                   case_type: str | None = None, owner_user_id: int | None = None, contact_id: int | None = None,
                   open_only: bool | None = None, q: str | None = None, cursor: str | None = None,
                   limit: int = 50) -> dict[str, Any]:
        """Newest first; `next` is the cursor of the following page (None at the end)."""
        check_limit(limit)
        before = _id_cursor(cursor)
        with self.engine.connect() as conn:
            type_id = None
            if case_type is not None:
                row = repo.case_type_by_key(conn, case_type)
                if row is None:
                    return {"items": [], "next": None}
                type_id = int(row["id"])
            rows = repo.search_cases(conn, principal, department_id=department_id, statuses=status,
                                     case_type_id=type_id, owner_user_id=owner_user_id, contact_id=contact_id,
                                     open_only=open_only, text=q, before_id=before, limit=limit + 1)
        items = [case_out(r) for r in rows[:limit]]
        return {"items": items, "next": str(items[-1]["id"]) if len(rows) > limit else None}

    def list_tasks(self, principal: Principal, *, assignee_user_id: int | None = None,
                   department_id: int | None = None, status: Sequence[str] = (), case_id: int | None = None,
                   cursor: str | None = None, limit: int = 50) -> dict[str, Any]:
        """Tasks of the cases the principal sees (e.g. `assignee_user_id` = me), newest first; `next` cursor."""
        check_limit(limit)
        before = _id_cursor(cursor)
        with self.engine.connect() as conn:
            rows = repo.search_tasks(conn, principal, assignee_user_id=assignee_user_id, department_id=department_id,
                                     statuses=status, case_id=case_id, before_id=before, limit=limit + 1)
            deps = repo.dependencies_of(conn, [int(r["id"]) for r in rows[:limit]])
        items = [task_out(r, deps.get(int(r["id"]), ())) for r in rows[:limit]]
        return {"items": items, "next": str(items[-1]["id"]) if len(rows) > limit else None}

    def department_work(self, principal: Principal, department_id: int, *, cursor: str | None = None,
                        limit: int = 50) -> dict[str, Any]:
        """The department's open cases and unfinished tasks, earliest due (own due time or SLA due) first —
        overdue work on top. Members (agents and supervisors) and administrators; others get 404."""
        check_limit(limit)
        after = decode_work_cursor(cursor)
        if principal.role is not Role.ADMIN and department_id not in principal.department_ids:
            raise NotFound(f"no department {department_id}", field="department_id")
        with self.engine.connect() as conn:
            rows = repo.department_work(conn, department_id, after=after, limit=limit + 1)
            if not rows and conn.execute(select(departments.c.id).where(departments.c.id == department_id)
                                         ).scalar() is None:  # only an empty list needs to tell "no such"
                raise NotFound(f"no department {department_id}", field="department_id")
        items = [{"kind": kind, **(case_out(row) if kind == "case" else task_out(row))} for kind, row in rows[:limit]]
        last = rows[limit - 1] if len(rows) > limit else None
        return {"items": items, "next": encode_work_cursor(last) if last is not None else None}


def _id_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        return int(cursor)
    except ValueError:
        raise InvalidInput("not a cursor this list gave", field="cursor") from None


def encode_work_cursor(item: tuple[str, Any]) -> str:
    kind, row = item
    raw = f"{row['work_due_at'].isoformat()}|{0 if kind == 'case' else 1}|{row['id']}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_work_cursor(cursor: str | None) -> repo.WorkKey | None:
    if not cursor:
        return None
    try:
        due, rank, row_id = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split("|")
        return datetime.fromisoformat(due), int(rank), int(row_id)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("not a cursor this list gave", field="cursor") from None

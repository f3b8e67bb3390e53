"""Queries for cases and tasks (tables_cases.py): the case number, rows by id, who sees what (the case
visibility rule as SQL), hand-offs, dependencies, and the lists (cases by filter; a department's open work by
due time) with keyset pagination."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    exists,
    false,
    func,
    insert,
    or_,
    select,
    true,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from centralino.domain.access import Principal, Role
from centralino.domain.case_tasks import FINISHED
from centralino.domain.cases import format_case_number
from centralino.storage.tables import department_members
from centralino.storage.tables_cases import (
    case_counters,
    case_links,
    case_types,
    cases,
    handoffs,
    task_dependencies,
    tasks,
)

# The work lists sort work without a due time last: a far-future instant keeps the column NOT NULL and indexed.
NO_DUE = datetime(9999, 12, 31, tzinfo=UTC)

ca, tk = cases.c, tasks.c


def next_case_number(conn: Connection, year: int) -> str:
    """The next number of `year`, taken in the caller's transaction: the counter row's UPDATE locks it until
    commit, so concurrent creators wait for each other and never share a number (a rollback gives it back)."""
    make = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    conn.execute(make(case_counters).values(year=year, last_value=0).on_conflict_do_nothing(index_elements=["year"]))
    conn.execute(update(case_counters).where(case_counters.c.year == year)
                 .values(last_value=case_counters.c.last_value + 1))
    value = conn.execute(select(case_counters.c.last_value).where(case_counters.c.year == year)).scalar_one()
    return format_case_number(year, int(value))


def case_type_row(conn: Connection, case_type_id: int) -> Any:
    return conn.execute(select(case_types).where(case_types.c.id == case_type_id)).mappings().first()


def case_type_by_key(conn: Connection, key: str) -> Any:
    return conn.execute(select(case_types).where(case_types.c.key == key)).mappings().first()


def case_row(conn: Connection, case_id: int, *, lock: bool = False) -> Any:
    stmt = select(cases).where(ca.id == case_id)
    return conn.execute(stmt.with_for_update() if lock else stmt).mappings().first()


def case_by_number(conn: Connection, number: str) -> Any:
    return conn.execute(select(cases).where(ca.number == number.strip().upper())).mappings().first()


def task_row(conn: Connection, task_id: int, *, lock: bool = False) -> Any:
    stmt = select(tasks).where(tk.id == task_id)
    return conn.execute(stmt.with_for_update() if lock else stmt).mappings().first()


def tasks_of(conn: Connection, case_id: int) -> list[Any]:
    return list(conn.execute(select(tasks).where(tk.case_id == case_id).order_by(tk.id)).mappings())


def links_of(conn: Connection, case_id: int) -> list[Any]:
    return list(conn.execute(select(case_links).where(case_links.c.case_id == case_id)
                             .order_by(case_links.c.id)).mappings())


def cases_linked_to(conn: Connection, kind: str, ref_ids: Sequence[int]) -> list[int]:
    if not ref_ids:
        return []
    cl = case_links.c
    return sorted({int(i) for i in conn.execute(select(cl.case_id).where(cl.kind == kind, cl.ref_id.in_(ref_ids)))
                   .scalars()})


# -- visibility ------------------------------------------------------------------------------------------------

def visible_cases(principal: Principal) -> ColumnElement[bool]:
    """Admins see every case. Agents see the cases of their departments, those they own, and those with a
    task in their departments or assigned to them; supervisors also the cases owned by their departments'
    members. Out of scope is not found (404)."""
    if principal.is_admin:
        return true()
    mine = sorted(principal.department_ids)
    conditions: list[ColumnElement[bool]] = []
    task_conditions: list[ColumnElement[bool]] = []
    if principal.user_id is not None:
        conditions.append(ca.owner_user_id == principal.user_id)
        task_conditions.append(tk.assignee_user_id == principal.user_id)
    if mine:
        conditions.append(ca.department_id.in_(mine))
        task_conditions.append(tk.department_id.in_(mine))
        if principal.role is Role.SUPERVISOR:
            members = select(department_members.c.user_id).where(department_members.c.department_id.in_(mine))
            conditions.append(ca.owner_user_id.in_(members))
    if task_conditions:
        conditions.append(exists().where(tk.case_id == ca.id, or_(*task_conditions)))
    return or_(*conditions) if conditions else false()


def is_case_visible(conn: Connection, principal: Principal, case_id: int) -> bool:
    return conn.execute(select(ca.id).where(ca.id == case_id, visible_cases(principal))).first() is not None


# -- hand-offs and dependencies --------------------------------------------------------------------------------

def held_since(conn: Connection, case_id: int, task_id: int | None, created_at: datetime) -> datetime:
    """When the current department got the case (task_id None) or the task: its last hand-off, else creation."""
    h = handoffs.c
    where = [h.case_id == case_id, h.task_id.is_(None) if task_id is None else h.task_id == task_id]
    last = conn.execute(select(h.at).where(*where).order_by(h.at.desc(), h.id.desc()).limit(1)).scalar()
    if last is None:
        return created_at
    return max(last, created_at)  # type: ignore[no-any-return]


def insert_handoff(conn: Connection, **values: Any) -> int:
    return int(conn.execute(insert(handoffs).values(**values).returning(handoffs.c.id)).scalar_one())


def handoffs_of(conn: Connection, case_id: int) -> list[Any]:
    return list(conn.execute(select(handoffs).where(handoffs.c.case_id == case_id)
                             .order_by(handoffs.c.at, handoffs.c.id)).mappings())


def dependency_statuses(conn: Connection, task_id: int) -> dict[int, str]:
    d = task_dependencies.c
    rows = conn.execute(select(tk.id, tk.status).join(task_dependencies, d.depends_on_task_id == tk.id)
                        .where(d.task_id == task_id))
    return {int(r.id): str(r.status) for r in rows}


def dependency_edges(conn: Connection, case_id: int) -> list[tuple[int, int]]:
    """Every (task, the task it depends on) among the case's tasks (dependencies never cross cases)."""
    d = task_dependencies.c
    rows = conn.execute(select(d.task_id, d.depends_on_task_id).join(tasks, tk.id == d.task_id)
                        .where(tk.case_id == case_id))
    return [(int(r.task_id), int(r.depends_on_task_id)) for r in rows]


def dependencies_of(conn: Connection, task_ids: Iterable[int]) -> dict[int, list[int]]:
    ids = sorted(set(task_ids))
    if not ids:
        return {}
    d = task_dependencies.c
    out: dict[int, list[int]] = {}
    for r in conn.execute(select(d.task_id, d.depends_on_task_id).where(d.task_id.in_(ids))
                          .order_by(d.depends_on_task_id)):
        out.setdefault(int(r.task_id), []).append(int(r.depends_on_task_id))
    return out


def open_task_count(conn: Connection, case_id: int) -> int:
    return int(conn.execute(select(func.count()).select_from(tasks)
                            .where(tk.case_id == case_id, tk.status.not_in(sorted(FINISHED)))).scalar_one())


# -- lists -----------------------------------------------------------------------------------------------------

def search_cases(conn: Connection, principal: Principal, *, department_id: int | None = None,
                 statuses: Sequence[str] = (), case_type_id: int | None = None, owner_user_id: int | None = None,
                 contact_id: int | None = None, open_only: bool | None = None, text: str | None = None,
                 before_id: int | None = None, limit: int = 50) -> list[Any]:
    """Newest first (by id), keyset-paginated: `before_id` is the last id of the previous page."""
    where: list[ColumnElement[bool]] = [visible_cases(principal)]
    if department_id is not None:
        where.append(ca.department_id == department_id)
    if statuses:
        where.append(ca.status.in_(list(statuses)))
    if case_type_id is not None:
        where.append(ca.case_type_id == case_type_id)
    if owner_user_id is not None:
        where.append(ca.owner_user_id == owner_user_id)
    if contact_id is not None:
        where.append(ca.contact_id == contact_id)
    if open_only is True:
        where.append(ca.closed_at.is_(None))
    elif open_only is False:
        where.append(ca.closed_at.is_not(None))
    if text:
        pattern = "%" + text.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where.append(or_(func.lower(ca.number).like(pattern, escape="\\"),
                         func.lower(ca.title).like(pattern, escape="\\")))
    if before_id is not None:
        where.append(ca.id < before_id)
    return list(conn.execute(select(cases).where(and_(*where)).order_by(ca.id.desc()).limit(limit)).mappings())


def search_tasks(conn: Connection, principal: Principal, *, assignee_user_id: int | None = None,
                 department_id: int | None = None, statuses: Sequence[str] = (), case_id: int | None = None,
                 before_id: int | None = None, limit: int = 50) -> list[Any]:
    """Tasks of visible cases, newest first (by id), keyset-paginated like search_cases."""
    where: list[ColumnElement[bool]] = [tk.case_id.in_(select(ca.id).where(visible_cases(principal)))
                                        if not principal.is_admin else true()]
    if assignee_user_id is not None:
        where.append(tk.assignee_user_id == assignee_user_id)
    if department_id is not None:
        where.append(tk.department_id == department_id)
    if statuses:
        where.append(tk.status.in_(list(statuses)))
    if case_id is not None:
        where.append(tk.case_id == case_id)
    if before_id is not None:
        where.append(tk.id < before_id)
    return list(conn.execute(select(tasks).where(and_(*where)).order_by(tk.id.desc()).limit(limit)).mappings())


WorkKey = tuple[datetime, int, int]  # (work_due_at, 0 case | 1 task, id)


def _after(column_due: Any, column_id: Any, rank: int, cursor: WorkKey | None) -> list[ColumnElement[bool]]:
    if cursor is None:
        return []
    due, cursor_rank, cursor_id = cursor
    if rank > cursor_rank:
        return [column_due >= due]
    if rank < cursor_rank:
        return [column_due > due]
    return [tuple_(column_due, column_id) > tuple_(due, cursor_id)]


def department_work(conn: Connection, department_id: int, *, after: WorkKey | None,
                    limit: int) -> list[tuple[str, Any]]:
    """The department's open cases and unfinished tasks, earliest due (or SLA due) first: two index range scans
    (ix_cases_work, ix_tasks_work) merged, at most `limit` items."""
    case_rows = conn.execute(select(cases).where(ca.open_department_id == department_id,
                                                 *_after(ca.work_due_at, ca.id, 0, after))
                             .order_by(ca.work_due_at, ca.id).limit(limit)).mappings().all()
    task_rows = conn.execute(select(tasks).where(tk.open_department_id == department_id,
                                                 *_after(tk.work_due_at, tk.id, 1, after))
                             .order_by(tk.work_due_at, tk.id).limit(limit)).mappings().all()
    merged = [("case", r) for r in case_rows] + [("task", r) for r in task_rows]
    merged.sort(key=lambda item: (item[1]["work_due_at"], 0 if item[0] == "case" else 1, item[1]["id"]))
    return merged[:limit]

"""Case and task events for the desk's live stream (live.py): each becomes a small item {type, case_id,
task_id?} heard only by the users who may see the case (its department, its tasks' departments, its owner and
the tasks' assignees, administrators: storage/cases.py visible_cases, read once per batch). The case page
re-reads itself when it hears its case."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from centralino.domain.access import Principal
from centralino.events.bus import Event
from centralino.storage.tables_cases import cases, tasks


def is_case_event(event_type: str) -> bool:
    return event_type.startswith(("case.", "task.")) and event_type != "case_type.saved"


@dataclass(frozen=True)
class CaseAudience:
    departments: frozenset[int]
    users: frozenset[int]

    def admits(self, principal: Principal) -> bool:
        return (principal.is_admin or bool(self.departments & principal.department_ids)
                or (principal.user_id is not None and principal.user_id in self.users))


def case_items(conn: Connection, events: Sequence[Event]) -> list[tuple[dict[str, Any], CaseAudience]]:
    ids = sorted({int(e.payload["case_id"]) for e in events if e.payload.get("case_id") is not None})
    if not ids:
        return []
    departments: dict[int, set[int]] = {i: set() for i in ids}
    users: dict[int, set[int]] = {i: set() for i in ids}
    for r in conn.execute(select(cases.c.id, cases.c.department_id, cases.c.owner_user_id).where(cases.c.id.in_(ids))):
        departments[int(r.id)].update(d for d in (r.department_id,) if d is not None)
        users[int(r.id)].update(u for u in (r.owner_user_id,) if u is not None)
    for r in conn.execute(select(tasks.c.case_id, tasks.c.department_id, tasks.c.assignee_user_id)
                          .where(tasks.c.case_id.in_(ids))):
        departments[int(r.case_id)].update(d for d in (r.department_id,) if d is not None)
        users[int(r.case_id)].update(u for u in (r.assignee_user_id,) if u is not None)
    out = []
    for event in events:
        p = event.payload
        if p.get("case_id") is None:
            continue
        case_id = int(p["case_id"])
        # the department it just left hears the hand-off too (its page and work view drop the item)
        left = {int(p[k]) for k in ("from_department_id",) if p.get(k) is not None}
        item: dict[str, Any] = {"type": event.type, "case_id": case_id}
        if p.get("task_id") is not None:
            item["task_id"] = int(p["task_id"])
        out.append((item, CaseAudience(frozenset(departments[case_id] | left), frozenset(users[case_id]))))
    return out

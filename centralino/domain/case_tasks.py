"""Tasks on a case: statuses, which changes are allowed, dependencies (a task cannot start or be done before
the tasks it depends on are done; no cycles) and the checklist. Pure rules (docs/cases.md)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any

from centralino.errors import Conflict, InvalidInput

MAX_CHECKLIST = 50


class TaskStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    BLOCKED = "blocked"
    DONE = "done"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (TaskStatus.DONE, TaskStatus.CANCELLED)

    @classmethod
    def parse(cls, value: object, field: str = "status") -> TaskStatus:
        try:
            return cls(str(value))
        except ValueError:
            raise InvalidInput("status is open, in_progress, blocked, done or cancelled", field=field) from None


FINISHED = frozenset({TaskStatus.DONE.value, TaskStatus.CANCELLED.value})
UNFINISHED = tuple(s.value for s in TaskStatus if not s.finished)

# Any unfinished status may go to any other status; a finished task may only be reopened.
TASK_TRANSITIONS: Mapping[TaskStatus, frozenset[TaskStatus]] = {
    TaskStatus.OPEN: frozenset({TaskStatus.IN_PROGRESS, TaskStatus.BLOCKED, TaskStatus.DONE, TaskStatus.CANCELLED}),
    TaskStatus.IN_PROGRESS: frozenset({TaskStatus.OPEN, TaskStatus.BLOCKED, TaskStatus.DONE, TaskStatus.CANCELLED}),
    TaskStatus.BLOCKED: frozenset({TaskStatus.OPEN, TaskStatus.IN_PROGRESS, TaskStatus.DONE, TaskStatus.CANCELLED}),
    TaskStatus.DONE: frozenset({TaskStatus.OPEN}),
    TaskStatus.CANCELLED: frozenset({TaskStatus.OPEN}),
}
NEEDS_DEPENDENCIES_DONE = frozenset({TaskStatus.IN_PROGRESS, TaskStatus.DONE})


def check_task_transition(from_status: TaskStatus, to_status: TaskStatus,
                          dependencies: Mapping[int, str]) -> None:
    """`dependencies`: the status of each task this one depends on. A cancelled dependency no longer holds the
    task back (its work will not happen); any other unfinished one does."""
    if to_status not in TASK_TRANSITIONS[from_status]:
        names: dict[str, Any] = {"from": from_status.value, "to": to_status.value}
        raise Conflict(f"a task cannot go from {from_status.value} to {to_status.value}",
                       code="task.transition_not_allowed", field="status", **names)
    if to_status in NEEDS_DEPENDENCIES_DONE:
        waiting = sorted(task_id for task_id, status in dependencies.items() if status not in FINISHED)
        if waiting:
            raise Conflict(f"the task waits for tasks {', '.join(map(str, waiting))} to be done",
                           code="task.dependencies_pending", field="status", waiting_for=waiting)


def creates_cycle(edges: Iterable[tuple[int, int]], task_id: int, depends_on: int) -> bool:
    """Whether adding `task_id` → `depends_on` to `edges` (task, the task it depends on) closes a loop: that
    is, whether `task_id` is reachable from `depends_on` already (or they are the same task)."""
    if task_id == depends_on:
        return True
    after: dict[int, list[int]] = {}
    for source, target in edges:
        after.setdefault(source, []).append(target)
    seen, frontier = {depends_on}, [depends_on]
    while frontier:
        for target in after.get(frontier.pop(), ()):
            if target == task_id:
                return True
            if target not in seen:
                seen.add(target)
                frontier.append(target)
    return False


def check_checklist(value: object, field: str = "checklist") -> list[dict[str, Any]]:
    """[{"text": "Call the courier", "done": false}, …] (a plain string is an item not done)."""
    if not isinstance(value, list) or len(value) > MAX_CHECKLIST:
        raise InvalidInput(f"a checklist is a list of at most {MAX_CHECKLIST} items", field=field)
    items: list[dict[str, Any]] = []
    for i, entry in enumerate(value):
        if isinstance(entry, str):
            entry = {"text": entry, "done": False}
        if not isinstance(entry, Mapping):
            raise InvalidInput("an item is {text, done}", field=f"{field}[{i}]")
        text, done = entry.get("text"), entry.get("done", False)
        if not isinstance(text, str) or not text.strip() or len(text) > 300:
            raise InvalidInput("an item's text has 1 to 300 characters", field=f"{field}[{i}].text")
        if not isinstance(done, bool):
            raise InvalidInput("done is true or false", field=f"{field}[{i}].done")
        items.append({"text": text.strip(), "done": done})
    return items

"""Cases and tasks wired together (services.py: `services.cases`): the use cases share one clock, so tests
move time for all of them at once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine

from centralino.app.case_sla import CaseSlaClock, install_first_response
from centralino.app.case_tasks import TaskService
from centralino.app.case_types import CaseTypeAdmin
from centralino.app.case_views import CaseViews
from centralino.app.cases import CaseService
from centralino.events.bus import EventBus


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Cases:
    types: CaseTypeAdmin  # case types: list, create, update, deactivate (administrators)
    cases: CaseService  # do_create_case, do_update, do_transition, do_assign, do_link/unlink, do_escalate_case
    tasks: TaskService  # do_add_task, do_update_task, do_transition_task, do_escalate_task, dependencies
    views: CaseViews  # get_case, get_case_by_number, get_task, list_cases, department_work
    sla: CaseSlaClock  # run_once: warnings, breaches and escalation (workers/sla.py)


def install_cases(engine: Engine, bus: EventBus, *, clock: Callable[[], datetime] = _utcnow,
                  listen: bool = True) -> Cases:
    """`listen`: subscribe the in-transaction listener (an agent's reply on a linked conversation is the cases'
    first response); once per bus."""
    if listen:
        install_first_response(bus, clock)
    return Cases(types=CaseTypeAdmin(engine, bus, clock=clock), cases=CaseService(engine, bus, clock=clock),
                 tasks=TaskService(engine, bus, clock=clock), views=CaseViews(engine),
                 sla=CaseSlaClock(engine, bus, clock=clock))

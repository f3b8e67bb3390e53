"""SLA of cases and tasks, in business time of the case type's calendar: timers started and stopped with the
work (inside its transaction), and the clock that emits case.sla_warning / case.sla_breached /
task.sla_warning / task.sla_breached once per timer and runs the type's escalation actions
(workers/sla.py calls run_once beside the conversations' SLA clock). docs/cases.md."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, select, update

from centralino.app.case_handoffs import case_ref, move_case, move_task, refresh_case_work, task_ref
from centralino.app.case_types import load_case_type
from centralino.app.unit_of_work import UnitOfWork, unit_of_work
from centralino.domain.cases import CaseSla, Priority, SlaAction, SlaActionKind, SlaTrigger
from centralino.events.bus import Event, EventBus
from centralino.storage import cases as repo
from centralino.storage.sql import insert_ignore
from centralino.storage.tables_cases import case_links, case_sla_timers, cases, tasks

FIRST_RESPONSE, RESOLUTION, TASK = "first_response", "resolution", "task"


def _utcnow() -> datetime:
    return datetime.now(UTC)


def business_due(sla: CaseSla, start: datetime, minutes: int) -> tuple[datetime, datetime]:
    """(warn_at, due_at) `minutes` of business time after `start`."""
    calendar = sla.business_calendar()
    target = timedelta(minutes=minutes)
    return (calendar.add_business_time(start, target * sla.warn_fraction), calendar.add_business_time(start, target))


def start_timer(conn: Connection, *, key: str, case_id: int, task_id: int | None, kind: str, start: datetime,
                warn_at: datetime, due_at: datetime) -> None:
    insert_ignore(conn, case_sla_timers, {
        "timer_key": key, "case_id": case_id, "task_id": task_id, "kind": kind, "started_at": start,
        "warn_at": warn_at, "due_at": due_at, "next_check_at": min(warn_at, due_at)}, ["timer_key"])


def start_case_timers(conn: Connection, case_id: int, sla: CaseSla, now: datetime) -> dict[str, datetime | None]:
    """The new case's SLA due times (the columns of `cases`), its timers started."""
    out: dict[str, datetime | None] = {"first_response_due_at": None, "resolution_due_at": None}
    for kind, minutes in ((FIRST_RESPONSE, sla.first_response_min), (RESOLUTION, sla.resolution_min)):
        if minutes is None:
            continue
        warn_at, due_at = business_due(sla, now, minutes)
        start_timer(conn, key=f"case:{case_id}:{kind}", case_id=case_id, task_id=None, kind=kind, start=now,
                    warn_at=warn_at, due_at=due_at)
        out[f"{kind}_due_at"] = due_at
    return out


def task_due(sla: CaseSla, start: datetime, due_at: datetime | None) -> tuple[datetime, datetime] | None:
    """(warn_at, due_at) of a task: its own due time (warning at the same fraction of the wall-clock span), or
    the type's task target in business time; None: no SLA."""
    if due_at is not None:
        return start + (due_at - start) * sla.warn_fraction if due_at > start else due_at, due_at
    if sla.task_min is not None:
        return business_due(sla, start, sla.task_min)
    return None


def set_task_timer(conn: Connection, task: Any, sla: CaseSla, now: datetime) -> None:
    """Start (or move, when the due time changes) the task's timer. A moved timer keeps what already fired."""
    due = task_due(sla, task["created_at"], task["due_at"])
    key = f"task:{task['id']}"
    conn.execute(update(tasks).where(tasks.c.id == task["id"]).values(
        sla_due_at=due[1] if due else None, work_due_at=due[1] if due else repo.NO_DUE))
    if due is None:
        stop_timers(conn, [key], now)
        return
    warn_at, due_at = due
    existing = conn.execute(select(case_sla_timers).where(case_sla_timers.c.timer_key == key)).mappings().first()
    if existing is None:
        start_timer(conn, key=key, case_id=int(task["case_id"]), task_id=int(task["id"]), kind=TASK,
                    start=task["created_at"], warn_at=warn_at, due_at=due_at)
        return
    pending = [t for t, done in ((warn_at, existing["warned_at"]), (due_at, existing["breached_at"])) if done is None]
    conn.execute(update(case_sla_timers).where(case_sla_timers.c.id == existing["id"]).values(
        warn_at=warn_at, due_at=due_at, stopped_at=None,
        next_check_at=min(pending) if pending else None))


def stop_timers(conn: Connection, keys: list[str], now: datetime) -> None:
    t = case_sla_timers.c
    conn.execute(update(case_sla_timers).where(t.timer_key.in_(keys), t.stopped_at.is_(None))
                 .values(stopped_at=now, next_check_at=None))


def first_response_by_reply(uow: UnitOfWork, conversation_id: int, now: datetime) -> None:
    """An agent's reply on a linked conversation is the first response of its open cases that had none (one
    indexed lookup per agent message: ix_case_links_ref)."""
    ca = cases.c
    waiting = [int(i) for i in uow.conn.execute(
        select(ca.id).join(case_links, case_links.c.case_id == ca.id)
        .where(case_links.c.kind == "conversation", case_links.c.ref_id == conversation_id,
               ca.first_responded_at.is_(None), ca.closed_at.is_(None))).scalars()]
    for case_id in waiting:
        uow.conn.execute(update(cases).where(ca.id == case_id).values(first_responded_at=now))
        stop_timers(uow.conn, [f"case:{case_id}:{FIRST_RESPONSE}"], now)
        refresh_case_work(uow.conn, case_id)


def install_first_response(bus: EventBus, clock: Callable[[], datetime]) -> None:
    def on_queued(uow: UnitOfWork, event: Event) -> None:
        if str(event.payload.get("origin") or "").startswith("agent:") and event.payload.get("conversation_id"):
            first_response_by_reply(uow, int(event.payload["conversation_id"]), clock())
    bus.subscribe_in_transaction("message.queued", on_queued)


class CaseSlaClock:
    def __init__(self, engine: Engine, bus: EventBus | None, *, clock: Callable[[], datetime] = _utcnow,
                 batch: int = 200) -> None:
        self.engine = engine
        self.bus = bus
        self.clock = clock
        self.batch = batch

    def run_once(self) -> int:
        """Evaluate the timers whose warning or due time has come; how many were looked at.

        Locks are taken in the order the use cases take them — the case, then the task, then the timer — so the
        clock and an agent working on the same case wait for each other instead of deadlocking. On PostgreSQL a
        case that someone holds right now is skipped (SKIP LOCKED) and looked at on the next tick."""
        now = self.clock()
        t = case_sla_timers.c
        with unit_of_work(self.engine, self.bus) as uow:
            due = uow.conn.execute(select(t.id, t.case_id, t.task_id).where(t.next_check_at <= now)
                                   .order_by(t.next_check_at, t.id).limit(self.batch)).all()
            for timer_id, case_id, task_id in due:
                self._evaluate(uow, int(timer_id), int(case_id), task_id, now)
        return len(due)

    def _locked(self, uow: UnitOfWork, stmt: Any) -> Any:
        pg = uow.conn.dialect.name == "postgresql"
        return uow.conn.execute(stmt.with_for_update(skip_locked=pg)).mappings().first()

    def _evaluate(self, uow: UnitOfWork, timer_id: int, case_id: int, task_id: int | None, now: datetime) -> None:
        case = self._locked(uow, select(cases).where(cases.c.id == case_id))
        task = self._locked(uow, select(tasks).where(tasks.c.id == task_id)) if task_id is not None else None
        timer = self._locked(uow, select(case_sla_timers).where(case_sla_timers.c.id == timer_id,
                                                                case_sla_timers.c.next_check_at <= now))
        if case is None or timer is None or (task_id is not None and task is None):
            return  # held by someone else (next tick), or already dealt with
        fired: list[SlaTrigger] = []
        changes: dict[str, Any] = {}
        if timer["warned_at"] is None and now >= timer["warn_at"]:
            changes["warned_at"] = now
            fired.append(SlaTrigger.WARNING)
        if timer["breached_at"] is None and now >= timer["due_at"]:
            changes["breached_at"] = now
            fired.append(SlaTrigger.BREACHED)
        breached = timer["breached_at"] is not None or "breached_at" in changes
        changes["next_check_at"] = None if breached else timer["due_at"]
        uow.conn.execute(update(case_sla_timers).where(case_sla_timers.c.id == timer_id).values(**changes))
        if not fired:
            return
        sla = load_case_type(uow.conn, int(case["case_type_id"])).sla
        subject = "task" if task is not None else "case"
        ref = task_ref(task, case["contact_id"]) if task is not None else case_ref(case)
        for trigger in fired:
            uow.emit(f"{subject}.sla_{trigger.value}", **ref, kind=timer["kind"], timer_id=timer_id,
                     due_at=timer["due_at"].isoformat(), actor="sla")
            for action in (a for a in sla.escalation if a.on is trigger):
                self._act(uow, action, case, task, now)
                case = repo.case_row(uow.conn, case_id)  # the action may have changed it
                task = repo.task_row(uow.conn, task_id) if task_id is not None else None

    def _act(self, uow: UnitOfWork, action: SlaAction, case: Any, task: Any, now: datetime) -> None:
        reason = f"sla_{action.on.value}"
        if action.action is SlaActionKind.ESCALATE:
            if task is not None and task["department_id"] != action.department_id:
                move_task(uow, task, case["contact_id"], action.department_id, reason=reason, actor="sla",
                          by_user_id=None, now=now)
            elif task is None and case["department_id"] != action.department_id:
                move_case(uow, case, action.department_id, reason=reason, actor="sla", by_user_id=None, now=now)
        elif action.action is SlaActionKind.RAISE_PRIORITY:
            raised = Priority(case["priority"]).raised(action.by)
            if raised.value != case["priority"]:
                uow.conn.execute(update(cases).where(cases.c.id == case["id"]).values(priority=raised.value,
                                                                                       updated_at=now))
                refresh_case_work(uow.conn, int(case["id"]))
                uow.emit("case.updated", **case_ref(case), changes={"priority": raised.value}, actor="sla")
        ref = task_ref(task, case["contact_id"]) if task is not None else case_ref(case)
        uow.emit("case.sla_escalated" if task is None else "task.sla_escalated", **ref,
                 action=action.action.value, on=action.on.value, department_id=action.department_id, actor="sla")

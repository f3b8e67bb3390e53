"""The SLA clock: running timers whose warning or due time has come get sla.warning / sla.breached and the
policy's escalation actions, in one transaction per batch (workers/sla.py calls it; the clock is injectable)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, update

from centralino.app.unit_of_work import UnitOfWork, unit_of_work
from centralino.domain.sla import Escalation, EscalationKind, Trigger, parse_escalation
from centralino.events.bus import EventBus
from centralino.storage import service_levels as repo
from centralino.storage.tables_routing import routing_items
from centralino.storage.tables_service_levels import sla_policies, sla_timers

# Requeue belongs to routing (it owns the item and the agent's capacity): when it installs a handler here,
# the escalation calls it in the same transaction; without one, the sla.escalated event carries the request.
RequeueHandler = Callable[[UnitOfWork, int], None]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class SlaClock:
    def __init__(self, engine: Engine, bus: EventBus | None, *, clock: Callable[[], datetime] = _utcnow,
                 batch: int = 200) -> None:
        self.engine = engine
        self.bus = bus
        self.clock = clock
        self.batch = batch
        self.requeue: RequeueHandler | None = None

    def run_once(self) -> int:
        """Evaluate the timers due now; how many were looked at."""
        now = self.clock()
        with unit_of_work(self.engine, self.bus) as uow:
            due = repo.due_timers(uow.conn, now, self.batch)
            escalations = self._escalations(uow, {int(t["policy_id"]) for t in due})
            for timer in due:
                self._evaluate(uow, timer, escalations.get(int(timer["policy_id"]), ()), now)
        return len(due)

    def _evaluate(self, uow: UnitOfWork, timer: Any, escalation: tuple[Escalation, ...], now: datetime) -> None:
        changes: dict[str, Any] = {}
        fired: list[Trigger] = []
        if timer["warned_at"] is None and now >= timer["warn_at"]:
            changes["warned_at"] = now
            fired.append(Trigger.WARNING)
        if timer["breached_at"] is None and now >= timer["due_at"]:
            changes["breached_at"] = now
            fired.append(Trigger.BREACHED)
        # after the breach nothing more is due; the timer runs on until the reply/resolution stops it
        changes["next_check_at"] = None if timer["breached_at"] is not None or "breached_at" in changes \
            else timer["due_at"]
        uow.conn.execute(update(sla_timers).where(sla_timers.c.id == timer["id"]).values(**changes))
        details = {"timer_id": int(timer["id"]), "conversation_id": int(timer["conversation_id"]),
                   "queue_id": timer["queue_id"], "policy_id": int(timer["policy_id"]), "kind": timer["kind"],
                   "due_at": timer["due_at"].isoformat()}
        for trigger in fired:
            uow.emit(f"sla.{trigger.value}", **details)
            for action in (e for e in escalation if e.on is trigger):
                self._escalate(uow, action, details)

    def _escalate(self, uow: UnitOfWork, action: Escalation, details: dict[str, Any]) -> None:
        conversation_id = details["conversation_id"]
        if action.action is EscalationKind.RAISE_PRIORITY:
            uow.conn.execute(update(routing_items).where(routing_items.c.open_conversation_id == conversation_id)
                             .values(priority=routing_items.c.priority + action.by))
        elif action.action is EscalationKind.REQUEUE and self.requeue is not None:
            self.requeue(uow, conversation_id)
        uow.emit("sla.escalated", action=action.action.value, on=action.on.value, by=action.by, **details)

    @staticmethod
    def _escalations(uow: UnitOfWork, policy_ids: set[int]) -> dict[int, tuple[Escalation, ...]]:
        if not policy_ids:
            return {}
        p = sla_policies.c
        rows = uow.conn.execute(sla_policies.select().with_only_columns(p.id, p.escalation)
                                .where(p.id.in_(policy_ids))).all()
        return {int(r.id): parse_escalation(list(r.escalation or [])) for r in rows}

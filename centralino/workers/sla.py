"""The SLA loop: every few seconds the timers whose warning or due time has come are evaluated
(app/sla_timers.py). A target measured in minutes needs no finer tick."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from centralino.app.sla_timers import SlaClock
from centralino.app.unit_of_work import UnitOfWork
from centralino.services import Services
from centralino.storage import routing as routing_repo

log = logging.getLogger(__name__)

TICK_S = 2.0


class SlaLoop:
    def __init__(self, clock: SlaClock, *, tick_s: float = TICK_S,
                 others: Sequence[Callable[[], int]] = ()) -> None:
        self.clock = clock
        self.tick_s = tick_s
        self.others = list(others)  # more clocks on the same tick (cases and tasks: app/case_sla.py)

    def run_once(self) -> bool:
        """One pass of every clock (one failing does not hold the others back); whether one of them had a full
        batch (more may be due at once)."""
        full = False
        for run in (self.clock.run_once, *self.others):
            try:
                full = run() >= self.clock.batch or full
            except Exception:
                log.exception("evaluating SLA timers failed; retrying")
        return full

    async def run_forever(self) -> None:
        while True:
            full = await asyncio.to_thread(self.run_once)
            if not full:  # a full batch: more may be due at once
                await asyncio.sleep(self.tick_s)


def sla_loop_for(services: Services) -> SlaLoop:
    """The loop with routing's requeue as the requeue escalation (when routing is installed)."""
    clock = SlaClock(services.engine, services.bus)
    routing = services.routing.service if services.routing is not None else None
    if routing is not None:
        def requeue(uow: UnitOfWork, conversation_id: int) -> None:
            item = routing_repo.live_item(uow.conn, conversation_id, lock=True)
            if item is not None and item["assigned_to"] is not None:
                routing.requeue(uow, item, "sla_breached", exclude=False)
        clock.requeue = requeue
    others = [services.cases.sla.run_once] if services.cases is not None else []
    return SlaLoop(clock, tick_s=services.settings.sla_tick_s, others=others)

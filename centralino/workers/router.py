"""The router loop: a routing round whenever work arrives or an agent's presence changes, and at least every
`routing_poll_s` (offer timeouts and relaxation steps come due with time alone). Several processes may run it
at once against PostgreSQL (app/routing.py explains why no item is ever given twice)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from centralino.app.routing import RoutingService
from centralino.events.bus import Event, EventBus

log = logging.getLogger(__name__)

WAKE_EVENTS = ("routing.item_enqueued", "routing.item_requeued", "routing.item_closed", "agent.presence_changed",
               "agent.capacity_changed", "agent.skills_changed")


class RouterLoop:
    def __init__(self, service: RoutingService, bus: EventBus, poll_s: float) -> None:
        self.service = service
        self.bus = bus
        self.poll_s = poll_s
        self.wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def notify(self, _event: Event | None = None) -> None:
        """Called from whichever thread committed the event."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.wake.set)

    async def run_forever(self) -> None:
        self._loop = asyncio.get_running_loop()
        for event_type in WAKE_EVENTS:
            self.bus.subscribe(event_type, self.notify)
        try:
            while True:
                self.wake.clear()
                try:
                    assigned = await asyncio.to_thread(self.service.do_route_once)
                except Exception:
                    log.exception("routing round failed; retrying")
                    assigned = 0
                if assigned:
                    continue  # there may be more waiting than one round takes
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), self.poll_s)
        finally:
            for event_type in WAKE_EVENTS:
                self.bus.unsubscribe(event_type, self.notify)

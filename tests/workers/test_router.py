"""The router loop: woken by new work (no waiting for its poll), and by time alone for offer timeouts."""

from __future__ import annotations

import asyncio

from centralino.workers.router import RouterLoop
from tests.routing_helpers import build_center


def test_the_loop_routes_new_work_and_re_routes_expired_offers(services):
    center = build_center(services)
    queue = center.queue("general", offer_timeout_s=30)
    center.rule(queue)
    first = center.agent("first", {}, capacity=1)
    assert services.routing is not None
    loop = RouterLoop(services.routing.service, services.bus, poll_s=3600.0)  # only events wake it

    async def scenario() -> tuple[int | None, int | None, int]:
        task = asyncio.create_task(loop.run_forever())
        try:
            conversation = await asyncio.to_thread(center.customer_writes, "ciao")
            for _ in range(200):
                if center.assignee(conversation) is not None:
                    break
                await asyncio.sleep(0.02)
            given = center.assignee(conversation)
            second = await asyncio.to_thread(center.agent, "second", {}, capacity=1)  # wakes it: presence event
            center.clock.advance(31)
            loop.notify()
            for _ in range(200):
                if center.assignee(conversation) == second:
                    break
                await asyncio.sleep(0.02)
            return given, center.assignee(conversation), second
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    given, moved, second = asyncio.run(scenario())
    assert given == first
    assert moved == second  # the offer to `first` expired (clock moved past the timeout) and went on

"""Presence across web processes: "Anna is typing" announced to one process reaches a browser connected
to another through the Redis relay, only for who may see the conversation, and is never stored."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from centralino.domain.access import Principal, Role
from centralino.events.bus import EventBus
from centralino.events.relay import RedisRelay
from centralino.storage.tables import events
from centralino.web.desk.live import DeskEventHub
from tests.access_helpers import build_org
from tests.helpers import count
from tests.web.test_desk_relay import REDIS_UP, REDIS_URL

pytestmark = pytest.mark.skipif(not REDIS_UP, reason=f"Redis not reachable at {REDIS_URL}")


def test_presence_announced_to_one_process_reaches_the_browsers_of_another(services):
    org = build_org(services)
    channel = f"centralino:test:{uuid.uuid4().hex}"
    stored_before = count(services, events)

    async def scenario() -> tuple[list[dict], list[dict]]:
        # "web process A": the services' own bus, where the presence route publishes
        relay_a = RedisRelay(REDIS_URL, None, channel=channel)
        relay_a.start(services.bus)
        # "web process B": its hub hears A's events through Redis
        bus_b = EventBus()
        hub_b = DeskEventHub(services.engine)
        hub_b.start(bus_b)
        relay_b = RedisRelay(REDIS_URL, hub_b.hear, channel=channel)
        relay_b.start(bus_b)
        await asyncio.wait_for(relay_b.subscribed.wait(), 5)
        supervisor = hub_b.connect(Principal(Role.SUPERVISOR, org.supervisor, frozenset({org.care})))
        sales = hub_b.connect(Principal(Role.AGENT, org.agent_sales, frozenset({org.sales})))
        agent = Principal(Role.AGENT, org.agent_care, frozenset({org.care}))
        await asyncio.to_thread(services.desk.announce_presence, agent, org.care_conversation, "typing")
        got = await supervisor.next_items(5)
        await asyncio.sleep(0.3)
        got_sales = sales.take_items()
        await relay_b.stop()
        await relay_a.stop()
        await hub_b.stop()
        return got, got_sales

    got, got_sales = asyncio.run(scenario())
    assert got == [{"type": "desk.presence", "conversation_id": org.care_conversation, "user_id": org.agent_care,
                    "name": "agent_care", "state": "typing"}]
    assert got_sales == []
    assert count(services, events) == stored_before

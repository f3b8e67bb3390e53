"""Live updates across processes through Redis (events/relay.py): an event committed in one process
(a worker) reaches a browser connected to another (a web process), once, and only if it may see it."""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest
import redis

from centralino.domain.access import Principal, Role
from centralino.events.bus import Event, EventBus
from centralino.events.relay import RedisRelay
from centralino.web.desk.live import DeskEventHub
from tests.access_helpers import build_org

REDIS_URL = os.environ.get("CENTRALINO_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_up() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


REDIS_UP = redis_up()
pytestmark = pytest.mark.skipif(not REDIS_UP, reason=f"Redis not reachable at {REDIS_URL}")


def test_an_event_from_another_process_reaches_the_browsers_that_may_see_it(services):
    org = build_org(services)
    channel = f"centralino:test:{uuid.uuid4().hex}"

    async def scenario() -> tuple[list[dict], list[dict]]:
        worker_bus = EventBus()  # "the worker process": publishes only
        worker = RedisRelay(REDIS_URL, None, channel=channel)
        worker.start(worker_bus)
        web_bus = EventBus()  # "the web process": its hub hears the worker's events through Redis
        hub = DeskEventHub(services.engine)
        hub.start(web_bus)
        web = RedisRelay(REDIS_URL, hub.hear, channel=channel)
        web.start(web_bus)
        await asyncio.wait_for(web.subscribed.wait(), 5)
        care = hub.connect(Principal(Role.AGENT, org.agent_care, frozenset({org.care})))
        sales = hub.connect(Principal(Role.AGENT, org.agent_sales, frozenset({org.sales})))
        worker_bus.publish([Event("message.note_added", {"message_id": 1, "conversation_id": org.care_conversation})])
        web_bus.publish([Event("conversation.assigned", {"conversation_id": org.sales_conversation})])
        got_care = await care.next_items(5)
        got_sales = await sales.next_items(5)
        await asyncio.sleep(0.3)  # anything doubled (the web process's own event back from Redis) is here now
        got_care += care.take_items()
        got_sales += sales.take_items()
        await web.stop()
        await worker.stop()
        await hub.stop()
        return got_care, got_sales

    got_care, got_sales = asyncio.run(scenario())
    assert [(e["type"], e["conversation_id"]) for e in got_care] == [("message.note_added", org.care_conversation)]
    assert [(e["type"], e["conversation_id"]) for e in got_sales] == [
        ("conversation.assigned", org.sales_conversation)]


def test_events_go_over_redis_as_one_message_per_batch_and_single_events_are_still_heard():
    """A batch the bus publishes at once is one Redis message; a process of an earlier version sends one
    message per event, which a web process still understands (a rolling upgrade)."""
    channel = f"centralino:test:{uuid.uuid4().hex}"

    async def scenario() -> tuple[list[bytes], list[Event]]:
        heard: list[Event] = []
        raw: list[bytes] = []
        spy = redis.asyncio.Redis.from_url(REDIS_URL)
        async with spy.pubsub() as pubsub:
            await pubsub.subscribe(channel)
            listener = RedisRelay(REDIS_URL, heard.append, channel=channel)
            listener.start(EventBus())
            await asyncio.wait_for(listener.subscribed.wait(), 5)
            worker_bus = EventBus()
            worker = RedisRelay(REDIS_URL, None, channel=channel)
            worker.start(worker_bus)
            worker_bus.publish([Event("message.received", {"message_id": i, "conversation_id": 7}) for i in range(3)])
            old = redis.Redis.from_url(REDIS_URL)
            old.publish(channel, b'{"origin": "old", "type": "conversation.read", "payload": {"conversation_id": 7},'
                                 b' "occurred_at": "2026-11-25T10:00:00+00:00"}')
            old.close()
            while len(heard) < 4:
                await asyncio.sleep(0.05)
            for _ in range(10):  # what went over the channel (the subscription's confirmation reads as None)
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.2)
                if message is not None:
                    raw.append(message["data"])
            await worker.stop()
            await listener.stop()
        await spy.aclose()
        return raw, heard

    raw, heard = asyncio.run(asyncio.wait_for(scenario(), 20))
    assert len(raw) == 2  # the worker's three events in one message, and the old-style single event
    assert [(e.type, e.payload.get("message_id")) for e in heard if e.type == "message.received"] == [
        ("message.received", 0), ("message.received", 1), ("message.received", 2)]  # in order, within the batch
    assert [e.type for e in heard if e.type != "message.received"] == ["conversation.read"]

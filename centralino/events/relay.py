"""The event bus across processes: with `redis_url` set, every process publishes the events it commits
to one Redis channel, and a process that wants the others' events (a web process, for its desktop's
live updates) hands them to a sink (DeskEventHub.hear). So a browser connected to one process sees ticks
applied by another: a separate worker process, or a second web process behind a load balancer.

Publishing never blocks the thread that committed (the sender's event loop, a request thread): the bus
listener only queues, and one daemon thread publishes. Redis pub/sub is at-most-once: a message lost
while Redis restarts is not replayed; the page re-reads its view after a reconnect (docs/desk.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson
import redis
import redis.asyncio as aioredis

from centralino.events.bus import Event, EventBus

log = logging.getLogger(__name__)

CHANNEL = "centralino:desk-events"
_STOP = object()


class RedisRelay:
    def __init__(self, url: str, sink: Callable[[Event], None] | None, *, channel: str = CHANNEL) -> None:
        """`sink`: where events from other processes go (None: a process that only publishes)."""
        self.url = url
        self.sink = sink
        self.channel = channel
        self.origin = uuid.uuid4().hex  # this process: its own events already reached its hub via the bus
        self._outgoing: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._publisher: threading.Thread | None = None
        self._listener: asyncio.Task[None] | None = None
        self._bus: EventBus | None = None
        self.subscribed = asyncio.Event()

    def start(self, bus: EventBus) -> None:
        self._bus = bus
        bus.subscribe("*", self.offer)
        self._publisher = threading.Thread(target=self._publish_forever, name="desk-relay-publish", daemon=True)
        self._publisher.start()
        if self.sink is not None:
            self._listener = asyncio.create_task(self._listen_forever(), name="desk-relay-listen")

    async def stop(self) -> None:
        if self._bus is not None:
            self._bus.unsubscribe("*", self.offer)
        self._outgoing.put(_STOP)
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        if self._publisher is not None:
            await asyncio.to_thread(self._publisher.join, 5)

    def offer(self, event: Event) -> None:
        """The bus listener (any thread): queue, never wait."""
        self._outgoing.put(event)

    def _publish_forever(self) -> None:
        client = redis.Redis.from_url(self.url)
        while True:
            batch = [self._outgoing.get()]
            while len(batch) < 500:
                try:
                    batch.append(self._outgoing.get_nowait())
                except queue.Empty:
                    break
            stop = any(item is _STOP for item in batch)
            events = [item for item in batch if item is not _STOP]
            if events:
                try:
                    # one Redis message per batch: the listening side parses one message, not one per event
                    client.publish(self.channel, orjson.dumps({"origin": self.origin, "events": [
                        {"type": e.type, "payload": e.payload, "occurred_at": e.occurred_at.isoformat()}
                        for e in events]}))
                except Exception:  # Redis down, or an event that is not JSON: log, keep the thread alive
                    log.warning("desk relay: could not publish %d events to Redis", len(events), exc_info=True)
            if stop:
                client.close()
                return

    async def _listen_forever(self) -> None:
        assert self.sink is not None
        while True:
            client = aioredis.Redis.from_url(self.url)
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    self.subscribed.set()
                    async for message in pubsub.listen():
                        if message.get("type") != "message":
                            continue
                        item = orjson.loads(message["data"])
                        if item.get("origin") == self.origin:
                            continue
                        # a batch ({"events": [...]}), or one event as processes of earlier versions send it
                        for one in item.get("events", [item]):
                            self.sink(Event(type=one["type"], payload=one["payload"],
                                            occurred_at=datetime.fromisoformat(one["occurred_at"])))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("desk relay: Redis subscription lost; retrying in 1 s", exc_info=True)
                self.subscribed.clear()
                await asyncio.sleep(1)
            finally:
                await client.aclose()

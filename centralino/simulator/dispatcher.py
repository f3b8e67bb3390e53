"""The simulator's single background task: timed actions (status progression, template reviews)
and signed webhook POSTs, retried with backoff like Meta's.

Deliveries share a *lane* (one business number and one customer, or one WABA): a lane's POSTs go
one after the other, so with no failures a conversation's webhooks arrive in the order they were
produced; different lanes are posted concurrently. A failed POST is rescheduled and leaves its lane
(later deliveries do not wait for it — Meta does not wait either).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from centralino.simulator import payloads
from centralino.simulator.config import WebhookRetry
from centralino.simulator.signing import sign

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WebhookTarget:
    url: str
    app_secret: str


@dataclass
class Delivery:
    target: WebhookTarget
    body: bytes
    lane: str
    created: float = field(default_factory=time.monotonic)
    attempts: int = 0
    payload: dict[str, Any] | None = None  # set: may be merged with its neighbours into one POST


@dataclass(frozen=True)
class AttemptLog:
    url: str
    lane: str
    attempt: int
    outcome: str  # "200", "500", "ConnectError", "dropped"
    at: float
    bytes: int


@dataclass(order=True)
class _Timer:
    due: float
    seq: int
    action: Callable[[], None] | None = field(compare=False, default=None)
    delivery: Delivery | None = field(compare=False, default=None)


class WebhookDispatcher:
    def __init__(self, retry: WebhookRetry, *, concurrency: int = 16, batch_max: int = 1,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        """`batch_max` > 1: mergeable webhooks queue per callback URL, and whatever queued while the previous
        POST was in flight goes out as one POST of up to `batch_max` (like Meta under load).
        `transport`: how POSTs leave (default: the network); e.g. httpx.ASGITransport(app=product) to
        deliver webhooks in-process to an app the simulator is embedded in."""
        self.retry = retry
        self.batch_max = batch_max
        self.transport = transport
        self.concurrency = concurrency
        self.log: deque[AttemptLog] = deque(maxlen=1000)
        self.delivered = 0
        self.failed_attempts = 0
        self.dropped = 0
        self._timers: list[_Timer] = []
        self._seq = itertools.count()
        self._lanes: dict[str, deque[Delivery]] = {}
        self._busy: set[str] = set()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None
        self._semaphore: asyncio.Semaphore | None = None

    # -- producing work ------------------------------------------------------------------------

    def later(self, delay: float, action: Callable[[], None]) -> None:
        """Run `action` on the dispatcher after `delay` seconds (FIFO among equal due times)."""
        heapq.heappush(self._timers, _Timer(time.monotonic() + max(delay, 0.0), next(self._seq), action=action))
        self._poke()

    def post(self, target: WebhookTarget, body: bytes, lane: str, payload: dict[str, Any] | None = None) -> None:
        """Queue a signed POST of exactly these bytes (`payload`: their JSON, when they may be batched)."""
        if self.batch_max > 1 and payload is not None:
            self._push(Delivery(target, body, f"batch:{target.url}", payload=payload), 0.0)
        else:
            self._push(Delivery(target, body, lane), 0.0)

    @property
    def pending(self) -> int:
        return (len(self._timers) + sum(len(q) for q in self._lanes.values()) + len(self._in_flight))

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        """Start the background task on the running event loop (idempotent)."""
        if self.running:
            return
        self._wake = asyncio.Event()
        self._semaphore = asyncio.Semaphore(self.concurrency)
        self._client = httpx.AsyncClient(timeout=self.retry.timeout, transport=self.transport)
        self._task = asyncio.get_running_loop().create_task(self._run(), name="simulator-dispatcher")
        # Work for lanes queued before the start.
        for lane in list(self._lanes):
            self._drain_soon(lane)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        for flight in list(self._in_flight):
            flight.cancel()
        await asyncio.gather(*self._in_flight, return_exceptions=True)
        self._in_flight.clear()
        self._busy.clear()
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        if self.pending:
            log.warning("simulator stopped with %d webhook deliveries/actions not done", self.pending)

    def clear(self) -> None:
        """Forget queued work (control API reset)."""
        self._timers.clear()
        self._lanes.clear()

    # -- the loop ------------------------------------------------------------------------------

    def _poke(self) -> None:
        if self._wake is not None:
            self._wake.set()

    def _push(self, delivery: Delivery, delay: float) -> None:
        heapq.heappush(self._timers, _Timer(time.monotonic() + delay, next(self._seq), delivery=delivery))
        self._poke()

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            now = time.monotonic()
            while self._timers and self._timers[0].due <= now:
                timer = heapq.heappop(self._timers)
                if timer.action is not None:
                    try:
                        timer.action()
                    except Exception:
                        log.exception("simulator action failed")
                elif timer.delivery is not None:
                    self._lanes.setdefault(timer.delivery.lane, deque()).append(timer.delivery)
                    self._drain_soon(timer.delivery.lane)
            timeout = self._timers[0].due - time.monotonic() if self._timers else None
            self._wake.clear()
            if timeout is None or timeout > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout)

    def _drain_soon(self, lane: str) -> None:
        if lane in self._busy or not self.running:
            return
        self._busy.add(lane)
        task = asyncio.get_running_loop().create_task(self._drain(lane))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def _drain(self, lane: str) -> None:
        try:
            while queue := self._lanes.get(lane):
                delivery = queue.popleft()
                if delivery.payload is not None and queue and self.batch_max > 1:
                    delivery = self._merged(delivery, queue)
                if not queue:
                    del self._lanes[lane]
                assert self._semaphore is not None
                async with self._semaphore:
                    await self._attempt(delivery)
        finally:
            self._busy.discard(lane)

    def _merged(self, first: Delivery, queue: deque[Delivery]) -> Delivery:
        group = [first]
        while (queue and len(group) < self.batch_max and queue[0].payload is not None
               and queue[0].target == first.target):
            group.append(queue.popleft())
        if len(group) == 1:
            return first
        merged = payloads.merge([d.payload for d in group if d.payload is not None])
        return Delivery(first.target, payloads.encode(merged), first.lane, created=min(d.created for d in group))

    async def _attempt(self, delivery: Delivery) -> None:
        assert self._client is not None
        delivery.attempts += 1
        headers = {"Content-Type": "application/json",
                   "X-Hub-Signature-256": sign(delivery.body, delivery.target.app_secret),
                   "User-Agent": "facebookexternalua"}
        try:
            response = await self._client.post(delivery.target.url, content=delivery.body, headers=headers)
            outcome, ok = str(response.status_code), 200 <= response.status_code < 300
        except httpx.HTTPError as exc:
            outcome, ok = type(exc).__name__, False
        self._log(delivery, outcome)
        if ok:
            self.delivered += 1
            return
        self.failed_attempts += 1
        waited = time.monotonic() - delivery.created
        if waited >= self.retry.give_up_after:
            self.dropped += 1
            self._log(delivery, "dropped")
            log.warning("webhook to %s dropped after %d attempts over %.0f s", delivery.target.url,
                        delivery.attempts, waited)
            return
        delay = self.retry.delay_after(delivery.attempts)
        log.info("webhook to %s answered %s; retry %d in %.2f s", delivery.target.url, outcome,
                 delivery.attempts, delay)
        self._push(delivery, delay)

    def _log(self, delivery: Delivery, outcome: str) -> None:
        self.log.append(AttemptLog(delivery.target.url, delivery.lane, delivery.attempts, outcome, time.time(),
                                   len(delivery.body)))

    def summary(self) -> dict[str, Any]:
        return {"delivered": self.delivered, "failed_attempts": self.failed_attempts, "dropped": self.dropped,
                "pending": self.pending, "running": self.running}

"""In-process workers: the loops that run beside the web server (or alone in `centralino worker`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import httpx

from centralino.events.bus import Event
from centralino.events.relay import RedisRelay
from centralino.services import Services
from centralino.workers.automation_webhooks import WebhookSender
from centralino.workers.bot import BotLoop
from centralino.workers.bot_retrain import RetrainLoop
from centralino.workers.callbacks import CallbackSender
from centralino.workers.campaigns import CampaignFeedLoop
from centralino.workers.http_client import make_graph_session, make_media_client
from centralino.workers.media import MediaFetcher
from centralino.workers.pg_wakeup import DeliveryWakeup
from centralino.workers.retention import RetentionLoop
from centralino.workers.router import RouterLoop
from centralino.workers.sender import OutboxSender
from centralino.workers.sla import sla_loop_for

log = logging.getLogger(__name__)

CALLBACK_EVENT = "notification.callback_queued"  # app/notification_statuses.py
WEBHOOK_EVENT = "automation.webhook_queued"  # app/automation_actions.py
OUTBOX_EVENTS = ("message.queued", "message.read_receipt_queued", "campaign.batch_queued")


SNOOZE_CHECK_S = 5.0


def batch_gap(now: float, last_start: float, min_interval: float, taken: int, full: int) -> float:
    """How long to wait before the next round (WorkerRuntime._loop): none after a full batch or without a
    minimum interval; else until `min_interval` has passed since the last round started. (A round that
    lasted longer is followed at once: waiting longer still was measured to add latency without saving CPU.)"""
    if not min_interval or taken >= full:
        return 0.0
    return max(0.0, last_start + min_interval - now)


# The loops a worker process can run (`centralino worker --only/--skip`, docs/configuration.md).
ROLES = ("deliveries", "media", "sender", "snoozes", "campaigns", "callbacks", "webhooks", "router", "sla",
         "retention", "bot", "bot-retrain")


def select_roles(only: str | None = None, skip: str | None = None) -> frozenset[str]:
    """The roles named by `--only` (all when None) less those named by `--skip`: comma-separated names
    from ROLES. Raises ValueError naming an unknown role."""
    def names(spec: str) -> set[str]:
        chosen = {part.strip() for part in spec.split(",") if part.strip()}
        unknown = sorted(chosen - set(ROLES))
        if unknown:
            raise ValueError(f"unknown worker role {', '.join(unknown)} (roles: {', '.join(ROLES)})")
        return chosen

    chosen = names(only) if only is not None else set(ROLES)
    if skip is not None:
        chosen -= names(skip)
    if not chosen:
        raise ValueError("no worker role left to run")
    return frozenset(chosen)


class WorkerRuntime:
    def __init__(self, services: Services, http_client: httpx.AsyncClient | None = None,
                 roles: frozenset[str] = frozenset(ROLES)) -> None:
        """Build it on the event loop that runs it (the Graph API session belongs to that loop).
        `http_client`: the media downloads' client (by default one of our own). `roles`: the loops this
        process runs (all by default); e.g. the sender alone in a process of its own, whose event loop
        then shares the GIL with no other loop's database work."""
        self.services = services
        self.roles = roles
        self.wake = asyncio.Event()  # webhooks stored: the delivery worker has work
        # Each loop waits on its own wake-up (or its poll interval), so a stored webhook does not make the
        # media and callback loops query for work they cannot have yet.
        self.media_wake = asyncio.Event()
        self.callbacks_wake = asyncio.Event()
        self.webhooks_wake = asyncio.Event()
        self.outbox_wake = asyncio.Event()
        self._loop_ref: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._relay: RedisRelay | None = None
        self._delivery_wakeup: DeliveryWakeup | None = None
        self._own_client = http_client is None
        settings = services.settings
        self.http = http_client or make_media_client()
        # One connection per send in flight (the sender never has more than its concurrency out).
        self.graph = make_graph_session(settings.sender_concurrency)
        self.media = MediaFetcher(services.engine, services.directory, services.bus, settings.media_dir,
                                  self.http, max_attempts=settings.media_max_attempts)
        self.sender = OutboxSender(services.engine, services.directory, services.bus, self.graph, settings)
        self.callbacks = CallbackSender.from_settings(services.engine, settings)  # notifications' status callbacks
        self.webhooks = WebhookSender.from_settings(services.engine, settings)  # automation rules' webhooks

    def notify(self, _count: int = 0) -> None:
        self.wake.set()

    def _set_soon(self, wake: asyncio.Event) -> None:
        if self._loop_ref is not None:
            self._loop_ref.call_soon_threadsafe(wake.set)

    def notify_media(self, event: Event) -> None:
        if event.payload.get("has_media"):
            self._set_soon(self.media_wake)

    def notify_callbacks(self, _event: Event) -> None:
        self._set_soon(self.callbacks_wake)

    def notify_webhooks(self, _event: Event) -> None:
        self._set_soon(self.webhooks_wake)

    def notify_outbox(self, _event: Event | None = None) -> None:
        """Something was queued: wake the sender. Called from whichever thread committed it."""
        self._set_soon(self.outbox_wake)

    def start(self) -> None:
        self._loop_ref = asyncio.get_running_loop()
        if self.services.settings.redis_url and "event_relay" not in self.services.extra:
            # a worker process: publish what it commits (received messages, ticks) for the web
            # processes' live desktops (events/relay.py); a web process already has its own relay
            self._relay = RedisRelay(self.services.settings.redis_url, None)
            self._relay.start(self.services.bus)
        for event_type in OUTBOX_EVENTS:
            self.services.bus.subscribe(event_type, self.notify_outbox)
        if self.services.engine.dialect.name == "postgresql" and "deliveries" in self.roles:  # stored elsewhere
            self._delivery_wakeup = DeliveryWakeup(self.services.engine.url, lambda: self._set_soon(self.wake))
            self._delivery_wakeup.start()
        self.services.bus.subscribe("message.received", self.notify_media)
        self.services.bus.subscribe(CALLBACK_EVENT, self.notify_callbacks)
        self.services.bus.subscribe(WEBHOOK_EVENT, self.notify_webhooks)
        self._tasks = [asyncio.create_task(coroutine, name=name) for name, coroutine in self._loops()]

    def _loops(self) -> list[tuple[str, Coroutine[Any, Any, None]]]:
        """The coroutines of this process's roles (a role whose service is not configured has none)."""
        svc, settings = self.services, self.services.settings
        wanted = self.roles.__contains__
        loops: list[tuple[str, Coroutine[Any, Any, None]]] = []
        if wanted("deliveries"):
            loops.append(("deliveries", self._loop(
                "deliveries", self._deliveries_once, self.wake,
                min_interval=settings.delivery_batch_interval_ms / 1000, full=svc.delivery_worker.batch)))
        if wanted("media"):
            loops.append(("media", self._loop("media", self.media.run_once, self.media_wake)))
        if wanted("sender"):
            loops.append(("sender", self.sender.run_forever(self.outbox_wake)))
        if wanted("snoozes"):
            loops.append(("snoozes", self._wake_snoozed_forever()))
        if wanted("campaigns") and svc.campaigns is not None:
            loops.append(("campaigns", CampaignFeedLoop(svc.engine, svc.campaigns).run_forever()))
        if wanted("callbacks"):
            loops.append(("callbacks", self._loop("callbacks", self.callbacks.run_once, self.callbacks_wake)))
        if wanted("webhooks"):
            loops.append(("webhooks", self._loop("webhooks", self.webhooks.run_once, self.webhooks_wake)))
        if wanted("router") and svc.routing is not None:
            loops.append(("router", RouterLoop(svc.routing.service, svc.bus, settings.routing_poll_s).run_forever()))
        if wanted("sla"):
            loops.append(("sla", sla_loop_for(svc).run_forever()))
        if wanted("retention") and svc.contact_admin is not None:
            loops.append(("retention", RetentionLoop(svc.contact_admin.retention).run_forever()))
        if wanted("bot") and svc.bot is not None:
            loops.append(("bot", BotLoop(svc.bot.runtime, svc.bus, settings.bot_poll_s,
                                         settings.bot_concurrency).run_forever()))
        if wanted("bot-retrain") and svc.bot_admin is not None and settings.bot_retrain_interval_s > 0:
            loops.append(("bot-retrain", RetrainLoop(svc.bot_admin.learning).run_forever()))
        return loops

    async def stop(self) -> None:
        for event_type in OUTBOX_EVENTS:
            self.services.bus.unsubscribe(event_type, self.notify_outbox)
        self.services.bus.unsubscribe("message.received", self.notify_media)
        self.services.bus.unsubscribe(CALLBACK_EVENT, self.notify_callbacks)
        self.services.bus.unsubscribe(WEBHOOK_EVENT, self.notify_webhooks)
        if self._delivery_wakeup is not None:
            await asyncio.to_thread(self._delivery_wakeup.stop)
            self._delivery_wakeup = None
        if self._relay is not None:
            await self._relay.stop()
            self._relay = None
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await self.graph.close()
        await self.callbacks.aclose()
        await self.webhooks.aclose()
        if self._own_client:
            await self.http.aclose()

    async def _wake_snoozed_forever(self) -> None:
        """Snoozed conversations reopen when their time is up or the customer wrote (app/desk.py); a
        check every few seconds is plenty for a snooze measured in hours."""
        while True:
            try:
                await asyncio.to_thread(self.services.desk.wake_snoozed)
            except Exception:
                log.exception("waking snoozed conversations failed; retrying")
            await asyncio.sleep(SNOOZE_CHECK_S)

    async def _deliveries_once(self) -> int:
        return await asyncio.to_thread(self.services.delivery_worker.run_once)

    async def _loop(self, name: str, once: Callable[[], Awaitable[int]], wake: asyncio.Event, *,
                    min_interval: float = 0.0, full: int = 0) -> None:
        """Run `once` until it finds nothing, then wait for `wake` (or the poll interval). With `min_interval`,
        rounds start at most that often unless the last one took a `full` batch: under a steady trickle a round
        gathers what came meanwhile instead of paying its fixed cost for each webhook."""
        poll = self.services.settings.worker_poll_s
        clock = asyncio.get_running_loop().time
        last_start, taken = -min_interval, 0
        while True:
            if (gap := batch_gap(clock(), last_start, min_interval, taken, full)) > 0:
                await asyncio.sleep(gap)
            last_start = clock()
            try:
                taken = await once()
            except Exception:
                log.exception("worker loop %s failed; retrying", name)
                taken = 0
                await asyncio.sleep(poll)
            if taken:
                continue
            wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), poll)

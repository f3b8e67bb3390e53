"""The sender: drains the outbox under each number's limits, many sends at once (docs/outbound.md).

Each round, for every channel with due rows whose sender lease this process holds: lock the due
rows (FOR UPDATE SKIP LOCKED), plan them (domain/pacing.py: a rate slot each, the per-customer
spacing deferring the rest), and commit the planned ones as attempts in flight before any call is
made. Each send then waits for its slot and goes out on the shared HTTP client; outcomes are
recorded in batches (app/outbox.py). A crash leaves attempts in flight whose lease lapses; they
are reconciled, never blindly resent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from centralino.app.channel_directory import ChannelDirectory
from centralino.app.outbox import AttemptResult, OutboxLedger, RetryPolicy
from centralino.channels.registry import adapter
from centralino.config import Settings
from centralino.domain.outbound import uploads
from centralino.domain.outbound_codec import decode_stored
from centralino.domain.pacing import Due, PairSpacer, RatePacer, SendWindow, ThroughputGuard, plan
from centralino.domain.sending import (
    Accepted,
    OutboundJob,
    OutboxKind,
    Refused,
    Retry,
    SendOutcome,
    callback_data,
)
from centralino.events.bus import EventBus
from centralino.storage import outbound_media as media_repo
from centralino.storage import outbox as outbox_repo
from centralino.storage.channels import Channel
from centralino.storage.outbox import Claimed

log = logging.getLogger(__name__)

HORIZON_S = 1.0  # rate slots are handed out this far ahead; a round claims about rate * horizon rows
PROVIDER_MEDIA_VALID = timedelta(days=29)  # Meta keeps uploaded media 30 days
MAX_MPS = 1000.0
RATE_LIMIT_PAUSE_S = 1.0  # after 130429s said the number's limit is lower, no slot for this long


def _dt(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class OutboxSender:
    def __init__(self, engine: Engine, directory: ChannelDirectory, bus: EventBus | None, client: Any,
                 settings: Settings, *, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 jitter: Callable[[], float] = random.random, holder: str | None = None) -> None:
        self.engine = engine
        self.directory = directory
        self.client = client
        self.settings = settings
        self.media_dir = Path(settings.media_dir)
        self.clock = clock
        self.sleep = sleep
        self.holder = holder or f"sender-{uuid.uuid4().hex[:12]}"
        self.lease = timedelta(seconds=settings.outbox_lease_s)
        self.ledger = OutboxLedger(engine, bus, RetryPolicy(
            max_attempts=settings.sender_max_attempts, backoff_base_s=settings.sender_backoff_base_s,
            backoff_cap_s=settings.sender_backoff_cap_s,
            reconcile_window=timedelta(seconds=settings.sender_reconcile_window_s)), jitter)
        self.pacers: dict[int, RatePacer] = {}
        self.spacers: dict[int, PairSpacer] = {}
        self.guards: dict[int, ThroughputGuard] = {}
        self.windows: dict[int, SendWindow] = {}
        self._plan_lock = threading.Lock()  # planning runs in a worker thread, outcomes adjust pacers here
        self._semaphore = asyncio.Semaphore(settings.sender_concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._results: list[AttemptResult] = []
        self._flusher: asyncio.Task[None] | None = None
        self._uploads: dict[tuple[int, int], asyncio.Task[str | Refused]] = {}
        self._call_times: list[float] = []  # since the last round's debug line
        # Per channel, for backpressure: claimed sends not dispatched yet; of those, the ones whose slot has come.
        self._waiting: dict[int, int] = {}
        self._late: dict[int, int] = {}

    # --- rounds ---------------------------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Reconcile lapsed attempts, then dispatch everything whose slot falls within the horizon.
        How many sends were dispatched."""
        now = self.clock()
        t0 = time.perf_counter()
        await asyncio.to_thread(self.ledger.do_sweep, _dt(now))
        t1 = time.perf_counter()
        dispatched = 0
        for channel_id in await asyncio.to_thread(self._channels_to_serve, now):
            t2 = time.perf_counter()
            # Claim no further ahead of the sends than the horizon, and nothing while sends whose slot has
            # come wait for a connection: claims would otherwise pile up behind a slow provider (or a busy
            # machine) until their attempt leases lapsed, and each lapse costs a reconciliation.
            room = self._claim_size(channel_id) - self._waiting.get(channel_id, 0)
            if room <= 0 or self._late.get(channel_id, 0) >= self.settings.sender_concurrency:
                continue
            for claim in await asyncio.to_thread(self._claim, channel_id, now, room):
                self._waiting[channel_id] = self._waiting.get(channel_id, 0) + 1
                task = asyncio.create_task(self._send(claim))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                dispatched += 1
            if log.isEnabledFor(logging.DEBUG):
                st, self._call_times = sorted(self._call_times), []
                log.debug("sender round: sweep %.1f ms, claim %.1f ms, %d claimed, %d waiting (%d late); "
                          "%d calls p50 %.1f max %.1f ms",
                          (t1 - t0) * 1000, (time.perf_counter() - t2) * 1000, dispatched,
                          self._waiting.get(channel_id, 0), self._late.get(channel_id, 0), len(st),
                          st[len(st) // 2] * 1000 if st else 0, st[-1] * 1000 if st else 0)
        return dispatched

    async def run_forever(self, wake: asyncio.Event) -> None:
        poll = self.settings.worker_poll_s
        try:
            while True:
                try:
                    dispatched = await self.run_once()
                    # After a busy round, come back while this round's slots still run; else sleep
                    # until the next row is due (never spinning on rows another process paces).
                    delay = HORIZON_S / 2 if dispatched else max(0.1, await asyncio.to_thread(self._until_next_wake))
                except Exception:
                    log.exception("sender round failed; retrying")
                    delay = poll
                wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), max(0.0, min(delay, poll)))
        finally:
            await self.close()

    async def settle(self) -> None:
        """Wait for every dispatched send and for its outcome to be recorded."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        while self._flusher is not None and not self._flusher.done():
            await self._flusher
        if self._results:
            await self._flush()

    async def drain(self, max_rounds: int = 10_000) -> int:
        """Send everything due now and record the outcomes (tests and tools); how many sends."""
        total = 0
        for _ in range(max_rounds):
            dispatched = await self.run_once()
            await self.settle()
            total += dispatched
            if not dispatched:
                break
        return total

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.settle(), 10)
        with contextlib.suppress(Exception):
            await asyncio.to_thread(self._release)

    # --- claiming (worker threads) --------------------------------------------------------------------------

    def _channels_to_serve(self, now: float) -> list[int]:
        with self.engine.connect() as conn:
            due = outbox_repo.due_by_channel(conn, _dt(now + HORIZON_S))
        served = []
        for channel_id in sorted(due):
            with self.engine.begin() as conn:
                held = outbox_repo.acquire_lease(conn, channel_id, self.holder, _dt(now), self.lease)
                if held and channel_id not in self.spacers:
                    self._seed_spacing(conn, channel_id, now)
            if held:
                served.append(channel_id)
            else:
                self.spacers.pop(channel_id, None)  # another process paces it; forget stale spacing
        return served

    def _seed_spacing(self, conn: Any, channel_id: int, now: float) -> None:
        """A process that takes over a channel learns who was just messaged (pair spacing survives)."""
        spacer = PairSpacer(self._pair_interval(channel_id))
        for recipient, at in outbox_repo.recent_attempts(conn, channel_id, _dt(now - spacer.interval)):
            spacer.record(recipient, at.timestamp())
        self.spacers[channel_id] = spacer

    def _claim_size(self, channel_id: int) -> int:
        """At most the rate slots one horizon holds."""
        return int(self._rate(channel_id) * HORIZON_S) + 1

    def _claim(self, channel_id: int, now: float, limit: int | None = None) -> list[Claimed]:
        rate = self._rate(channel_id)
        with self.engine.begin() as conn:
            rows = outbox_repo.lock_due(conn, channel_id, _dt(now + HORIZON_S),
                                        self._claim_size(channel_id) if limit is None else limit)
            if not rows:
                return []
            with self._plan_lock:
                pacer = self.pacers.setdefault(channel_id, RatePacer(rate))
                pacer.rate = rate * self.guards.setdefault(channel_id, ThroughputGuard()).factor(now)
                window = self.windows.get(channel_id)
                if window is None or window.limit != max(1, int(rate)):
                    self.windows[channel_id] = SendWindow(max(1, int(rate)))
                spacer = self.spacers.setdefault(channel_id, PairSpacer(self._pair_interval(channel_id)))
                spacer.interval = self._pair_interval(channel_id)
                spacer.forget_before(now)
                spaced = spacer.interval > 0
                planned = plan([Due(r.id, r.next_attempt_at.timestamp(),
                                    r.recipient if spaced and r.kind == OutboxKind.MESSAGE.value else None)
                                for r in rows], now, HORIZON_S, pacer, spacer)
            outbox_repo.defer(conn, {p.id: _dt(p.at) for p in planned if not p.send})
            return outbox_repo.start_attempts(
                conn, {p.id: (uuid.uuid4().hex, _dt(p.at)) for p in planned if p.send}, _dt(now) + self.lease)

    def _until_next_wake(self) -> float:
        with self.engine.connect() as conn:
            at = outbox_repo.next_wake(conn)
        return self.settings.worker_poll_s if at is None else at.timestamp() - self.clock()

    def _release(self) -> None:
        with self.engine.begin() as conn:
            outbox_repo.release_leases(conn, self.holder)

    def _rate(self, channel_id: int) -> float:
        """The rate the number is paced at: its limit less the margin kept for the way to the provider
        (CENTRALINO_SENDER_RATE_MARGIN: requests sent on time can still arrive bunched up)."""
        channel = self.directory.by_id(channel_id)
        configured = channel.config.get("messages_per_second") if channel is not None else None
        try:
            rate = float(configured) if configured is not None else self.settings.sender_default_mps
        except (TypeError, ValueError):
            rate = self.settings.sender_default_mps
        limit = min(MAX_MPS, rate) if rate > 0 else self.settings.sender_default_mps
        return limit * (1.0 - self.settings.sender_rate_margin)

    def _pair_interval(self, channel_id: int) -> float:
        channel = self.directory.by_id(channel_id)
        configured = channel.config.get("pair_interval_s") if channel is not None else None
        try:
            return max(0.0, float(configured)) if configured is not None else self.settings.sender_pair_interval_s
        except (TypeError, ValueError):
            return self.settings.sender_pair_interval_s

    # --- sending (event loop) -------------------------------------------------------------------------------

    async def _send(self, claim: Claimed) -> None:
        slot = claim.at.timestamp()
        wait = slot - self.clock()
        try:  # the backpressure counts hold whatever happens to the task before it has a connection
            if wait > 0:
                await self.sleep(wait)
            self._late[claim.channel_id] = self._late.get(claim.channel_id, 0) + 1
            try:
                await self._semaphore.acquire()
            finally:
                self._late[claim.channel_id] -= 1
        finally:
            self._waiting[claim.channel_id] -= 1
        try:
            await self._dispatch_turn(claim, slot)
            started = time.perf_counter()
            outcome = await self._attempt(claim)
            if log.isEnabledFor(logging.DEBUG):
                self._call_times.append(time.perf_counter() - started)
        finally:
            self._semaphore.release()
        self._adjust_pacing(claim, outcome)
        self._results.append(AttemptResult(claim, outcome))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())

    async def _dispatch_turn(self, claim: Claimed, slot: float) -> None:
        """Wait, if need be, until the send keeps the number's limit counted at dispatch (a late loop
        catching up on past slots must not burst), and note when the customer was actually messaged."""
        at = max(slot, self.clock())
        window = self.windows.get(claim.channel_id)
        if window is not None:
            ready = window.earliest(at)
            if ready > at:
                await self.sleep(ready - at)
                at = max(ready, self.clock())
            window.record(at)
        if claim.kind == OutboxKind.MESSAGE.value and claim.channel_id in self.spacers and at > slot:
            with self._plan_lock:  # later sends to this customer are spaced from when this one left
                self.spacers[claim.channel_id].record(f"{claim.recipient_kind}:{claim.recipient}", at)

    async def _attempt(self, claim: Claimed) -> SendOutcome:
        channel = self.directory.by_id(claim.channel_id)
        if channel is None:
            return Refused(Retry.PERMANENT, None, f"channel {claim.channel_id} no longer exists")
        channel_adapter = adapter(channel.kind)
        if claim.kind == OutboxKind.READ.value:
            if not claim.target_external_id:
                return Refused(Retry.PERMANENT, None, "the message to mark read has no provider id")
            return await channel_adapter.mark_read(channel, claim.target_external_id, self.client)
        try:
            assert claim.message_id is not None
            content = decode_stored(claim.content or {})
            provider_media: dict[int, str] = {}
            for media_id in uploads(content):
                found = await self._provider_media(channel, media_id)
                if isinstance(found, Refused):
                    return found
                provider_media[media_id] = found
            job = OutboundJob(content, claim.recipient_kind, claim.recipient, callback_data(claim.message_id),
                              claim.reply_to_external_id, claim.target_external_id, provider_media)
        except Exception as exc:  # nothing went out yet
            log.exception("outbox %s: cannot prepare the send", claim.id)
            return Refused(Retry.TRANSIENT, None, f"cannot prepare the send: {type(exc).__name__}: {exc}")
        try:
            return await channel_adapter.send(channel, job, self.client)
        except Exception as exc:  # the request may have gone out: treat it as unknown, never as failed
            log.exception("outbox %s: send raised", claim.id)
            return Refused(Retry.UNCERTAIN, None, f"send raised {type(exc).__name__}: {exc}")

    def _adjust_pacing(self, claim: Claimed, outcome: SendOutcome) -> None:
        with self._plan_lock:
            now = self.clock()
            guard, pacer = self.guards.get(claim.channel_id), self.pacers.get(claim.channel_id)
            if guard is not None and pacer is not None and guard.record(
                    now, isinstance(outcome, Refused) and outcome.code == 130429, pacer.rate):
                pacer.rate = self._rate(claim.channel_id) * guard.factor(now)
                pacer.pause_until(now + RATE_LIMIT_PAUSE_S)
                log.warning("channel %s: Meta refused over %d%% of a second's sends (130429): pacing at %.0f/s",
                            claim.channel_id, round(guard.tolerated_share * 100), pacer.rate)
            if isinstance(outcome, Refused) and outcome.code == 131056 and claim.channel_id in self.spacers:
                self.spacers[claim.channel_id].record(f"{claim.recipient_kind}:{claim.recipient}", now)

    async def _flush(self) -> None:
        while self._results:
            batch, self._results = self._results, []
            try:
                t0 = time.perf_counter()
                await asyncio.to_thread(self.ledger.do_record, batch, _dt(self.clock()))
                log.debug("recorded %d outcomes in %.1f ms", len(batch), (time.perf_counter() - t0) * 1000)
            except Exception:
                # Kept and retried; if this process dies first, the attempts lapse and are reconciled.
                log.exception("recording %d send outcomes failed; retrying", len(batch))
                self._results = batch + self._results
                await asyncio.sleep(1.0)

    # --- our files at the provider --------------------------------------------------------------------------

    async def _provider_media(self, channel: Channel, media_id: int) -> str | Refused:
        """The provider's id for one of our uploads, uploading it once per channel (concurrent sends
        of the same file wait for the one upload)."""
        key = (media_id, channel.id)
        task = self._uploads.get(key)
        if task is None:
            task = asyncio.create_task(self._upload(channel, media_id))
            self._uploads[key] = task
            task.add_done_callback(lambda _t: self._uploads.pop(key, None))
        return await asyncio.shield(task)

    async def _upload(self, channel: Channel, media_id: int) -> str | Refused:
        now = _dt(self.clock())

        def cached() -> tuple[str | None, dict[str, Any] | None]:
            with self.engine.connect() as conn:
                return (media_repo.provider_id(conn, media_id, channel.id, now - PROVIDER_MEDIA_VALID),
                        media_repo.get(conn, media_id))

        provider_id, row = await asyncio.to_thread(cached)
        if provider_id is not None:
            return provider_id
        if row is None:
            return Refused(Retry.PERMANENT, None, f"upload {media_id} no longer exists")
        try:
            content = await asyncio.to_thread((self.media_dir / row["storage_path"]).read_bytes)
        except OSError as exc:
            return Refused(Retry.PERMANENT, None, f"the file of upload {media_id} is missing: {exc}")
        outcome = await adapter(channel.kind).upload_media(channel, content, row["mime_type"],
                                                           row["filename"] or f"upload-{media_id}", self.client)
        if isinstance(outcome, Refused):
            return outcome
        assert isinstance(outcome, Accepted) and outcome.external_id

        def record(provider_media_id: str) -> None:
            with self.engine.begin() as conn:
                media_repo.record_provider_id(conn, media_id, channel.id, provider_media_id, _dt(self.clock()))

        await asyncio.to_thread(record, outcome.external_id)
        return outcome.external_id

"""The bot worker: answers pending bot turns (app/bot.py). Woken after commit by `bot.turn_queued` (the inbound
transaction that stored the message wrote the turn), it also sweeps on start and every `bot_poll_s`: turns
stored by other processes, turns whose worker died (their lease lapsed), turns waiting for a retry.

Several processes may run it against one database: a turn is taken with a lease (SELECT … FOR UPDATE SKIP
LOCKED on PostgreSQL), only the lease holder may record its decision, and a conversation's turns are taken one
at a time, oldest first. Turns of different conversations are answered concurrently (`bot_concurrency`), so a
slow service call does not hold up the other customers.

The sweep also hands to the team, at most every `bot_poll_s`, the conversations the bot held for a queue that has
opened since (out of hours, app/bot.py release_held)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid

from sqlalchemy import func, select

from centralino.app.bot import BotRuntime
from centralino.events.bus import Event, EventBus
from centralino.storage.tables_bot import bot_settings

log = logging.getLogger(__name__)

WAKE_EVENT = "bot.turn_queued"  # app/bot_ownership.py


def holder_name() -> str:
    """This worker's name on the leases it takes (unique per process start)."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def warm_up(runtime: BotRuntime) -> None:
    """Where the bot answers on some channel, load now what a first customer message would otherwise wait
    for (the entity libraries' data, the active model and its encoder: seconds of CPU on a cold process)."""
    try:
        with runtime.engine.connect() as conn:
            enabled = conn.execute(select(func.count()).select_from(bot_settings)
                                   .where(bot_settings.c.enabled.is_(True))).scalar_one()
        if not enabled:
            return
        from centralino.bot.nlu import entities

        entities.warm_up()
        active = runtime.models.active()
        if active is not None:
            active[1].predict("buongiorno, vorrei un'informazione")
    except Exception:  # a cold start is slower, never broken
        log.exception("warming the bot up failed")


class BotLoop:
    def __init__(self, runtime: BotRuntime, bus: EventBus, poll_s: float, concurrency: int = 4) -> None:
        self.runtime = runtime
        self.bus = bus
        self.poll_s = poll_s
        self.concurrency = concurrency
        self.holder = holder_name()
        self.wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._release_at = 0.0  # monotonic: when to look for held conversations whose queue opened

    def notify(self, _event: Event | None = None) -> None:
        """Called from whichever thread committed the turn."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.wake.set)

    async def release_due(self) -> int:
        """At most every poll_s: hand over the conversations held for a queue that has opened; how many."""
        if time.monotonic() < self._release_at:
            return 0
        self._release_at = time.monotonic() + self.poll_s
        return await asyncio.to_thread(self.runtime.release_held)

    async def run_once(self) -> int:
        """Claim a batch and answer it; how many turns were taken."""
        ids = await asyncio.to_thread(self.runtime.claim, self.holder)
        if not ids:
            return 0
        gate = asyncio.Semaphore(self.concurrency)

        async def answer(turn_id: int) -> None:
            async with gate:
                await asyncio.to_thread(self.runtime.process, turn_id, self.holder)

        await asyncio.gather(*(answer(i) for i in ids))
        return len(ids)

    async def run_forever(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.bus.subscribe(WAKE_EVENT, self.notify)
        try:
            await asyncio.to_thread(warm_up, self.runtime)
            while True:
                self.wake.clear()
                try:
                    await self.release_due()
                    taken = await self.run_once()
                except Exception:
                    log.exception("bot round failed; retrying")
                    taken = 0
                if taken:
                    continue  # a conversation's next message becomes claimable once its previous one is done
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), self.poll_s)
        finally:
            self.bus.unsubscribe(WAKE_EVENT, self.notify)

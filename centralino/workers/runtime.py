"""In-process workers: the loops that run beside the web server (or alone in `centralino worker`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import httpx

from centralino.services import Services
from centralino.workers.media import MediaFetcher

log = logging.getLogger(__name__)


class WorkerRuntime:
    def __init__(self, services: Services, http_client: httpx.AsyncClient | None = None) -> None:
        self.services = services
        self.wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._own_client = http_client is None
        self.http = http_client or httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=10.0))
        settings = services.settings
        self.media = MediaFetcher(services.engine, services.directory, services.bus, settings.media_dir,
                                  self.http, max_attempts=settings.media_max_attempts)

    def notify(self, _count: int = 0) -> None:
        self.wake.set()

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._loop("deliveries", self._deliveries_once), name="deliveries"),
            asyncio.create_task(self._loop("media", self.media.run_once), name="media"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self._own_client:
            await self.http.aclose()

    async def _deliveries_once(self) -> int:
        return await asyncio.to_thread(self.services.delivery_worker.run_once)

    async def _loop(self, name: str, once: Callable[[], Awaitable[int]]) -> None:
        poll = self.services.settings.worker_poll_s
        while True:
            try:
                taken = await once()
            except Exception:
                log.exception("worker loop %s failed; retrying", name)
                taken = 0
                await asyncio.sleep(poll)
            if taken:
                continue
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), poll)

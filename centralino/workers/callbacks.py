"""Status callbacks: POST each notification's status changes to its callback URL, signed.

The rows come from callback_deliveries, written in the transaction that changed the status (so none is
lost). At least once: a crash after the receiver answered but before we recorded it sends that one again
(`event_id` lets receivers drop the repeat). Per notification, one at a time and oldest first: a later
status never overtakes an earlier one that is still being retried; once an earlier one is given up
(after `callback_max_attempts`), the next goes.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
from sqlalchemy import Engine

from centralino.config import Settings
from centralino.domain.notifications import SIGNATURE_HEADER, sign
from centralino.domain.pacing import backoff
from centralino.storage import notifications as repo

log = logging.getLogger(__name__)

USER_AGENT = "Centralino-Callbacks/1"


def _utcnow() -> datetime:
    return datetime.now(UTC)


class CallbackSender:
    def __init__(self, engine: Engine, client: httpx.AsyncClient, secret: str, *, max_attempts: int = 8,
                 backoff_base_s: float = 5.0, backoff_cap_s: float = 3600.0, lease_s: float = 60.0,
                 batch: int = 50, clock: Callable[[], datetime] = _utcnow,
                 jitter: Callable[[], float] = random.random) -> None:
        self.engine = engine
        self.client = client
        self.secret = secret.encode()
        self.max_attempts = max_attempts
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self.lease = timedelta(seconds=lease_s)
        self.batch = batch
        self.clock = clock
        self.jitter = jitter

    @classmethod
    def from_settings(cls, engine: Engine, settings: Settings) -> CallbackSender:
        return cls(engine, make_callback_client(settings.callback_timeout_s),
                   settings.callback_secret.get_secret_value(), max_attempts=settings.callback_max_attempts,
                   backoff_base_s=settings.callback_backoff_base_s, backoff_cap_s=settings.callback_backoff_cap_s)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def run_once(self) -> int:
        """Post every due callback once (concurrently); how many were attempted."""
        now = self.clock()
        rows = await asyncio.to_thread(self._claim, now)
        if rows:
            await asyncio.gather(*(self._deliver(row) for row in rows))
        return len(rows)

    def _claim(self, now: datetime) -> list[Any]:
        with self.engine.begin() as conn:
            return repo.claim_due(conn, now, now + self.lease, self.batch)

    async def _deliver(self, row: Any) -> None:
        body = orjson.dumps({"event_id": int(row["id"]), **row["payload"]})
        attempts = int(row["attempts"]) + 1
        status_code: int | None = None
        try:
            response = await self.client.post(str(row["url"]), content=body, headers={
                "Content-Type": "application/json", SIGNATURE_HEADER: sign(self.secret, body),
                "User-Agent": USER_AGENT})
            status_code = response.status_code
            error = None if 200 <= status_code < 300 else f"HTTP {status_code}: {response.text[:200]}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        await asyncio.to_thread(self._record, int(row["id"]), attempts, status_code, error)

    def _record(self, delivery_id: int, attempts: int, status_code: int | None, error: str | None) -> None:
        now = self.clock()
        with self.engine.begin() as conn:
            if error is None:
                assert status_code is not None
                repo.delivered(conn, delivery_id, attempts, status_code, now)
            elif attempts >= self.max_attempts:
                log.warning("callback %s: gave up after %s attempts: %s", delivery_id, attempts, error)
                repo.give_up(conn, delivery_id, attempts, status_code, f"gave up after {attempts} attempts: {error}",
                             now)
            else:
                delay = backoff(attempts, self.backoff_base_s, self.backoff_cap_s, self.jitter())
                repo.retry_later(conn, delivery_id, attempts, status_code, error, now + timedelta(seconds=delay))


def make_callback_client(timeout_s: float) -> httpx.AsyncClient:
    # No redirects: a callback URL that moved is the receiver's configuration to fix, not ours to follow.
    return httpx.AsyncClient(timeout=httpx.Timeout(timeout_s), follow_redirects=False)

"""The one way we POST our own signed JSON to a customer's system: notification status callbacks
(workers/callbacks.py) and automation rules' webhooks (workers/automation_webhooks.py).

Rows are claimed with a lease from the area's table (written in the transaction that caused them, so none
is lost), posted concurrently, signed with `X-Centralino-Signature` (domain/notifications.py sign), and
recorded: delivered, retried later with backoff and jitter, or given up after `max_attempts`. At least once:
a crash after the receiver answered but before we recorded it posts that row again; the row's id in the body
(`id_field`) lets receivers drop the repeat. Subclasses say how rows are claimed and recorded.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Self

import httpx
import orjson
from sqlalchemy import Connection, Engine

from centralino.config import Settings
from centralino.domain.notifications import SIGNATURE_HEADER, sign
from centralino.domain.pacing import backoff


def _utcnow() -> datetime:
    return datetime.now(UTC)


def make_callback_client(timeout_s: float) -> httpx.AsyncClient:
    # No redirects: a URL that moved is the receiver's configuration to fix, not ours to follow.
    return httpx.AsyncClient(timeout=httpx.Timeout(timeout_s), follow_redirects=False)


class SignedPostSender:
    user_agent: ClassVar[str]
    id_field: ClassVar[str]  # the body's name for the row's id

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
    def from_settings(cls, engine: Engine, settings: Settings) -> Self:
        return cls(engine, make_callback_client(settings.callback_timeout_s),
                   settings.callback_secret.get_secret_value(), max_attempts=settings.callback_max_attempts,
                   backoff_base_s=settings.callback_backoff_base_s, backoff_cap_s=settings.callback_backoff_cap_s)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def run_once(self) -> int:
        """Post every due row once (concurrently); how many were attempted."""
        now = self.clock()
        rows = await asyncio.to_thread(self._claim, now)
        if rows:
            await asyncio.gather(*(self._deliver(row) for row in rows))
        return len(rows)

    def _claim(self, now: datetime) -> list[Any]:
        with self.engine.begin() as conn:
            return self.claim_due(conn, now, now + self.lease, self.batch)

    async def _deliver(self, row: Any) -> None:
        body = orjson.dumps({self.id_field: int(row["id"]), **row["payload"]})
        attempts = int(row["attempts"]) + 1
        status_code: int | None = None
        try:
            response = await self.client.post(str(row["url"]), content=body, headers={
                "Content-Type": "application/json", SIGNATURE_HEADER: sign(self.secret, body),
                "User-Agent": self.user_agent})
            status_code = response.status_code
            error = None if 200 <= status_code < 300 else f"HTTP {status_code}: {response.text[:200]}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        await asyncio.to_thread(self._record, row, attempts, status_code, error)

    def retry_delay(self, attempts: int) -> timedelta:
        return timedelta(seconds=backoff(attempts, self.backoff_base_s, self.backoff_cap_s, self.jitter()))

    # --- the area's table ---------------------------------------------------------------------------------

    def claim_due(self, conn: Connection, now: datetime, lease_until: datetime, limit: int) -> list[Any]:
        raise NotImplementedError

    def _record(self, row: Any, attempts: int, status_code: int | None, error: str | None) -> None:
        """Delivered (`error` None), retried after `retry_delay`, or given up at `max_attempts`."""
        raise NotImplementedError

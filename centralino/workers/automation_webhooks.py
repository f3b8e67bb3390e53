"""The automation rules' webhook action: POST each queued delivery (automation_webhooks, written by the rule's
action) to its URL, signed with `X-Centralino-Signature` as notification callbacks are (same secret,
domain/notifications.py sign), retried with backoff and jitter until `max_attempts`, then given up.

At least once: a crash after the receiver answered but before we recorded it posts it again; `delivery_id`
in the body lets receivers drop the repeat. Deliveries are independent (no per-rule ordering)."""

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
from centralino.storage import automation as repo
from centralino.workers.callbacks import make_callback_client

log = logging.getLogger(__name__)

USER_AGENT = "Centralino-Automation/1"


def _utcnow() -> datetime:
    return datetime.now(UTC)


class WebhookSender:
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
    def from_settings(cls, engine: Engine, settings: Settings) -> WebhookSender:
        return cls(engine, make_callback_client(settings.callback_timeout_s),
                   settings.callback_secret.get_secret_value(), max_attempts=settings.callback_max_attempts,
                   backoff_base_s=settings.callback_backoff_base_s, backoff_cap_s=settings.callback_backoff_cap_s)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def run_once(self) -> int:
        """Post every due delivery once (concurrently); how many were attempted."""
        now = self.clock()
        rows = await asyncio.to_thread(self._claim, now)
        if rows:
            await asyncio.gather(*(self._deliver(row) for row in rows))
        return len(rows)

    def _claim(self, now: datetime) -> list[Any]:
        with self.engine.begin() as conn:
            return repo.claim_due_webhooks(conn, now, now + self.lease, self.batch)

    async def _deliver(self, row: Any) -> None:
        body = orjson.dumps({"delivery_id": int(row["id"]), **row["payload"]})
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
        await asyncio.to_thread(self._record, row, attempts, status_code, error)

    def _record(self, row: Any, attempts: int, status_code: int | None, error: str | None) -> None:
        now = self.clock()
        delivery_id = int(row["id"])
        # Once it is delivered or given up, the body's copy of the customer's data (message text, name,
        # attributes) is not kept: only which rule and which event.
        kept = {"rule": row["payload"].get("rule"), "event": {"type": (row["payload"].get("event") or {}).get("type")},
                "subject_removed": True}
        with self.engine.begin() as conn:
            if error is None:
                repo.webhook_done(conn, delivery_id, {"state": "delivered", "attempts": attempts,
                                                      "last_status_code": status_code, "last_error": None,
                                                      "completed_at": now, "payload": kept})
            elif attempts >= self.max_attempts:
                log.warning("automation webhook %s: gave up after %s attempts: %s", delivery_id, attempts, error)
                repo.webhook_done(conn, delivery_id, {
                    "state": "failed", "attempts": attempts, "last_status_code": status_code,
                    "last_error": f"gave up after {attempts} attempts: {error}"[:2000], "completed_at": now,
                    "payload": kept})
            else:
                delay = backoff(attempts, self.backoff_base_s, self.backoff_cap_s, self.jitter())
                repo.webhook_done(conn, delivery_id, {
                    "attempts": attempts, "last_status_code": status_code, "last_error": error[:2000],
                    "next_attempt_at": now + timedelta(seconds=delay)})

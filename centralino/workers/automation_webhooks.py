"""The automation rules' webhook action: POST each queued delivery (automation_webhooks, written by the rule's
action) to its URL, signed with `X-Centralino-Signature` as notification callbacks are (same secret,
domain/notifications.py sign), retried with backoff and jitter until `max_attempts`, then given up.

At least once: a crash after the receiver answered but before we recorded it posts it again; `delivery_id`
in the body lets receivers drop the repeat. Deliveries are independent (no per-rule ordering)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from centralino.storage import automation as repo
from centralino.workers.signed_posts import SignedPostSender

log = logging.getLogger(__name__)


class WebhookSender(SignedPostSender):
    user_agent = "Centralino-Automation/1"
    id_field = "delivery_id"

    def claim_due(self, conn: Connection, now: datetime, lease_until: datetime, limit: int) -> list[Any]:
        return repo.claim_due_webhooks(conn, now, lease_until, limit)

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
                repo.webhook_done(conn, delivery_id, {
                    "attempts": attempts, "last_status_code": status_code, "last_error": error[:2000],
                    "next_attempt_at": now + self.retry_delay(attempts)})

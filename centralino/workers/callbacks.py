"""Status callbacks: POST each notification's status changes to its callback URL, signed.

The rows come from callback_deliveries, written in the transaction that changed the status (so none is
lost). At least once: a crash after the receiver answered but before we recorded it sends that one again
(`event_id` lets receivers drop the repeat). Per notification, one at a time and oldest first: a later
status never overtakes an earlier one that is still being retried; once an earlier one is given up
(after `callback_max_attempts`), the next goes.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from centralino.storage import notifications as repo
from centralino.workers.signed_posts import SignedPostSender, make_callback_client

__all__ = ["CallbackSender", "make_callback_client"]

log = logging.getLogger(__name__)


class CallbackSender(SignedPostSender):
    user_agent = "Centralino-Callbacks/1"
    id_field = "event_id"

    def claim_due(self, conn: Connection, now: datetime, lease_until: datetime, limit: int) -> list[Any]:
        return repo.claim_due(conn, now, lease_until, limit)

    def _record(self, row: Any, attempts: int, status_code: int | None, error: str | None) -> None:
        now = self.clock()
        delivery_id = int(row["id"])
        with self.engine.begin() as conn:
            if error is None:
                assert status_code is not None
                repo.delivered(conn, delivery_id, attempts, status_code, now)
            elif attempts >= self.max_attempts:
                log.warning("callback %s: gave up after %s attempts: %s", delivery_id, attempts, error)
                repo.give_up(conn, delivery_id, attempts, status_code, f"gave up after {attempts} attempts: {error}",
                             now)
            else:
                repo.retry_later(conn, delivery_id, attempts, status_code, error, now + self.retry_delay(attempts))

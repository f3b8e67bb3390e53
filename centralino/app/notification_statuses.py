"""A notification's status mirror and its callbacks, written in the transaction that changed the status.

Status changes are the hottest path of the inbound pipeline (three or four per message sent), and almost
none belong to a notification. So this is a batch listener: once per transaction, just before it commits,
one query finds which of its status changes are notifications' messages, then their mirrors are updated and
their callbacks queued. A failure there fails the transaction: the status and its callback are applied
together or not at all (the webhook is retried), never one without the other.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from centralino.app.unit_of_work import UnitOfWork
from centralino.domain.notifications import callback_payload
from centralino.events.bus import Event
from centralino.storage import notifications as repo

CHUNK = 500  # message ids per IN (...) query


class StatusMirror:
    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock

    def on_status(self, uow: UnitOfWork, events: list[Event]) -> None:
        """message.status_changed, once per transaction (EventBus.subscribe_in_transaction_batch)."""
        queued = self.apply(uow.conn, events)
        if queued:  # wakes the callback sender (workers/runtime.py) instead of it polling after every webhook
            uow.emit("notification.callback_queued", callbacks=queued)

    def apply(self, conn: Connection, events: list[Event]) -> int:
        """Mirror the statuses onto their notifications; how many status callbacks were queued."""
        ids = sorted({int(e.payload["message_id"]) for e in events})
        found: dict[int, Any] = {}
        for start in range(0, len(ids), CHUNK):
            found.update({int(r.message_id): r for r in repo.by_messages(conn, ids[start:start + CHUNK])})
        if not found:
            return 0
        queued = 0
        now = self.clock()
        for ev in events:  # in the order they happened: callbacks are queued (and sent) in that order
            message_id = int(ev.payload["message_id"])
            row = found.get(message_id)
            if row is None:
                continue
            status, error_code = str(ev.payload["status"]), ev.payload.get("error_code")
            repo.mirror_status(conn, int(row.id), status, error_code, now)
            if row.callback_url:
                repo.enqueue_callback(conn, int(row.id), str(row.callback_url), callback_payload(
                    int(row.id), message_id, status, ev.payload.get("previous"), error_code, ev.occurred_at), now)
                queued += 1
        return queued

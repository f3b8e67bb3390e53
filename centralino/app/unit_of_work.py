"""A transaction that records the events it causes and publishes them after commit."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine, insert

from centralino.events.bus import Event, EventBus
from centralino.storage.bulk import pg_insert_records
from centralino.storage.tables import events as events_table


class StoredMessage(NamedTuple):
    """An inbound message as this transaction stored it, for listeners that read its text."""

    type: str
    text: str | None
    content: dict[str, Any] | None
    sent_at: datetime


@dataclass
class UnitOfWork:
    conn: Connection
    bus: EventBus | None = None
    pending: list[Event] = field(default_factory=list)
    # Inbound messages stored in this transaction, by id: listeners (consent keywords) read them here
    # instead of querying back what the batch just inserted.
    stored_messages: dict[int, StoredMessage] = field(default_factory=dict)

    def emit(self, event_type: str, **payload: Any) -> None:
        """Record an event; its in-transaction listeners (EventBus.subscribe_in_transaction) run now, on
        this transaction, and may emit more."""
        event = Event(type=event_type, payload=payload)
        self.pending.append(event)
        if self.bus is not None:
            for listener in self.bus.transaction_listeners(event_type):
                listener(self, event)

    def run_batch_listeners(self) -> None:
        """Hand each batch listener the events of its type emitted so far, until none are new (a listener's
        own events get their turn too). Called just before the commit."""
        if self.bus is None or not self.bus.has_batch_listeners:
            return
        done = 0
        while done < len(self.pending):
            fresh, done = self.pending[done:], len(self.pending)
            by_type: dict[str, list[Event]] = {}
            for event in fresh:
                by_type.setdefault(event.type, []).append(event)
            for event_type, events in by_type.items():
                for listener in self.bus.batch_listeners(event_type):
                    listener(self, events)


@contextmanager
def unit_of_work(engine: Engine, bus: EventBus | None) -> Iterator[UnitOfWork]:
    with engine.begin() as conn:
        uow = UnitOfWork(conn, bus)
        yield uow
        uow.run_batch_listeners()
        if bus is not None and uow.pending:
            for listener in bus.before_commit_listeners:
                listener(uow, list(uow.pending))
        if uow.pending:
            rows = [{"type": e.type, "occurred_at": e.occurred_at, "payload": e.payload} for e in uow.pending]
            if conn.dialect.name == "postgresql":  # one statement text whatever the number of events
                pg_insert_records(conn, events_table, rows)
            else:
                conn.execute(insert(events_table), rows)
    if bus is not None and uow.pending:
        bus.publish(uow.pending)

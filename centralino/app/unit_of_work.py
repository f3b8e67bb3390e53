"""A transaction that records the events it causes and publishes them after commit."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, insert

from centralino.events.bus import Event, EventBus
from centralino.storage.tables import events as events_table


@dataclass
class UnitOfWork:
    conn: Connection
    bus: EventBus | None = None
    pending: list[Event] = field(default_factory=list)

    def emit(self, event_type: str, **payload: Any) -> None:
        """Record an event; its in-transaction listeners (EventBus.subscribe_in_transaction) run now, on
        this transaction, and may emit more."""
        event = Event(type=event_type, payload=payload)
        self.pending.append(event)
        if self.bus is not None:
            for listener in self.bus.transaction_listeners(event_type):
                listener(self, event)


@contextmanager
def unit_of_work(engine: Engine, bus: EventBus | None) -> Iterator[UnitOfWork]:
    with engine.begin() as conn:
        uow = UnitOfWork(conn, bus)
        yield uow
        if uow.pending:
            conn.execute(
                insert(events_table),
                [{"type": e.type, "occurred_at": e.occurred_at, "payload": e.payload} for e in uow.pending],
            )
    if bus is not None and uow.pending:
        bus.publish(uow.pending)

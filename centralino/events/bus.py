"""Typed events and the in-process bus.

Events are written to the `events` table inside the transaction that caused them (so none is
lost in a crash) and handed to listeners only after that transaction commits.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger(__name__)

Listener = Callable[["Event"], None]
# A listener inside the transaction that caused the event: (the unit of work, the event). Its writes
# commit or roll back with the cause, so an effect that must not be lost (an opt-out after STOP, a
# template's new status, a campaign recipient's tick) is never lost to a crash between commit and
# listener. It may emit further events on the unit of work.
TransactionListener = Callable[[Any, "Event"], None]
# The same, once per transaction with every event of its type emitted in it (oldest first), just before the
# commit: for listeners on the inbound hot path, where one query per batch beats one per message.
BatchListener = Callable[[Any, list["Event"]], None]


@dataclass(frozen=True)
class Event:
    type: str
    payload: dict[str, Any]
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    id: int | None = None


class EventBus:
    """Listeners by event type ('*' for all). A failing listener is logged, never propagated:
    the transaction that produced the event has already committed."""

    def __init__(self) -> None:
        self._listeners: dict[str, list[Listener]] = defaultdict(list)
        self._in_transaction: dict[str, list[TransactionListener]] = defaultdict(list)
        self._batch: dict[str, list[BatchListener]] = defaultdict(list)
        self._before_commit: list[BatchListener] = []

    def subscribe_in_transaction(self, event_type: str, listener: TransactionListener) -> None:
        """Run `listener(uow, event)` inside the emitting transaction, before it commits. Unlike
        after-commit listeners, its failure rolls the whole transaction back: keep it small and sure."""
        self._in_transaction[event_type].append(listener)

    def transaction_listeners(self, event_type: str) -> list[TransactionListener]:
        return self._in_transaction.get(event_type, [])

    def subscribe_in_transaction_batch(self, event_type: str, listener: BatchListener) -> None:
        """Run `listener(uow, events)` once per transaction, before it commits, with all the events of this
        type it emitted (in order). Same guarantees as subscribe_in_transaction; events the listener emits
        get their own listeners too."""
        self._batch[event_type].append(listener)

    def batch_listeners(self, event_type: str) -> list[BatchListener]:
        return self._batch.get(event_type, [])

    @property
    def has_batch_listeners(self) -> bool:
        return any(self._batch.values())

    def subscribe_before_commit(self, listener: BatchListener) -> None:
        """Run `listener(uow, events)` once per transaction that emitted anything, after every batch listener,
        with all its events (oldest first): for a write that costs one statement per transaction whatever the
        types (the timeline, app/timeline.py). It must not emit."""
        self._before_commit.append(listener)

    @property
    def before_commit_listeners(self) -> list[BatchListener]:
        return self._before_commit

    def subscribe(self, event_type: str, listener: Listener) -> None:
        self._listeners[event_type].append(listener)

    def unsubscribe(self, event_type: str, listener: Listener) -> None:
        if listener in self._listeners.get(event_type, []):
            self._listeners[event_type].remove(listener)

    def publish(self, events: list[Event]) -> None:
        for event in events:
            for listener in (*self._listeners.get(event.type, ()), *self._listeners.get("*", ())):
                try:
                    listener(event)
                except Exception:
                    log.exception("listener %r failed on %s", listener, event.type)


class Recorder:
    """A listener that keeps what it hears: for tests and the demo's activity view."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    def types(self) -> list[str]:
        return [e.type for e in self.events]

"""In-transaction listeners: their writes commit or roll back with the event's cause."""

from __future__ import annotations

import pytest
from sqlalchemy import func, insert, select

from centralino.app.unit_of_work import unit_of_work
from centralino.storage.tables import events


def _count(services, event_type: str) -> int:
    with services.engine.connect() as conn:
        return int(conn.execute(select(func.count()).where(events.c.type == event_type)).scalar_one())


def test_an_in_transaction_listener_runs_before_commit_and_may_emit(services, recorder):
    seen = []

    def listener(uow, event):
        seen.append(event.payload["n"])
        uow.emit("test.echo", n=event.payload["n"])

    services.bus.subscribe_in_transaction("test.cause", listener)
    with unit_of_work(services.engine, services.bus) as uow:
        uow.emit("test.cause", n=7)
        assert seen == [7]  # ran at emit, inside the transaction
        assert recorder.types() == []  # after-commit listeners wait
    assert recorder.types() == ["test.cause", "test.echo"]
    assert _count(services, "test.echo") == 1


def test_a_failing_in_transaction_listener_rolls_the_cause_back(services, recorder):
    def listener(uow, event):
        uow.conn.execute(insert(events).values(type="test.side", occurred_at=event.occurred_at, payload={}))
        raise RuntimeError("boom")

    services.bus.subscribe_in_transaction("test.cause", listener)
    with pytest.raises(RuntimeError), unit_of_work(services.engine, services.bus) as uow:
        uow.emit("test.cause", n=1)
    assert _count(services, "test.side") == 0
    assert _count(services, "test.cause") == 0
    assert recorder.types() == []


def test_a_batch_listener_runs_once_before_commit_with_every_event_of_its_type(services, recorder):
    batches = []

    def listener(uow, events):
        batches.append([e.payload["n"] for e in events])
        if events[0].payload["n"] == 1:
            uow.emit("test.cause", n=99)  # its own events get their turn too

    services.bus.subscribe_in_transaction_batch("test.cause", listener)
    with unit_of_work(services.engine, services.bus) as uow:
        uow.emit("test.cause", n=1)
        uow.emit("test.other", n=2)
        uow.emit("test.cause", n=3)
        assert batches == []  # not at emit time
    assert batches == [[1, 3], [99]]
    assert recorder.types() == ["test.cause", "test.other", "test.cause", "test.cause"]
    assert _count(services, "test.cause") == 3


def test_a_failing_batch_listener_rolls_the_cause_back(services, recorder):
    def listener(uow, events):
        raise RuntimeError("boom")

    services.bus.subscribe_in_transaction_batch("test.cause", listener)
    with pytest.raises(RuntimeError), unit_of_work(services.engine, services.bus) as uow:
        uow.emit("test.cause", n=1)
    assert _count(services, "test.cause") == 0
    assert recorder.types() == []

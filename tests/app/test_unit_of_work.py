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

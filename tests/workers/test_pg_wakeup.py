"""A separate worker process hears stored deliveries through PostgreSQL NOTIFY (workers/pg_wakeup.py)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from centralino.storage import deliveries
from centralino.workers.pg_wakeup import DeliveryWakeup, libpq_url


@pytest.fixture(params=[pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """PostgreSQL only: LISTEN/NOTIFY is what is tested (SQLite runs workers in the web process)."""
    from tests.conftest import _truncate_pg

    url: str = request.getfixturevalue("pg_database")
    _truncate_pg(url)
    return url


def test_storing_deliveries_wakes_a_listener_in_another_connection(services) -> None:
    woken = threading.Semaphore(0)
    wakeup = DeliveryWakeup(services.engine.url, woken.release)
    wakeup.start()
    try:
        assert woken.acquire(timeout=10)  # the wake-up after (re)connecting: whatever was stored before
        assert not woken.acquire(timeout=0.3)  # nothing stored, nothing heard
        with services.engine.begin() as conn:
            deliveries.store_many(conn, "whatsapp", [b'{"entry": []}'], datetime.now(UTC))
        assert woken.acquire(timeout=10)
        with services.engine.connect() as conn, conn.begin() as tx:  # a rolled-back store is never announced
            deliveries.store_many(conn, "whatsapp", [b'{"entry": []}'], datetime.now(UTC))
            tx.rollback()
        assert not woken.acquire(timeout=0.5)
    finally:
        wakeup.stop()


def test_the_listener_url_is_libpq_form(services) -> None:
    url = libpq_url(services.engine.url)
    assert url.startswith("postgresql://") and "+psycopg" not in url

"""The PostgreSQL pool pings a connection only after it sat idle: one killed meanwhile is replaced unseen."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.pool import NullPool

from centralino.storage import db
from centralino.storage.db import make_engine


@pytest.fixture
def pg_url(pg_database: str) -> str:
    return pg_database


def _backend_pid(engine) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _kill(url: str, pid: int) -> None:
    other = make_engine(url, poolclass=NullPool)
    with other.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        conn.commit()
    other.dispose()


@pytest.mark.postgres
def test_an_idle_connection_killed_meanwhile_is_replaced_before_use(pg_url: str,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    engine = make_engine(pg_url, pool_size=1, max_overflow=0)
    try:
        first = _backend_pid(engine)
        _kill(pg_url, first)
        monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 0.0)  # it counts as idle now
        assert _backend_pid(engine) != first  # no error: the ping found it dead, a new one answered
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_a_connection_in_steady_use_is_not_pinged(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = make_engine(pg_url, pool_size=1, max_overflow=0)
    try:
        monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 3600.0)
        first = _backend_pid(engine)
        _kill(pg_url, first)
        # used a moment ago: not pinged, so the dead connection shows as an error once ...
        with pytest.raises(Exception, match=r"terminat|closed|server"):
            _backend_pid(engine)
        # ... and the pool has dropped it: the next use gets a fresh one
        assert _backend_pid(engine) != first
    finally:
        engine.dispose()

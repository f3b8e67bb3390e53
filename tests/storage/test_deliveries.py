"""Raw webhook deliveries: the group commit's driver-level insert reads back exactly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from centralino.services import Services
from centralino.storage import deliveries
from centralino.storage.tables import webhook_deliveries


def test_store_many_round_trips_bytes_and_time(services: Services) -> None:
    now = datetime(2026, 11, 25, 13, 0, 0, 0, tzinfo=UTC)  # whole second: no microseconds to drop
    bodies = [b'{"entry": []}', bytes(range(256)), b"\x00" * 10]
    with services.engine.begin() as conn:
        deliveries.store_many(conn, "whatsapp", bodies, now)
    with services.engine.connect() as conn:
        rows = conn.execute(select(webhook_deliveries).order_by(webhook_deliveries.c.id)).all()
    assert [bytes(r.body) for r in rows] == bodies
    assert {r.received_at for r in rows} == {now}
    assert {(r.channel_kind, r.state, r.attempts) for r in rows} == {("whatsapp", "pending", 0)}


def test_stored_deliveries_are_claimable_in_order(services: Services) -> None:
    now = datetime.now(UTC)
    with services.engine.begin() as conn:
        deliveries.store_many(conn, "whatsapp", [b"a", b"b"], now)
    with services.engine.begin() as conn:
        claimed = deliveries.claim(conn, 10, timedelta(seconds=30), now + timedelta(seconds=1))
    assert [c.body for c in claimed] == [b"a", b"b"]
    assert [c.attempts for c in claimed] == [1, 1]


def test_store_many_keeps_a_timezone_aware_instant(services: Services) -> None:
    rome = datetime(2026, 6, 1, 14, 30, 15, 250000, tzinfo=UTC).astimezone(ZoneInfo("Europe/Rome"))
    with services.engine.begin() as conn:
        deliveries.store_many(conn, "whatsapp", [b"x"], rome)
    with services.engine.connect() as conn:
        stored = conn.execute(select(webhook_deliveries.c.received_at)).scalar_one()
    assert stored == rome

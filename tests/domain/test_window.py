"""The 24 h customer-service window: computed from the customer's timestamp, only moves forward."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from centralino.domain.window import SERVICE_WINDOW, extend, state, window_expiry

T0 = datetime(2026, 9, 21, 10, 0, tzinfo=UTC)
H = timedelta(hours=1)


def test_window_is_24_hours_from_the_customer_message() -> None:
    assert timedelta(hours=24) == SERVICE_WINDOW
    assert window_expiry(T0) == datetime(2026, 9, 22, 10, 0, tzinfo=UTC)


def test_first_message_opens_the_window() -> None:
    assert extend(None, T0) == T0 + 24 * H


def test_newer_message_moves_the_window_forward() -> None:
    assert extend(T0 + 24 * H, T0 + 5 * H) == T0 + 29 * H


def test_late_old_message_never_shortens_the_window() -> None:
    current = T0 + 24 * H
    assert extend(current, T0 - 3 * H) == current
    assert extend(current, T0) == current


def test_expiry_comes_from_the_customer_timestamp_not_from_now() -> None:
    # A message written 23 h ago and delivered only now leaves one hour, not 24.
    now = T0 + 23 * H
    window = state(extend(None, T0), now)
    assert window.is_open and window.seconds_left == 3600 and window.closes_at == T0 + 24 * H


def test_state_open_before_expiry() -> None:
    expiry = T0 + 24 * H
    assert state(expiry, T0).seconds_left == 24 * 3600
    last_second = state(expiry, expiry - timedelta(seconds=1))
    assert last_second.is_open and last_second.seconds_left == 1 and last_second.closes_at == expiry


def test_state_closed_at_and_after_expiry() -> None:
    expiry = T0 + 24 * H
    for now in (expiry, expiry + timedelta(microseconds=1), expiry + 48 * H):
        window = state(expiry, now)
        assert not window.is_open and window.seconds_left == 0 and window.closes_at == expiry


def test_state_without_any_customer_message_is_closed() -> None:
    window = state(None, T0)
    assert not window.is_open and window.closes_at is None and window.seconds_left == 0


def test_seconds_left_truncates_partial_seconds() -> None:
    window = state(T0 + timedelta(seconds=10, milliseconds=900), T0)
    assert window.is_open and window.seconds_left == 10


offsets = st.integers(min_value=-10 * 24 * 3600, max_value=10 * 24 * 3600).map(lambda s: T0 + timedelta(seconds=s))


@given(messages=st.lists(offsets, min_size=1, max_size=10), data=st.data())
def test_any_delivery_order_gives_the_latest_message_plus_24h(messages: list[datetime], data: st.DataObject) -> None:
    expiry = None
    for at in data.draw(st.permutations(messages)):
        previous = expiry
        expiry = extend(expiry, at)
        assert previous is None or expiry >= previous
    assert expiry == max(messages) + SERVICE_WINDOW


@given(message_at=offsets, now=offsets)
def test_open_exactly_while_now_is_before_expiry(message_at: datetime, now: datetime) -> None:
    window = state(extend(None, message_at), now)
    assert window.is_open == (now < message_at + SERVICE_WINDOW)
    expected_left = int((message_at + SERVICE_WINDOW - now).total_seconds()) if window.is_open else 0
    assert window.seconds_left == expected_left

"""Pacing with an injected clock: rate slots exactly 1/rate apart, per-customer spacing makes later
messages wait (never fail), backoff grows and is bounded."""

from __future__ import annotations

import itertools

import pytest

from centralino.domain.pacing import Due, PairSpacer, RatePacer, SendWindow, backoff, plan


def test_rate_slots_are_exactly_one_interval_apart_without_drift() -> None:
    pacer = RatePacer(80)
    slots = [pacer.reserve(1000.0) for _ in range(400)]
    assert slots[0] == 1000.0
    # Computed from the previous slot, not from when a send happened: the 400th is 399/80 s later.
    assert slots[-1] == pytest.approx(1000.0 + 399 / 80, abs=1e-9)
    gaps = {round(b - a, 9) for a, b in itertools.pairwise(slots)}
    assert gaps == {round(1 / 80, 9)}


def test_late_requests_never_borrow_and_idle_pacers_restart_now() -> None:
    pacer = RatePacer(10)
    assert pacer.reserve(0.0) == 0.0
    assert pacer.reserve(0.0) == pytest.approx(0.1)
    assert pacer.reserve(5.0) == 5.0  # idle for a while: no burst credit, the next slot is now
    assert pacer.reserve(5.0) == pytest.approx(5.1)
    assert pacer.peek(5.0) == pytest.approx(5.2)  # peeking takes nothing
    assert pacer.reserve(5.0) == pytest.approx(5.2)
    pacer.pause_until(9.0)
    assert pacer.reserve(6.0) == 9.0
    with pytest.raises(ValueError):
        RatePacer(0)


def test_a_thousand_per_second() -> None:
    pacer = RatePacer(1000)
    slots = [pacer.reserve(0.0) for _ in range(1000)]
    assert slots[-1] == pytest.approx(0.999)


def test_pair_spacing() -> None:
    spacer = PairSpacer(6.0)
    assert spacer.earliest("a", 100.0) == 100.0
    spacer.record("a", 100.0)
    assert spacer.earliest("a", 101.0) == 106.0
    assert spacer.earliest("b", 101.0) == 101.0
    spacer.record("a", 90.0)  # an older record never moves it back
    assert spacer.last("a") == 100.0
    spacer.forget_before(106.5)
    assert spacer.last("a") is None


def test_plan_sends_within_the_horizon_and_defers_the_same_customer() -> None:
    pacer, spacer = RatePacer(2), PairSpacer(6.0)
    due = [Due(1, 0.0, "giulia"), Due(2, 0.0, "giulia"), Due(3, 0.0, "marco"), Due(4, 0.0, "giulia"),
           Due(5, 0.0, None)]
    planned = plan(due, now=100.0, horizon=1.0, pacer=pacer, spacer=spacer)
    by_id = {p.id: p for p in planned}
    assert by_id[1].send and by_id[1].at == 100.0
    # The later ones to the same customer wait 6 s after the previous, one behind the other.
    assert not by_id[2].send and by_id[2].at == 106.0
    assert by_id[3].send and by_id[3].at == 100.5  # rate 2/s: the next slot
    assert not by_id[4].send and by_id[4].at == 112.0
    assert by_id[5].send and by_id[5].at == 101.0  # read receipts only take a rate slot
    assert spacer.last("giulia") == 100.0 and spacer.last("marco") == 100.5


def test_plan_stops_where_the_rate_cannot_fit_the_horizon() -> None:
    pacer, spacer = RatePacer(4), PairSpacer(0.0)
    due = [Due(i, 0.0, f"c{i}") for i in range(10)]
    planned = plan(due, now=0.0, horizon=1.0, pacer=pacer, spacer=spacer)
    assert [p.at for p in planned] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert all(p.send for p in planned)
    # The next round continues exactly where the slots left off.
    again = plan(due[5:], now=0.6, horizon=1.0, pacer=pacer, spacer=spacer)
    assert [p.at for p in again][:2] == [1.25, 1.5]


def test_a_deferred_row_due_later_is_sent_once_its_time_comes() -> None:
    pacer, spacer = RatePacer(10), PairSpacer(6.0)
    spacer.record("giulia", 100.0)
    [first] = plan([Due(7, 100.0, "giulia")], now=101.0, horizon=1.0, pacer=pacer, spacer=spacer)
    assert not first.send and first.at == 106.0
    [later] = plan([Due(7, 106.0, "giulia")], now=106.0, horizon=1.0, pacer=pacer, spacer=spacer)
    assert later.send and later.at == 106.0


def test_backoff_grows_exponentially_is_capped_and_jittered() -> None:
    assert [backoff(n, 2.0, 300.0, 1.0) for n in range(1, 6)] == [2.0, 4.0, 8.0, 16.0, 32.0]
    assert backoff(20, 2.0, 300.0, 1.0) == 300.0
    assert backoff(3, 2.0, 300.0, 0.0) == 4.0  # half the step at the lowest jitter
    assert 4.0 <= backoff(3, 2.0, 300.0, 0.37) <= 8.0


def test_the_send_window_holds_a_catch_up_burst_to_the_limit_per_period() -> None:
    window = SendWindow(limit=4, period=1.0)
    # Slots 0.25 s apart, the event loop stalled until 0.8: the four late sends may all go at 0.8 ...
    for slot in (0.0, 0.25, 0.5, 0.75):
        at = window.earliest(max(slot, 0.8))
        assert at == pytest.approx(0.8)
        window.record(at)
    # ... but the next (slot 1.0) only once the first of them is a period old.
    assert window.earliest(1.0) == pytest.approx(1.8)
    window.record(1.8)
    assert window.earliest(1.9) == pytest.approx(1.9)  # three of the burst are a period old by then


def test_the_send_window_costs_nothing_while_slots_are_kept() -> None:
    window, pacer = SendWindow(limit=10), RatePacer(10)
    for _ in range(50):
        slot = pacer.reserve(0.0)
        assert window.earliest(slot) == pytest.approx(slot)
        window.record(slot)


def test_the_send_window_needs_a_limit() -> None:
    with pytest.raises(ValueError):
        SendWindow(limit=0)

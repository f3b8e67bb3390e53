"""Meta's 130429 read per number: a few refusals near the limit keep the pace (bunched arrivals, retried),
many within a second cut it to the share Meta accepted, and the pace climbs back afterwards."""

from __future__ import annotations

import pytest

from centralino.domain.pacing import ThroughputGuard


def send_second(guard: ThroughputGuard, start: float, sends: int, refused: set[int], rate: float) -> list[bool]:
    """One second of `sends` outcomes evenly spread from `start`; those at the indexes in `refused` are 130429."""
    return [guard.record(start + i / sends, i in refused, rate) for i in range(sends)]


def test_a_few_refusals_a_second_near_the_limit_keep_the_pace() -> None:
    guard = ThroughputGuard()
    for second in range(10):  # 15 of 980 refused every second, in one bunch: arrivals bunched on the way
        cuts = send_second(guard, float(second), 980, set(range(500, 515)), 980)
        assert not any(cuts)
    assert guard.factor(10.0) == 1.0


def test_the_first_second_of_a_campaign_is_judged_against_the_pace_not_the_few_sends_so_far() -> None:
    guard = ThroughputGuard()
    assert not any(send_second(guard, 0.0, 30, {20, 21, 22, 23, 24, 25, 26}, 980))  # 7 of 30, but 7 of ~980 due
    assert guard.factor(1.0) == 1.0


def test_a_number_limited_below_its_configured_rate_is_slowed_to_what_meta_accepts() -> None:
    guard = ThroughputGuard(recovery_per_s=0.0)
    # configured 1,000/s but Meta holds the number at 80/s: after the 80th send of the second all are refused
    outcomes = send_second(guard, 0.0, 980, set(range(80, 980)), 980)
    first_cut = outcomes.index(True)
    assert first_cut == 80 + 49 - 1  # 49 refusals = 5% of a second's 980 sends
    assert guard.factor(1.0) == pytest.approx(80 / 129)
    assert outcomes.count(True) == 1  # at most one cut a second
    # the next second, at the new pace, still mostly refused: cut again, to about Meta's 80/s
    pace = 980 * guard.factor(1.0)
    outcomes = send_second(guard, 1.0, int(pace), set(range(40, int(pace))), pace)
    assert any(outcomes)
    assert 980 * guard.factor(2.0) < 120


def test_the_pace_climbs_back_after_a_cut_and_never_below_the_floor() -> None:
    guard = ThroughputGuard(recovery_per_s=0.1, floor=0.05)
    assert guard.record(0.0, True, 1.0) is False  # fewer than min_refusals: never a cut on one refusal
    for i in range(1, 5):
        guard.record(i / 100, True, 1.0)
    assert guard.factor(0.04) == 0.05  # all refused: the floor, not zero
    assert guard.factor(1.04) == pytest.approx(0.055)
    assert guard.factor(100.0) == 1.0
    assert guard.factor(50.0) == 1.0  # an earlier clock reading does not undo recovery

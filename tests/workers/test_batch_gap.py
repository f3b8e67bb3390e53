"""Pacing of the delivery worker's rounds (workers/runtime.py batch_gap)."""

from __future__ import annotations

from centralino.workers.runtime import batch_gap


def test_rounds_start_at_most_every_min_interval() -> None:
    assert abs(batch_gap(now=10.01, last_start=10.0, min_interval=0.05, taken=3, full=100) - 0.04) < 1e-9
    assert batch_gap(now=10.2, last_start=10.0, min_interval=0.05, taken=3, full=100) == 0.0  # a long round


def test_a_full_batch_or_no_interval_goes_on_at_once() -> None:
    assert batch_gap(10.01, 10.0, 0.05, 100, 100) == 0.0  # a backlog: keep draining
    assert batch_gap(10.01, 10.0, 0.0, 3, 100) == 0.0  # interval 0: no gathering

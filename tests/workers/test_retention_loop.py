"""The retention loop: a failing pass is logged and retried later, never ends the loop's task."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from centralino.workers.retention import RetentionLoop


class Failing:
    batch = 500

    def run_once(self) -> int:
        raise RuntimeError("database away")


class Counting:
    batch = 2

    def __init__(self) -> None:
        self.results = [2, 2, 1]

    def run_once(self) -> int:
        return self.results.pop(0)


def test_a_failing_pass_is_logged_and_counts_as_nothing(caplog: pytest.LogCaptureFixture) -> None:
    loop = RetentionLoop(Failing())  # type: ignore[arg-type]
    with caplog.at_level(logging.ERROR):
        assert loop.run_once() == 0
    assert "applying retention failed" in caplog.text


@pytest.mark.anyio
async def test_full_batches_go_round_again_at_once_then_it_waits(monkeypatch: Any) -> None:
    import asyncio

    counting = Counting()
    loop = RetentionLoop(counting, interval_s=3600)  # type: ignore[arg-type]
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        raise asyncio.CancelledError

    monkeypatch.setattr("centralino.workers.retention.asyncio.sleep", fake_sleep)
    with pytest.raises(asyncio.CancelledError):
        await loop.run_forever()
    assert counting.results == [] and slept == [3600]

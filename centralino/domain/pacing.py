"""Send pacing: a per-number rate, a minimum spacing per recipient, and retry backoff.

Pure and clock-free: every function takes the time (seconds, any epoch) from its caller, so
the sender can run on the wall clock and the tests on a fake one.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass


class RatePacer:
    """A scheduled-time pacer: consecutive sends get slots exactly 1/rate apart.

    Each slot is computed from the previous slot, not from when the previous send happened, so
    sleeping, scheduling jitter or slow requests never make the rate drift; an idle pacer
    starts again at once (no burst credit is kept)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._next = float("-inf")

    @property
    def rate(self) -> float:
        return self._rate

    @rate.setter
    def rate(self, value: float) -> None:
        if not value > 0:
            raise ValueError("rate must be positive")
        self._rate = value

    @property
    def interval(self) -> float:
        return 1.0 / self._rate

    def peek(self, at: float) -> float:
        """The slot a send wanted at `at` would get, without taking it."""
        return max(at, self._next)

    def reserve(self, at: float) -> float:
        slot = self.peek(at)
        self._next = slot + self.interval
        return slot

    def pause_until(self, until: float) -> None:
        """No slot before `until` (the provider said the number's rate was exceeded)."""
        self._next = max(self._next, until)


class SendWindow:
    """At most `limit` sends in any `period` seconds, counted when they actually go out: the
    provider's own rule (Meta counts a number's messages per second), applied on our side.

    Rate slots are 1/rate apart, but a send can only go out once the event loop gets to it: after a
    stall the late slots would all leave together, and the provider, counting arrivals, would see
    more than its limit in one second (130429). Counted at dispatch, such a catch-up never puts more
    than `limit` sends in one period; it costs nothing while the slots are kept."""

    def __init__(self, limit: int, period: float = 1.0) -> None:
        if limit < 1 or not period > 0:
            raise ValueError("limit must be at least 1 and period positive")
        self.period = period
        self._sent: deque[float] = deque(maxlen=limit)

    @property
    def limit(self) -> int:
        limit = self._sent.maxlen
        assert limit is not None
        return limit

    def earliest(self, at: float) -> float:
        """The earliest moment from `at` on when one more send keeps the limit."""
        if len(self._sent) < self.limit:
            return at
        return max(at, self._sent[0] + self.period)

    def record(self, at: float) -> None:
        self._sent.append(at)


class PairSpacer:
    """At most one send per `interval` seconds to the same recipient (0 turns it off)."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._last: dict[str, float] = {}

    def earliest(self, key: str, at: float) -> float:
        last = self._last.get(key)
        return at if last is None else max(at, last + self.interval)

    def record(self, key: str, at: float) -> None:
        if at > self._last.get(key, float("-inf")):
            self._last[key] = at

    def last(self, key: str) -> float | None:
        return self._last.get(key)

    def forget_before(self, at: float) -> None:
        """Drop recipients whose spacing ended before `at` (keeps memory bounded)."""
        self._last = {k: t for k, t in self._last.items() if t + self.interval > at}


@dataclass(frozen=True)
class Due:
    id: int
    due_at: float
    recipient: str | None  # None: not subject to the per-recipient spacing (read receipts)


@dataclass(frozen=True)
class Planned:
    id: int
    at: float
    send: bool  # True: send at `at` (a rate slot is reserved); False: wait until `at`


def plan(items: Sequence[Due], now: float, horizon: float, pacer: RatePacer, spacer: PairSpacer) -> list[Planned]:
    """Decide, in order, when each due item goes out.

    Items whose slot falls within `horizon` of `now` get a rate slot and are sent; an item that
    must wait for its recipient's spacing is deferred to that time (it waits, it does not
    fail), and later items to the same recipient queue behind it. Planning stops at the first
    item the rate cannot fit within the horizon: the rest stay as they are for the next round."""
    out: list[Planned] = []
    planned: dict[str, float] = {}  # this round's deferrals, so one recipient's backlog spreads out
    for item in items:
        at = max(now, item.due_at)
        if item.recipient is not None:
            at = spacer.earliest(item.recipient, at)
            if item.recipient in planned:
                at = max(at, planned[item.recipient] + spacer.interval)
        limit = now + horizon + 1e-6  # float slack: epoch seconds carry ~1e-7 s of rounding
        if at > limit:
            if item.recipient is not None:
                planned[item.recipient] = at
            out.append(Planned(item.id, at, send=False))
            continue
        if pacer.peek(at) > limit:
            break
        slot = pacer.reserve(at)
        if item.recipient is not None:
            spacer.record(item.recipient, slot)
        out.append(Planned(item.id, slot, send=True))
    return out


def backoff(attempt: int, base: float, cap: float, jitter: float) -> float:
    """Seconds before retry number `attempt` (1-based): base·2^(attempt-1), capped, scaled by a
    jitter in [0, 1] to between half and all of the step (spreads retries of many messages)."""
    step = min(cap, base * 2.0 ** max(0, attempt - 1))
    return step * (0.5 + 0.5 * min(1.0, max(0.0, jitter)))

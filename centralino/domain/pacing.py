"""Send pacing: a per-number rate (and what Meta's refusals say of it), a minimum spacing per recipient,
and retry backoff.

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


class ThroughputGuard:
    """What to make of Meta's "too many messages per second" (130429) for one number.

    Sends paced within the limit can still reach Meta bunched up (the network, a stalled process on either
    side) and Meta counts arrivals, so a few refusals a second are expected near the limit. Those sends are
    retried and the pace is kept: a pause would cost more slots than the refusals did (docs/benchmarks.md).
    Refusals beyond `tolerated_share` of a second's sends mean the number's real limit is lower than
    configured (Meta moved it, a number shared with the Business app): the pace drops to the share that was
    accepted, at most once a `period`, and climbs back by `recovery_per_s` (compounded) from then on."""

    def __init__(self, *, period: float = 1.0, tolerated_share: float = 0.05, min_refusals: int = 5,
                 recovery_per_s: float = 0.1, floor: float = 0.01) -> None:
        self.period = period
        self.tolerated_share = tolerated_share
        self.min_refusals = min_refusals
        self.recovery_per_s = recovery_per_s
        self.floor = floor
        self._factor = 1.0
        self._as_of: float | None = None
        self._cut_at = float("-inf")
        self._outcomes: deque[tuple[float, bool]] = deque()
        self._refused = 0

    def factor(self, now: float) -> float:
        """The share of the configured rate to pace at now (1.0 unless refusals said otherwise)."""
        if self._as_of is not None and now > self._as_of and self._factor < 1.0:
            self._factor = min(1.0, self._factor * (1.0 + self.recovery_per_s) ** (now - self._as_of))
        self._as_of = now if self._as_of is None else max(self._as_of, now)
        return self._factor

    def record(self, now: float, refused: bool, expected: float) -> bool:
        """Note one send's outcome (`refused`: a 130429); `expected`: the sends a period holds at the
        current pace. True when the pace was just cut (the caller lets Meta's window drain)."""
        factor = self.factor(now)
        self._outcomes.append((now, refused))
        self._refused += refused
        while self._outcomes and self._outcomes[0][0] <= now - self.period:
            self._refused -= self._outcomes.popleft()[1]
        sends = len(self._outcomes)
        if (not refused or now - self._cut_at < self.period
                or self._refused < max(self.min_refusals, self.tolerated_share * max(sends, expected))):
            return False
        self._factor = max(self.floor, factor * (1.0 - self._refused / sends))
        self._cut_at = now
        self._outcomes.clear()
        self._refused = 0
        return True


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

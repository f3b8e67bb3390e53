"""Meta's send limits: messages per second per business number, and the pair rate per customer."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from centralino.simulator.config import PairRate


class Throughput:
    """Sliding one-second window of accepted sends per business number."""

    def __init__(self) -> None:
        self._sent: dict[str, deque[float]] = {}

    def allows(self, phone_number_id: str, mps: int, now: float) -> bool:
        window = self._sent.setdefault(phone_number_id, deque())
        while window and window[0] <= now - 1.0:
            window.popleft()
        return len(window) < mps

    def count(self, phone_number_id: str, now: float) -> None:
        self._sent.setdefault(phone_number_id, deque()).append(now)

    def clear(self) -> None:
        self._sent.clear()


@dataclass(frozen=True)
class PairVerdict:
    violation: bool  # inside the interval since the previous message to this customer
    refuse: bool  # 131056


class PairRateLimiter:
    """One message per `interval` to the same customer; strict, Meta-like burst, or only recorded."""

    def __init__(self, rule: PairRate) -> None:
        self.rule = rule
        self._last: dict[tuple[str, str], float] = {}
        self._tokens: dict[tuple[str, str], tuple[float, float]] = {}  # (tokens, as of)

    def check(self, phone_number_id: str, wa_id: str, now: float) -> PairVerdict:
        key = (phone_number_id, wa_id)
        last = self._last.get(key)
        violation = last is not None and now - last < self.rule.interval
        if self.rule.mode == "strict":
            return PairVerdict(violation, violation)
        if self.rule.mode == "record":
            return PairVerdict(violation, False)
        return PairVerdict(violation, self._tokens_now(key, now) < 1.0)

    def count(self, phone_number_id: str, wa_id: str, now: float) -> None:
        key = (phone_number_id, wa_id)
        self._last[key] = now
        self._tokens[key] = (self._tokens_now(key, now) - 1.0, now)

    def _tokens_now(self, key: tuple[str, str], now: float) -> float:
        tokens, since = self._tokens.get(key, (float(self.rule.burst), now))
        refill = (now - since) / self.rule.interval if self.rule.interval > 0 else float(self.rule.burst)
        return min(float(self.rule.burst), tokens + refill)

    def clear(self) -> None:
        self._last.clear()
        self._tokens.clear()

"""The values the understanding library hands out: examples in, predictions and entities out."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    language: str | None = None


@dataclass(frozen=True)
class Prediction:
    intent: str | None  # None: out of scope (matches no intent well enough)
    confidence: float  # 0..1: the head's probability of its top intent
    ranking: tuple[tuple[str, float], ...]  # the top 5 (intent, probability), best first


@dataclass(frozen=True)
class Entity:
    """kind: order_number, tracking_code, booking_code (or any configured pattern's name), date, time,
    datetime (ISO value), amount ("12.50 EUR"), number, email, phone (E.164), fiscal_code, iban."""

    kind: str
    value: str  # normalised
    text: str  # as written
    start: int
    end: int

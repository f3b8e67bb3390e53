"""The WhatsApp customer-service window: 24 h from the customer's last inbound message."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

SERVICE_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class WindowState:
    is_open: bool
    closes_at: datetime | None
    seconds_left: int


def window_expiry(customer_message_at: datetime) -> datetime:
    """When the window opened by a customer message closes (from the customer's timestamp, never ours)."""
    return customer_message_at + SERVICE_WINDOW


def extend(current_expiry: datetime | None, customer_message_at: datetime) -> datetime:
    """Windows only move forward: an old message delivered late never shortens the window."""
    candidate = window_expiry(customer_message_at)
    if current_expiry is None or candidate > current_expiry:
        return candidate
    return current_expiry


def state(expiry: datetime | None, now: datetime) -> WindowState:
    if expiry is None or expiry <= now:
        return WindowState(is_open=False, closes_at=expiry, seconds_left=0)
    return WindowState(is_open=True, closes_at=expiry, seconds_left=int((expiry - now).total_seconds()))

"""Delivery status ordering: a message's status is a function of the set of statuses seen.

Deriving it from the set (not from arrival order) is what makes the end state the same
whatever order and however often Meta delivers the webhooks.
"""

from __future__ import annotations

from collections.abc import Iterable

from centralino.domain.enums import DeliveryStatus

_RANK = {
    DeliveryStatus.QUEUED: 0,
    DeliveryStatus.ACCEPTED: 1,
    DeliveryStatus.SENT: 2,
    DeliveryStatus.DELIVERED: 3,
    DeliveryStatus.READ: 4,
    DeliveryStatus.PLAYED: 5,
}


def rank(status: DeliveryStatus) -> int:
    """Progress rank; failed and unknown have none (-1)."""
    return _RANK.get(status, -1)


def resolve_status(seen: Iterable[DeliveryStatus], current: DeliveryStatus | None = None) -> DeliveryStatus:
    """The status a message shows, given every status reported for it.

    Highest progress wins (a late `delivered` never downgrades `read`). `failed` shows only when
    nothing beyond `sent` was reported: a multi-device user can produce `delivered` after `failed`,
    and then the message did reach them. Unknown values never change the outcome.
    """
    statuses = set(seen)
    if current is not None:
        statuses.add(current)
    best = max(statuses, key=rank, default=DeliveryStatus.QUEUED)
    if DeliveryStatus.FAILED in statuses and rank(best) <= rank(DeliveryStatus.SENT):
        return DeliveryStatus.FAILED
    if rank(best) < 0:
        return current if current is not None else DeliveryStatus.QUEUED
    return best


def is_progress(status: DeliveryStatus) -> bool:
    return rank(status) >= 0 or status is DeliveryStatus.FAILED

"""Run a DeliveryWorker until no delivery is pending (retries included, as the worker loop would)."""

from __future__ import annotations

import time

from sqlalchemy import func, select

from centralino.services import Services
from centralino.storage.tables import webhook_deliveries


def pending(services: Services) -> int:
    with services.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(webhook_deliveries)
                                .where(webhook_deliveries.c.state == "pending")).scalar_one())


def drain_all(services: Services, timeout_s: float = 300.0) -> int:
    deadline = time.monotonic() + timeout_s
    taken = 0
    while time.monotonic() < deadline:
        taken += services.delivery_worker.drain()
        if pending(services) == 0:
            break
        time.sleep(0.05)  # the rest is claimed by another worker or waiting for its retry time
    return taken

"""Turns stored webhook deliveries into applied events. Runs in-process or as `centralino worker`."""

from __future__ import annotations

import logging
import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from centralino.app.inbound import InboundProcessor
from centralino.channels.registry import adapter
from centralino.storage import deliveries

log = logging.getLogger(__name__)


class DeliveryWorker:
    def __init__(self, engine: Engine, processor: InboundProcessor, *, batch: int = 100,
                 lease: timedelta = timedelta(seconds=60), max_attempts: int = 10) -> None:
        self.engine = engine
        self.processor = processor
        self.batch = batch
        self.lease = lease
        self.max_attempts = max_attempts
        self.adapter = adapter(processor.kind)

    def run_once(self) -> int:
        """Process one batch of due deliveries; how many were taken."""
        with self.engine.begin() as conn:
            claimed = deliveries.claim(conn, self.batch, self.lease)
        for delivery in claimed:
            self._process(delivery)
        return len(claimed)

    def drain(self, max_rounds: int = 1_000_000) -> int:
        total = 0
        for _ in range(max_rounds):
            taken = self.run_once()
            total += taken
            if taken == 0:
                break
        return total

    def _process(self, delivery: deliveries.Delivery) -> None:
        try:
            for event in self.adapter.parse(delivery.body):
                self.processor.do_apply(event, delivery_id=delivery.id)
        except Exception as exc:
            give_up = delivery.attempts >= self.max_attempts
            backoff = min(3600.0, 2.0 ** delivery.attempts) * random.uniform(0.5, 1.0)
            log.exception("delivery %s failed (attempt %d)%s", delivery.id, delivery.attempts,
                          "; giving up" if give_up else "")
            with self.engine.begin() as conn:
                deliveries.mark_retry(conn, delivery.id, f"{type(exc).__name__}: {exc}",
                                      datetime.now(UTC) + timedelta(seconds=backoff), give_up)
            return
        with self.engine.begin() as conn:
            deliveries.mark_processed(conn, delivery.id, datetime.now(UTC))

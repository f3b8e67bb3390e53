"""The retention loop: every few minutes one batch of each kind of data with a policy (app/retention.py);
while a kind still has a full batch due it goes round again at once, so a first run over years of data
catches up in bounded transactions instead of one long one."""

from __future__ import annotations

import asyncio
import logging

from centralino.app.retention import Retention

log = logging.getLogger(__name__)

INTERVAL_S = 300.0


class RetentionLoop:
    def __init__(self, retention: Retention, interval_s: float = INTERVAL_S) -> None:
        self.retention = retention
        self.interval_s = interval_s

    def run_once(self) -> int:
        try:
            return self.retention.run_once()
        except Exception:
            log.exception("applying retention failed; retrying at the next interval")
            return 0

    async def run_forever(self) -> None:
        while True:
            removed = await asyncio.to_thread(self.run_once)
            if removed < self.retention.batch:
                await asyncio.sleep(self.interval_s)

"""Scheduled retraining of the bot's model (setting bot_retrain_interval_s; 0 = off): a look every CHECK_S
whether a version is due (app/bot_learning.BotLearning.retrain_due: the interval has passed since the newest
version and examples were added since), then the training in a thread. The activation gate decides whether the
new version answers."""

from __future__ import annotations

import asyncio
import logging

from centralino.app.bot_learning import BotLearning

log = logging.getLogger(__name__)

CHECK_S = 60.0


class RetrainLoop:
    def __init__(self, learning: BotLearning, check_s: float = CHECK_S) -> None:
        self.learning = learning
        # never look less often than the interval asks (a 30 s interval is checked every 30 s)
        self.check_s = min(check_s, learning.retrain_interval_s) if learning.retrain_interval_s > 0 else check_s

    def run_once(self) -> int | None:
        try:
            return self.learning.tick()
        except Exception:
            log.exception("scheduled retraining failed; trying again at the next check")
            return None

    async def run_forever(self) -> None:
        while True:
            await asyncio.to_thread(self.run_once)
            await asyncio.sleep(self.check_s)

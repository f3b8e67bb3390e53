"""The campaign feeder: keeps each running campaign's channel a couple of seconds of sends deep.

Every tick: scheduled campaigns whose time has come start; for each running campaign, the channel's
queued outbox rows are counted and, below LOOKAHEAD_S seconds of the campaign's rate, one batch of
planned recipients becomes queued messages (app/campaign_feed.py: one transaction per batch). Feeding
only a little ahead of the sender is what makes pause and cancel take effect within seconds; the
rows' due times, 1/rate apart, are what hold a campaign below its number's rate.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from centralino.app.campaign_feed import latest_due, queued_depth
from centralino.app.campaigns import CampaignService
from centralino.domain.campaigns import CampaignStatus
from centralino.storage import campaigns as repo

log = logging.getLogger(__name__)

TICK_S = 0.2
IDLE_TICK_S = 1.0  # no campaign running: scheduled starts are checked once a second
LOOKAHEAD_S = 2.0  # the channel's outbox is kept about this many seconds of sends deep
MAX_BATCH = 1000  # recipients per transaction


class CampaignFeedLoop:
    def __init__(self, engine: Engine, campaigns: CampaignService, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.campaigns = campaigns
        self.clock = clock
        self._next_slot: dict[int, float] = {}  # campaign id → when its next message is due
        self.running = 0  # campaigns running at the last tick

    def run_once(self) -> int:
        """One tick; how many recipients were queued or skipped."""
        self.campaigns.start_due()
        with self.engine.connect() as conn:
            running = repo.with_status(conn, [CampaignStatus.RUNNING.value])
        self.running = len(running)
        moved = 0
        for campaign in running:
            moved += self._feed(campaign)
        for gone in set(self._next_slot) - {int(c["id"]) for c in running}:
            del self._next_slot[gone]
        return moved

    def _feed(self, campaign: Mapping[str, Any]) -> int:
        campaign_id, channel_id = int(campaign["id"]), int(campaign["channel_id"])
        rate = float(campaign["rate_per_s"])
        now = self.clock()
        with self.engine.connect() as conn:
            depth = queued_depth(conn, channel_id)
            if campaign_id not in self._next_slot:  # after a restart: after what is already queued
                last = latest_due(conn, channel_id)
                self._next_slot[campaign_id] = last.timestamp() if last is not None else now
        # Feed up to LOOKAHEAD_S of the campaign's slots ahead; no burst credit after a pause or a stall.
        # A sender that falls behind (a slower number, a busy machine) stops the feeding: the outbox
        # never holds more than twice the look-ahead.
        slot = max(self._next_slot[campaign_id], now)
        want = min(MAX_BATCH, int((now + LOOKAHEAD_S - slot) * rate), int(2 * LOOKAHEAD_S * rate) + 1 - depth)
        if want <= 0:
            return 0
        result = self.campaigns.feeder.do_feed(campaign_id, want, _dt(slot), rate, _dt(now))
        if result.next_slot is not None:
            self._next_slot[campaign_id] = result.next_slot.timestamp()
        return result.queued + result.skipped

    async def run_forever(self) -> None:
        while True:
            try:
                moved = await asyncio.to_thread(self.run_once)
            except Exception:
                log.exception("campaign feeder round failed; retrying")
                moved = 0
            # busy: come back soon to keep the queue topped up; running: a tick is plenty; nothing running:
            # a slower tick (a campaign started by a person takes effect within a second)
            await asyncio.sleep(TICK_S / 2 if moved else TICK_S if self.running else IDLE_TICK_S)


def _dt(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


"""Downloads customers' attachments into the media store, retrying with backoff."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from centralino.app.channel_directory import ChannelDirectory
from centralino.app.unit_of_work import unit_of_work
from centralino.channels.registry import adapter
from centralino.channels.whatsapp.graph import GraphError
from centralino.events.bus import EventBus
from centralino.storage import media as media_repo

log = logging.getLogger(__name__)


def backoff_seconds(attempt: int, base: float = 5.0, cap: float = 6 * 3600) -> float:
    """Exponential backoff with full jitter in [½, 1] of the step."""
    step: float = min(cap, base * 2.0 ** max(0, attempt - 1))
    return step * random.uniform(0.5, 1.0)


class MediaFetcher:
    def __init__(self, engine: Engine, directory: ChannelDirectory, bus: EventBus | None, media_dir: Path,
                 client: Any, *, max_attempts: int = 8, batch: int = 10,
                 lease: timedelta = timedelta(minutes=5)) -> None:
        self.engine = engine
        self.directory = directory
        self.bus = bus
        self.media_dir = media_dir
        self.client = client
        self.max_attempts = max_attempts
        self.batch = batch
        self.lease = lease

    async def run_once(self) -> int:
        def claim() -> list[media_repo.DueMedia]:
            with self.engine.begin() as conn:
                return media_repo.claim_due(conn, self.batch, self.lease)

        due = await asyncio.to_thread(claim)
        await asyncio.gather(*(self._fetch(item) for item in due))
        return len(due)

    async def _fetch(self, item: media_repo.DueMedia) -> None:
        channel = self.directory.by_id(item.channel_id)
        try:
            if channel is None:
                raise GraphError(f"channel {item.channel_id} no longer exists", transient=False)
            content, mime = await adapter(channel.kind).fetch_media(channel, item.provider_id, self.client)
        except GraphError as exc:
            give_up = not exc.is_transient or item.attempts >= self.max_attempts
            retry_at = None if give_up else datetime.now(UTC) + timedelta(seconds=backoff_seconds(item.attempts))
            log.warning("media %s (message %s) attempt %d failed: %s%s", item.provider_id, item.message_id,
                        item.attempts, exc, "; giving up" if give_up else "")
            await asyncio.to_thread(self._retry, item, str(exc), retry_at)
            return
        await asyncio.to_thread(self._store, item, content, mime or item.mime_type)

    def _retry(self, item: media_repo.DueMedia, error: str, retry_at: datetime | None) -> None:
        with unit_of_work(self.engine, self.bus) as uow:
            media_repo.mark_retry(uow.conn, item.id, error, retry_at)
            if retry_at is None:
                uow.emit("message.media_failed", message_id=item.message_id, error=error)

    def _store(self, item: media_repo.DueMedia, content: bytes, mime: str | None) -> None:
        digest = hashlib.sha256(content).hexdigest()
        relative = Path(digest[:2]) / digest
        target = self.media_dir / relative
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(".part")
            tmp.write_bytes(content)
            tmp.replace(target)  # atomic: a crash never leaves a half file under the final name
        with unit_of_work(self.engine, self.bus) as uow:
            media_repo.mark_stored(uow.conn, item.id, str(relative), len(content), mime)
            uow.emit("message.media_stored", message_id=item.message_id, size=len(content))

"""An in-memory view of the channels, refreshed on a miss: webhook routing must not query per request."""

from __future__ import annotations

import threading
import time

from sqlalchemy import Engine

from centralino.storage import channels as channel_repo
from centralino.storage.channels import Channel, SecretBox


class ChannelDirectory:
    def __init__(self, engine: Engine, box: SecretBox, min_refresh_s: float = 1.0) -> None:
        self._engine = engine
        self._box = box
        self._min_refresh_s = min_refresh_s
        self._lock = threading.Lock()
        self._by_address: dict[tuple[str, str], Channel] = {}
        self._by_account: dict[tuple[str, str], list[Channel]] = {}
        self._by_id: dict[int, Channel] = {}
        self._loaded_at = 0.0

    def refresh(self) -> None:
        with self._engine.connect() as conn:
            loaded = channel_repo.load_all(conn, self._box)
        by_account: dict[tuple[str, str], list[Channel]] = {}
        for ch in loaded:
            if ch.account_id:
                by_account.setdefault((ch.kind, ch.account_id), []).append(ch)
        with self._lock:
            self._by_address = {(ch.kind, ch.address): ch for ch in loaded}
            self._by_account = by_account
            self._by_id = {ch.id: ch for ch in loaded}
            self._loaded_at = time.monotonic()

    def _refresh_if_stale(self) -> bool:
        if time.monotonic() - self._loaded_at >= self._min_refresh_s:
            self.refresh()
            return True
        return False

    def by_address(self, kind: str, address: str) -> Channel | None:
        found = self._by_address.get((kind, address))
        if found is None and self._refresh_if_stale():
            found = self._by_address.get((kind, address))
        return found

    def by_account(self, kind: str, account_id: str) -> list[Channel]:
        found = self._by_account.get((kind, account_id))
        if not found and self._refresh_if_stale():
            found = self._by_account.get((kind, account_id))
        return list(found or [])

    def by_id(self, channel_id: int) -> Channel | None:
        found = self._by_id.get(channel_id)
        if found is None and self._refresh_if_stale():
            found = self._by_id.get(channel_id)
        return found

    def all(self, kind: str | None = None) -> list[Channel]:
        if not self._by_id:
            self._refresh_if_stale()
        return [ch for ch in self._by_id.values() if kind is None or ch.kind == kind]

"""One daemon thread that runs handed-over work in order, started on first use: for after-commit listeners
(automation rules, case status queries) that must not slow the thread that committed (the inbound worker).

At most once: work queued when the process stops is lost, as after-commit listeners are (docs/events.md)."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


class Background:
    def __init__(self, name: str, handle: Callable[[list[Any]], None], *, batch: int = 200) -> None:
        """`handle(items)`: called in the thread with what is queued (up to `batch` at once, oldest first)."""
        self.name = name
        self.handle = handle
        self.batch = batch
        self._queue: queue.Queue[Any] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def put(self, item: Any) -> None:
        self._queue.put(item)
        if self._thread is None or not self._thread.is_alive():
            with self._lock:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._forever, name=self.name, daemon=True)
                    self._thread.start()

    def wait_idle(self) -> None:
        """Block until everything queued so far (and whatever that queued in turn) has been handled."""
        self._queue.join()

    def _forever(self) -> None:
        while True:
            items = [self._queue.get()]
            while len(items) < self.batch:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                self.handle(items)
            except Exception:
                log.exception("background work %s failed", self.name)
            finally:
                for _ in items:
                    self._queue.task_done()

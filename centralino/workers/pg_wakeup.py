"""Wakes a worker process when another process stored webhook deliveries (PostgreSQL LISTEN/NOTIFY).

In one process the web server's group commit wakes the embedded delivery worker directly. A separate
`centralino worker` would otherwise only find new deliveries at its next poll (worker_poll_s, 1 s):
storing a batch sends `NOTIFY centralino_deliveries` in the same transaction (storage/deliveries.py), so
it arrives exactly when the rows are visible. A thread blocks on one dedicated connection; a lost
connection is opened again, with one wake-up after each (nothing heard while it was down is lost:
the deliveries are in the table, the wake-up makes the worker look).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import psycopg
from sqlalchemy.engine import URL

from centralino.storage.deliveries import DELIVERIES_CHANNEL

log = logging.getLogger(__name__)

RECONNECT_S = 1.0
CHECK_STOP_S = 1.0


def libpq_url(url: URL) -> str:
    """SQLAlchemy's URL (postgresql+psycopg://…) as the conninfo psycopg takes."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class DeliveryWakeup:
    def __init__(self, url: URL, wake: Callable[[], None]) -> None:
        self.conninfo = libpq_url(url)
        self.wake = wake
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="deliveries-listen", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=CHECK_STOP_S + 1)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True) as conn:
                    conn.execute(f"LISTEN {DELIVERIES_CHANNEL}")
                    self.wake()  # whatever was stored while not listening
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=CHECK_STOP_S):
                            self.wake()
            except Exception:
                log.warning("listening for stored deliveries failed; listening again in %.0f s", RECONNECT_S,
                            exc_info=True)
                self._stop.wait(RECONNECT_S)

"""Helpers for tests that run the product as real processes: free ports, bounded waits."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(what: str, check: Callable[[], Any], timeout: float = 60.0,
             context: Callable[[], str] | None = None) -> Any:
    """Poll `check` until it returns something truthy (bounded; never a timing assertion). HTTP errors
    count as "not yet": the process may still be starting. `context` adds e.g. the processes' logs."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"{what}: not reached (last {last!r})" + (f"\n{context()}" if context else ""))

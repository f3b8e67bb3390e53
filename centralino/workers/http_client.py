"""The workers' shared HTTP client, its connections spread over several small pools.

httpcore's pool does work proportional to its number of connections for every request it
assigns (and polls every idle one), so one pool of a hundred connections spends more CPU
managing itself than sending (measured against a server answering in 100 ms: 64 concurrent
requests through one pool, ~8 ms of CPU per request and 119 requests/s; 128 through pools of 8,
~0.5 ms and ~1,100/s). Sending 1,000 messages/s to a Graph API ~100 ms away needs ~100 requests
in flight, so the one shared client routes each request to the least busy of several pools.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import httpx

CONNECTIONS_PER_POOL = 8


class PooledTransport(httpx.AsyncBaseTransport):
    def __init__(self, connections: int, per_pool: int = CONNECTIONS_PER_POOL,
                 make_pool: Callable[[httpx.Limits], httpx.AsyncBaseTransport] | None = None) -> None:
        count = max(1, math.ceil(connections / per_pool))
        limits = httpx.Limits(max_connections=per_pool, max_keepalive_connections=per_pool)
        make = make_pool or (lambda lim: httpx.AsyncHTTPTransport(limits=lim))
        self._pools = [make(limits) for _ in range(count)]
        self._busy = [0] * count

    @property
    def pools(self) -> int:
        return len(self._pools)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        index = min(range(len(self._pools)), key=self._busy.__getitem__)
        self._busy[index] += 1
        try:
            # The body is read by the caller right after; counting until the answer starts is close enough.
            return await self._pools[index].handle_async_request(request)
        finally:
            self._busy[index] -= 1

    async def aclose(self) -> None:
        for pool in self._pools:
            await pool.aclose()


def make_client(connections: int, timeout: httpx.Timeout | None = None) -> httpx.AsyncClient:
    """The client every worker loop shares (sender, media download)."""
    return httpx.AsyncClient(transport=PooledTransport(connections),
                             timeout=timeout or httpx.Timeout(30.0, connect=10.0))

"""The shared client spreads requests over small connection pools, the least busy first."""

from __future__ import annotations

import asyncio

import httpx

from centralino.workers.http_client import PooledTransport, make_client


class Gate(httpx.AsyncBaseTransport):
    """A pool stand-in that holds every request until released, counting what it got."""

    def __init__(self, _limits: httpx.Limits) -> None:
        self.seen = 0
        self.release = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen += 1
        await self.release.wait()
        return httpx.Response(200, json={"ok": True})


def test_pools_are_sized_from_the_connections_wanted():
    assert PooledTransport(128).pools == 16
    assert PooledTransport(20).pools == 3
    assert PooledTransport(1).pools == 1


def test_requests_go_to_the_least_busy_pool():
    async def scenario() -> list[int]:
        gates: list[Gate] = []

        def make(limits: httpx.Limits) -> Gate:
            gates.append(Gate(limits))
            return gates[-1]

        async with httpx.AsyncClient(transport=PooledTransport(32, per_pool=8, make_pool=make)) as client:
            calls = [asyncio.create_task(client.get("http://graph.test/x")) for _ in range(12)]
            while sum(g.seen for g in gates) < 12:
                await asyncio.sleep(0)
            spread = [g.seen for g in gates]
            for g in gates:
                g.release.set()
            assert all(r.status_code == 200 for r in await asyncio.gather(*calls))
            return spread

    assert asyncio.run(scenario()) == [3, 3, 3, 3]


def test_make_client_gives_one_client_over_the_pools():
    client = make_client(40)
    assert isinstance(client._transport, PooledTransport) and client._transport.pools == 5
    asyncio.run(client.aclose())

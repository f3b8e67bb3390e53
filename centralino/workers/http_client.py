"""The workers' HTTP clients: one aiohttp session per process for the Graph API calls of the sender
(sends, read receipts, media uploads), and an httpx client for the low-rate media downloads.

Why aiohttp for the sender: measured on the 2-core development machine, 3,000 small JSON POSTs
to a bare uvicorn endpoint cost ~80 µs of client CPU each through aiohttp (~8,000 requests/s)
and ~0.7-1 ms through httpx (~1,000/s; httpcore's pool also does work proportional to its number
of connections per request). At 1,000 messages/s that is the difference between a tenth of a core
and a whole one.
"""

from __future__ import annotations

import aiohttp
import httpx

# Waiting for a pooled connection and opening one both count against `connect`: a send that times
# out there never left (safe to retry). `total` bounds the whole call; running out of it after the
# connection was had is uncertain (channels/whatsapp/graph.py).
GRAPH_CONNECT_TIMEOUT_S = 10.0
GRAPH_TOTAL_TIMEOUT_S = 30.0
MEDIA_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


def make_graph_session(connections: int, *, connect_s: float = GRAPH_CONNECT_TIMEOUT_S,
                       total_s: float = GRAPH_TOTAL_TIMEOUT_S) -> aiohttp.ClientSession:
    """The session every Graph API call of this process shares; call from the event loop that uses it.

    `connections`: at most this many open at once (the sender's concurrency: one per send in
    flight, since HTTP/1.1 carries one request at a time per connection)."""
    connector = aiohttp.TCPConnector(limit=connections, limit_per_host=connections, ttl_dns_cache=300,
                                     keepalive_timeout=30)
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=total_s, connect=connect_s),
        # Graph API answers are JSON read whole; no cookies to keep between calls.
        cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=True,
    )


def make_media_client() -> httpx.AsyncClient:
    """The client the media downloads use (a few per minute: httpx's cost does not matter there)."""
    return httpx.AsyncClient(timeout=MEDIA_TIMEOUT)

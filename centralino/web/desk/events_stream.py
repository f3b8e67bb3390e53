"""`GET /desk/events`: the live desk's server-sent event stream, served as a plain ASGI handler.

A desk holds this stream open all day and receives a chunk for every batch of events it may see: with
200 agents that is thousands of chunks a second, so the stream is answered ahead of the framework's
middleware and response classes (web/app.py, like the webhooks): each chunk is one `send`. Events are
JSON objects ({type, conversation_id, message_id?, status?}); the page fetches the redrawn fragment.
Everything queued for the browser goes out as one chunk per wake-up (web/desk/live.py DeskClient).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from typing import Any

from starlette.requests import Request

from centralino.web.desk.live import DeskEventHub
from centralino.web.desk.pages import page_principal

PATH = "/desk/events"
# A stream ends after this long and the browser reconnects (EventSource, `retry: 1000`; the page then re-reads
# its view): a signed-out session stops receiving within it, and a stopping service is never held longer.
STREAM_SECONDS = 25.0
STREAM_JITTER = 0.2  # ± this share of STREAM_SECONDS
KEEPALIVE_SECONDS = 10.0
HEADERS = [(b"content-type", b"text/event-stream; charset=utf-8"), (b"cache-control", b"no-store"),
           (b"x-accel-buffering", b"no")]


async def serve(app: Any, scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["method"] not in ("GET", "HEAD"):
        await _plain(send, 405, b"method not allowed")
        return
    scope["app"] = app  # what Request.app (and so services(request)) reads
    principal = await asyncio.to_thread(page_principal, Request(scope, receive))
    if principal is None:
        await _plain(send, 401, b"")
        return
    hub: DeskEventHub = app.state.desk_events
    client = hub.connect(principal)

    async def watch_disconnect() -> None:
        # a closed browser ends the stream at once (a send after it would be dropped silently)
        while (await receive())["type"] != "http.disconnect":
            pass
        client.close()

    watcher = asyncio.create_task(watch_disconnect())
    try:
        await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
        await send({"type": "http.response.body", "body": b"retry: 1000\n\n", "more_body": True})
        # each stream's length varies a little, so browsers that connected together (a page load wave, a
        # restart) do not all reconnect in the same second ever after
        ends = time.monotonic() + STREAM_SECONDS * random.uniform(1 - STREAM_JITTER, 1 + STREAM_JITTER)
        while (left := ends - time.monotonic()) > 0:
            chunk = await client.next_chunk(min(KEEPALIVE_SECONDS, left))
            if chunk is None:  # the browser left or the server is stopping
                break
            await send({"type": "http.response.body", "body": chunk or b": keep-alive\n\n", "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    finally:
        hub.disconnect(client)
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher


async def _plain(send: Any, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})

"""GET /desk/events as a plain ASGI handler (web/desk/events_stream.py): headers, auth, and a browser that
leaves ends its stream at once."""

from __future__ import annotations

import asyncio

from centralino.web.desk import events_stream
from centralino.web.principal import SESSION_COOKIE
from tests.access_helpers import sign_in


def _scope(cookie: str | None, method: str = "GET") -> dict:
    headers = [(b"host", b"testserver")]
    if cookie:
        headers.append((b"cookie", f"{SESSION_COOKIE}={cookie}".encode()))
    return {"type": "http", "method": method, "path": events_stream.PATH, "raw_path": events_stream.PATH.encode(),
            "query_string": b"", "headers": headers, "scheme": "http", "server": ("testserver", 80),
            "client": ("127.0.0.1", 5000), "root_path": "", "http_version": "1.1"}


def test_a_browser_that_leaves_ends_its_stream_and_leaves_the_hub(client, org) -> None:
    sign_in(client, "agent_care")
    cookie = client.cookies.get(SESSION_COOKIE)
    app = client.app
    hub = app.state.desk_events

    async def scenario() -> tuple[list[dict], int, int]:
        sent: list[dict] = []
        left = asyncio.Event()
        connected = 0

        async def receive() -> dict:
            await left.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            nonlocal connected
            sent.append(message)
            if len(sent) == 2:  # the stream is open: the browser now closes its tab
                connected = len(hub.clients)
                left.set()

        await events_stream.serve(app, _scope(cookie), receive, send)
        return sent, connected, len(hub.clients)

    sent, connected, after = client.portal.call(scenario)
    assert sent[0]["status"] == 200
    assert (b"content-type", b"text/event-stream; charset=utf-8") in sent[0]["headers"]
    assert sent[1]["body"] == b"retry: 1000\n\n"
    # no keep-alive came before the end: the stream ended on the disconnect, not after its 10 s idle
    assert len(sent) == 3 and sent[2] == {"type": "http.response.body", "body": b"", "more_body": False}
    assert connected == 1 and after == 0


def test_without_a_session_the_stream_is_refused(client) -> None:
    assert client.get(events_stream.PATH).status_code == 401
    assert client.post(events_stream.PATH).status_code == 405

"""One browser's stream buffer (web/desk/live.py DeskClient): chunks, keep-alives, backlog, closing."""

from __future__ import annotations

import asyncio

import orjson

from centralino.domain.access import Principal, Role
from centralino.web.desk import live


def _client() -> live.DeskClient:
    return live.DeskClient(Principal(Role.AGENT, 7, frozenset({1})))


def test_everything_pending_goes_out_as_one_chunk_of_server_sent_events() -> None:
    async def run() -> bytes | None:
        client = _client()
        client.offer({"type": "message.received", "conversation_id": 1, "message_id": 2})
        client.offer_encoded(live.encode({"type": "conversation.read", "conversation_id": 1}))
        return await client.next_chunk(5)

    chunk = asyncio.run(run())
    assert chunk is not None
    events = [orjson.loads(p.removeprefix(b"data: ")) for p in chunk.split(b"\n\n") if p]
    assert events == [{"type": "message.received", "conversation_id": 1, "message_id": 2},
                      {"type": "conversation.read", "conversation_id": 1}]


def test_a_waiting_stream_wakes_on_an_offer_and_idles_to_an_empty_chunk() -> None:
    async def run() -> tuple[bytes | None, bytes | None]:
        client = _client()
        idle = await client.next_chunk(0.05)  # nothing came: the caller sends a keep-alive
        loop = asyncio.get_running_loop()
        loop.call_later(0.05, client.offer, {"type": "resync"})
        woken = await client.next_chunk(30)
        return idle, woken

    idle, woken = asyncio.run(run())
    assert idle == b""
    assert woken == live.RESYNC


def test_a_browser_too_far_behind_gets_one_resync_instead_of_the_backlog() -> None:
    client = _client()
    for i in range(live.CLIENT_QUEUE + 5):
        client.offer({"type": "message.received", "conversation_id": 1, "message_id": i})
    items = client.take_items()
    assert items[0] == {"type": "resync"}
    assert len(items) == 5  # what came after the resync still arrives
    assert client.take_items() == []


def test_a_closed_client_sends_what_is_left_then_ends() -> None:
    async def run() -> list[bytes | None]:
        client = _client()
        client.offer({"type": "conversation.read", "conversation_id": 3})
        client.close()
        return [await client.next_chunk(5), await client.next_chunk(5)]

    last, end = asyncio.run(run())
    assert last is not None and b'"conversation_id":3' in last
    assert end is None


def test_browsers_are_grouped_by_role_and_departments_for_one_visibility_decision() -> None:
    same = live.DeskClient(Principal(Role.AGENT, 8, frozenset({1})))
    other_department = live.DeskClient(Principal(Role.AGENT, 9, frozenset({2})))
    assert _client().audience == same.audience
    assert _client().audience != other_department.audience

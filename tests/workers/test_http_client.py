"""The sender's Graph API client (aiohttp) over real sockets on 127.0.0.1: what each transport failure
means for a send. Nothing left (connection refused, no pooled connection in time): transient, safe to
retry. The request left and no answer came (timeout, connection dropped, unreadable 2xx): uncertain,
reconciled and never blindly resent. Uploads and read receipts are safe to repeat: never uncertain.
Accepted sends, uploads and read receipts against the simulator are in test_sender.py."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from centralino.channels.whatsapp import graph
from centralino.domain.sending import Retry
from centralino.storage.channels import Channel
from centralino.workers.http_client import make_graph_session
from tests.factories import ACCESS_TOKEN, PNID, WABA

TEXT = {"messaging_product": "whatsapp", "to": "393471234567", "type": "text", "text": {"body": "ciao"}}


def channel_at(url: str) -> Channel:
    return Channel(id=1, kind="whatsapp", name="Support", address=PNID, account_id=WABA, display_address=None,
                   config={"graph_base_url": url, "graph_version": "v23.0"}, secrets={"access_token": ACCESS_TOKEN})


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def serving(handler: Handler) -> tuple[asyncio.Server, str]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}"


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    return head + await reader.readexactly(length)


async def never_answers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    await asyncio.Event().wait()  # the request arrived; the answer never comes


async def hangs_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    writer.close()  # took the request, closed the connection without a word


async def answers(status: int, body: bytes) -> Handler:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                     % (status, len(body), body))
        await writer.drain()
        writer.close()
    return handler


def refused_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # nothing listens there any more


async def outcome(call: Callable[[Any], Awaitable[Any]], **session_options: Any) -> Retry | str:
    """The retry class a call raised with (or 'ok')."""
    async with make_graph_session(4, **session_options) as session:
        try:
            await call(session)
        except graph.GraphError as exc:
            return exc.retry
    return "ok"


def send(url: str) -> Callable[[Any], Awaitable[Any]]:
    return lambda session: graph.send_message(channel_at(url), TEXT, session)


def upload(url: str) -> Callable[[Any], Awaitable[Any]]:
    return lambda session: graph.upload_media(channel_at(url), b"%PDF-1.4", "application/pdf", "a.pdf", session)


def read_receipt(url: str) -> Callable[[Any], Awaitable[Any]]:
    return lambda session: graph.mark_read(channel_at(url), "wamid.X", {"status": "read"}, session)


def test_connection_refused_is_transient_for_every_call():
    url = refused_url()

    async def scenario() -> list[Retry | str]:
        return [await outcome(call(url)) for call in (send, upload, read_receipt)]

    assert asyncio.run(scenario()) == [Retry.TRANSIENT] * 3


@pytest.mark.parametrize("handler", [never_answers, hangs_up], ids=["timeout after send", "dropped after send"])
def test_no_answer_after_the_request_left_is_uncertain_for_a_send(handler: Handler):
    async def scenario() -> list[Retry | str]:
        server, url = await serving(handler)
        async with server:
            return [await outcome(call(url), total_s=0.5) for call in (send, upload, read_receipt)]

    # The send may exist at Meta; an upload or a read receipt repeated is harmless.
    assert asyncio.run(scenario()) == [Retry.UNCERTAIN, Retry.TRANSIENT, Retry.TRANSIENT]


def test_waiting_for_a_pooled_connection_in_vain_is_transient():
    arrived = asyncio.Event()

    async def holds_the_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        arrived.set()
        await asyncio.Event().wait()

    async def scenario() -> Retry | str:
        server, url = await serving(holds_the_connection)
        async with server, make_graph_session(1, connect_s=0.2, total_s=30) as session:
            busy = asyncio.create_task(graph.send_message(channel_at(url), TEXT, session))
            await arrived.wait()  # the one connection is taken by a send in flight
            try:
                await graph.send_message(channel_at(url), TEXT, session)
                second: Retry | str = "ok"
            except graph.GraphError as exc:
                second = exc.retry
            busy.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await busy
            return second

    assert asyncio.run(scenario()) is Retry.TRANSIENT  # it never got a connection: nothing left


def test_answers_are_classified_by_metas_code():
    async def scenario() -> list[Any]:
        results = []
        for status, body in ((200, b'{"messaging_product":"whatsapp","messages":[{"id":"wamid.OK"}]}'),
                             (400, b'{"error":{"message":"(#131026) Undeliverable","code":131026,'
                                   b'"error_data":{"details":"not on WhatsApp"}}}'),
                             (400, b'{"error":{"message":"(#130429) Rate limit hit","code":130429}}'),
                             (502, b"bad gateway"),
                             (200, b"not json")):
            server, url = await serving(await answers(status, body))
            async with server, make_graph_session(4) as session:
                try:
                    results.append(await graph.send_message(channel_at(url), TEXT, session))
                except graph.GraphError as exc:
                    results.append((exc.retry, exc.code, exc.details))
        return results

    assert asyncio.run(scenario()) == [
        "wamid.OK",
        (Retry.PERMANENT, 131026, "not on WhatsApp"),
        (Retry.TRANSIENT, 130429, None),
        (Retry.TRANSIENT, None, None),
        (Retry.UNCERTAIN, None, None),  # a 2xx we cannot read: the message may exist
    ]


def test_the_request_carries_the_token_and_the_json_body():
    seen: list[bytes] = []

    async def recording(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await read_request(reader))
        body = b'{"messages":[{"id":"wamid.A"}]}'
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()
        writer.close()

    async def scenario() -> str:
        server, url = await serving(recording)
        async with server, make_graph_session(4) as session:
            return await graph.send_message(channel_at(url), TEXT, session)

    assert asyncio.run(scenario()) == "wamid.A"
    [request] = seen
    head, body = request.split(b"\r\n\r\n", 1)
    assert head.startswith(f"POST /v23.0/{PNID}/messages HTTP/1.1".encode())
    assert f"authorization: bearer {ACCESS_TOKEN}".encode() in head.lower()
    assert b"content-type: application/json" in head.lower()
    assert body == b'{"messaging_product":"whatsapp","to":"393471234567","type":"text","text":{"body":"ciao"}}'

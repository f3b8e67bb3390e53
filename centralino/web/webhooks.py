"""Provider webhooks: authenticate, store durably, answer. Nothing else happens in the request.

This is the one hot path of the service (Meta may post 1,000 deliveries a second per number), so it
is served as raw ASGI ahead of FastAPI's middleware stack (see web/app.py): no Request object, no
routing table, no per-request exit stack. Everything else goes through FastAPI as usual.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

import orjson

from centralino.channels.registry import ADAPTERS
from centralino.errors import CentralinoError, InvalidInput

log = logging.getLogger(__name__)

PREFIX = "/webhooks/"
MAX_BODY = 3 * 1024 * 1024 + 65536  # Meta's payloads reach 3 MB

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_EMPTY_200 = {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"0")]}
_EMPTY_BODY = {"type": "http.response.body", "body": b""}


async def serve(state: Any, scope: Scope, receive: Receive, send: Send) -> None:
    """Answer one webhook request; `state` is the application's state (services, writers)."""
    kind = scope["path"][len(PREFIX):].strip("/")
    method = scope["method"]
    try:
        adapter = ADAPTERS.get(kind)
        if adapter is None or "/" in kind:
            raise CentralinoError(f"no channel kind {kind!r}", code="not_found", status=404)
        if method == "GET":
            query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
            challenge = adapter.verify_handshake(query, state.services.directory)
            await _answer(send, 200, challenge.encode(), b"text/plain; charset=utf-8")
            return
        if method != "POST":
            raise CentralinoError(f"method {method} not allowed", code="method_not_allowed", status=405)
        body = await _read_body(receive)
        signature = ""
        for name, value in scope["headers"]:
            if name == b"x-hub-signature-256":
                signature = value.decode("latin-1")
                break
        adapter.authenticate(body, {"x-hub-signature-256": signature}, state.services.directory)
    except CentralinoError as exc:
        log.info("webhook %s refused: %s (%s)", kind, exc.code, exc.message)
        await _answer(send, exc.status, orjson.dumps(exc.to_dict()), b"application/json")
        return
    try:
        await state.writers[kind].store(body)  # durable before the 200
    except Exception:
        log.exception("webhook %s: storing the delivery failed", kind)  # Meta retries on a 5xx
        await _answer(send, 500, orjson.dumps({"error": {"code": "internal", "message": "not stored"}}),
                      b"application/json")
        return
    await send(_EMPTY_200)
    await send(_EMPTY_BODY)


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise InvalidInput("client disconnected before the body was complete", code="webhook.incomplete")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise InvalidInput("body larger than 3 MB", code="webhook.too_large", status=413)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def _answer(send: Send, status: int, body: bytes, content_type: bytes) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

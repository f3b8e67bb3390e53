"""Provider webhooks: authenticate, store durably, answer. Nothing else happens in the request."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from centralino.channels.registry import ADAPTERS
from centralino.errors import CentralinoError, InvalidInput
from centralino.web.errors import error_response

log = logging.getLogger(__name__)

MAX_BODY = 3 * 1024 * 1024 + 65536  # Meta's payloads reach 3 MB


def routes() -> list[Route]:
    # Plain Starlette routes: the hot path skips FastAPI's dependency and validation machinery.
    return [Route("/webhooks/{kind}", handle, methods=["GET", "POST"])]


async def handle(request: Request) -> Response:
    kind = request.path_params["kind"]
    adapter = ADAPTERS.get(kind)
    if adapter is None:
        return error_response(CentralinoError(f"no channel kind {kind!r}", code="not_found", status=404))
    services = request.app.state.services
    try:
        if request.method == "GET":
            challenge = adapter.verify_handshake(dict(request.query_params), services.directory)
            return PlainTextResponse(challenge)
        body = await request.body()
        if len(body) > MAX_BODY:
            raise InvalidInput("body larger than 3 MB", code="webhook.too_large", status=413)
        adapter.authenticate(body, {"x-hub-signature-256": request.headers.get("x-hub-signature-256", "")},
                             services.directory)
    except CentralinoError as exc:
        log.info("webhook %s refused: %s (%s)", kind, exc.code, exc.message)
        return error_response(exc)
    writer = request.app.state.writers[kind]
    await writer.store(body)  # durable before the 200; a failure here is a 500 and Meta retries
    return Response(status_code=200)

"""A local stand-in for Meta's Graph API (the subset Centralino calls), answering like Meta does.

Today: media metadata and download (with bearer-token checks and Meta's error payloads), plus
fault injection for tests. The outbound-messaging issue extends it with /messages and webhooks.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


@dataclass
class StoredMedia:
    content: bytes
    mime_type: str


@dataclass
class SimulatorState:
    access_tokens: set[str] = field(default_factory=set)
    media: dict[str, StoredMedia] = field(default_factory=dict)
    # Fault injection: the next N requests answer 500 / drop the connection mid-way.
    fail_next: int = 0
    corrupt_next: int = 0
    requests: list[str] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(900_000_000_000_001))

    def add_media(self, content: bytes, mime_type: str, media_id: str | None = None) -> str:
        media_id = media_id or str(next(self._ids))
        self.media[media_id] = StoredMedia(content, mime_type)
        return media_id


def graph_error(status: int, code: int, message: str, error_type: str = "OAuthException",
                details: str | None = None) -> JSONResponse:
    body: dict[str, object] = {"message": f"({'#' + str(code)}) {message}", "type": error_type, "code": code,
                               "fbtrace_id": "AsimulatorTrace0001"}
    if details:
        body["error_data"] = {"messaging_product": "whatsapp", "details": details}
    return JSONResponse({"error": body}, status_code=status)


def create_graph_app(state: SimulatorState, public_base: str = "") -> Starlette:
    """`public_base`: where this app is reachable (e.g. http://127.0.0.1:8000/simulator), for media URLs."""

    def authorised(request: Request) -> bool:
        header = request.headers.get("authorization", "")
        return header.startswith("Bearer ") and header[7:] in state.access_tokens

    def fault() -> Response | None:
        if state.fail_next > 0:
            state.fail_next -= 1
            return graph_error(500, 2, "Service temporarily unavailable", details="simulated outage")
        return None

    async def media_meta(request: Request) -> Response:
        state.requests.append(f"GET meta {request.path_params['media_id']}")
        if (failed := fault()) is not None:
            return failed
        if not authorised(request):
            return graph_error(401, 190, "Error validating access token: the session is invalid")
        media_id = request.path_params["media_id"]
        found = state.media.get(media_id)
        if found is None:
            return graph_error(400, 100, "Unsupported get request. Object with ID does not exist",
                               error_type="GraphMethodException")
        base = public_base or str(request.base_url).rstrip("/")
        return JSONResponse({
            "messaging_product": "whatsapp",
            "url": f"{base}/media-download/{media_id}?ext=1",
            "mime_type": found.mime_type,
            "sha256": hashlib.sha256(found.content).hexdigest(),
            "file_size": len(found.content),
            "id": media_id,
        })

    async def media_download(request: Request) -> Response:
        state.requests.append(f"GET file {request.path_params['media_id']}")
        if (failed := fault()) is not None:
            return failed
        if not authorised(request):
            return graph_error(401, 190, "Error validating access token: the session is invalid")
        found = state.media.get(request.path_params["media_id"])
        if found is None:
            return Response(status_code=404)
        content = found.content
        if state.corrupt_next > 0:
            state.corrupt_next -= 1
            content = content[:-1] + bytes([content[-1] ^ 0xFF]) if content else b"x"
        return Response(content, media_type=found.mime_type)

    return Starlette(routes=[
        Route("/media-download/{media_id}", media_download),
        Route("/{version}/{media_id}", media_meta),
    ])

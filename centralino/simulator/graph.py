"""The Graph API routes of the simulator (the subset Centralino calls), answering like Meta does.

    POST   /{version}/{phone-number-id}/messages          send / mark as read
    POST   /{version}/{phone-number-id}/media             upload (multipart)
    GET    /{version}/{media-id} · DELETE                 media URL and metadata / delete
    GET    /media-download/{media-id}                     the file (bearer token, like Meta's short-lived URL)
    GET    /{version}/{template-id} · /{phone-number-id}  one template / the number
    GET|POST|DELETE /{version}/{waba-id}/message_templates

`create_graph_app(state, public_base=...)` keeps the original media-only entry point working.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import orjson
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from centralino.simulator import media_rules, sending, templates
from centralino.simulator.config import BusinessNumber, SimulatorConfig
from centralino.simulator.errors import GraphError, bad_token, unknown_object
from centralino.simulator.state import SimulatorState, StoredMedia

if TYPE_CHECKING:
    from centralino.simulator.app import Simulator

__all__ = ["SimulatorState", "StoredMedia", "create_graph_app", "graph_error", "routes"]

VERSION = re.compile(r"v\d{1,2}\.\d{1,2}")
Handler = Callable[[Request], Awaitable[Response]]


def graph_error(status: int, code: int, message: str, error_type: str = "OAuthException",
                details: str | None = None) -> JSONResponse:
    """A Meta-shaped error answer (kept for callers of the original module)."""
    error = GraphError(code, details, status=status, title=message, error_type=error_type)
    return error.response()


def create_graph_app(state: SimulatorState, public_base: str = "") -> Starlette:
    """A simulator with no business numbers around `state`: media metadata and download with the tokens in
    `state.access_tokens`, fault injection through `state.fail_next` / `state.corrupt_next`.

    `public_base`: where this app is reachable (e.g. http://127.0.0.1:8000/simulator), for media URLs."""
    from centralino.simulator.app import Simulator

    return Simulator(SimulatorConfig(templates=()), state=state, public_base=public_base).app


def _token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    if header.startswith("Bearer "):
        return header[7:].strip()
    return request.query_params.get("access_token", "")


def _base_url(sim: Simulator, request: Request) -> str:
    if sim.public_base:
        return sim.public_base
    return f"{request.url.scheme}://{request.url.netloc}{request.scope.get('root_path', '')}".rstrip("/")


def routes(sim: Simulator) -> list[Route]:
    state = sim.state

    def endpoint(kind: str, key: str) -> Callable[[Handler], Handler]:
        """Common to every Graph call: request log, injected outage, version, access token, error rendering."""
        def wrap(handler: Handler) -> Handler:
            async def run(request: Request) -> Response:
                state.requests.append(f"{request.method} {kind} {request.path_params.get(key, '')}")
                try:
                    if state.fail_next > 0:
                        state.fail_next -= 1
                        raise GraphError(2, "simulated outage", status=500)
                    version = request.path_params.get("version")
                    if version is not None:
                        _check_version(sim, version)
                    if not sim.token_known(_token(request)):
                        raise bad_token()
                    return await handler(request)
                except GraphError as exc:
                    return exc.response()
            return run
        return wrap

    def business_number(request: Request) -> BusinessNumber:
        pnid = request.path_params["pnid"]
        number = sim.number(pnid)
        if number is None or not sim.token_grants(_token(request), phone_number_id=pnid):
            raise unknown_object(pnid, request.method.lower())
        return number

    @endpoint("messages", "pnid")
    async def messages(request: Request) -> Response:
        number = business_number(request)
        # orjson: this is the hot call of every sending benchmark, and the simulator shares their CPU
        return Response(orjson.dumps(sending.send(sim, number, await _json(request))),
                        media_type="application/json")

    @endpoint("upload", "pnid")
    async def upload(request: Request) -> Response:
        number = business_number(request)
        try:
            form = await request.form(max_files=1, max_fields=20, max_part_size=media_rules.MAX_UPLOAD + 1)
        except MultiPartException as exc:
            raise GraphError(131053, f"The upload could not be read: {exc.message}") from None
        product = form.get("messaging_product")
        if product != "whatsapp":
            raise GraphError(100, "The parameter messaging_product is required." if product is None
                             else f'Param messaging_product must be one of {{WHATSAPP}} - got "{product}".')
        file = form.get("file")
        if not isinstance(file, UploadFile):
            raise GraphError(131008, "The parameter file is required.")
        mime = form.get("type")
        if not isinstance(mime, str) or not mime:
            raise GraphError(131008, "The parameter type is required.")
        content = await file.read()
        media_rules.check_upload(content, mime)
        media_id = state.add_media(content, media_rules.base_mime(mime), state.new_media_id(),
                                   owner=number.phone_number_id, filename=file.filename)
        return JSONResponse({"id": media_id})

    @endpoint("templates", "waba_id")
    async def message_templates(request: Request) -> Response:
        waba_id = request.path_params["waba_id"]
        if not sim.numbers_of_waba(waba_id) or not sim.token_grants(_token(request), waba_id=waba_id):
            raise unknown_object(waba_id, request.method.lower())
        if request.method == "GET":
            return JSONResponse(templates.listing(sim, waba_id, request.query_params, request.url))
        if request.method == "POST":
            return JSONResponse(templates.create(sim, waba_id, await _json(request)))
        params = request.query_params
        return JSONResponse(templates.delete(sim, waba_id, params.get("name"), params.get("hsm_id")))

    @endpoint("meta", "object_id")
    async def graph_object(request: Request) -> Response:
        object_id = request.path_params["object_id"]
        token = _token(request)
        media = state.media.get(object_id)
        if media is not None:
            asked = request.query_params.get("phone_number_id")
            if ((media.owner and not sim.token_grants(token, phone_number_id=media.owner))
                    or (asked and media.owner and asked != media.owner)):
                raise unknown_object(object_id, request.method.lower())
            if request.method == "DELETE":
                del state.media[object_id]
                return JSONResponse({"success": True})
            return JSONResponse({"messaging_product": "whatsapp",
                                 "url": f"{_base_url(sim, request)}/media-download/{object_id}?ext=1",
                                 "mime_type": media.mime_type, "sha256": media.sha256,
                                 "file_size": len(media.content), "id": object_id})
        template = state.templates.get(object_id)
        if template is not None and request.method == "GET" and sim.token_grants(token, waba_id=template.waba_id):
            fields = [f for f in request.query_params.get("fields", "").split(",") if f]
            return JSONResponse(templates.describe(template, fields or templates.DEFAULT_FIELDS))
        number = sim.number(object_id)
        if number is not None and request.method == "GET" and sim.token_grants(token, phone_number_id=object_id):
            return JSONResponse(_number_node(number, request.query_params.get("fields", "")))
        raise unknown_object(object_id, request.method.lower())

    @endpoint("unknown", "edge")
    async def unknown_edge(request: Request) -> Response:
        raise GraphError(100, f"Unknown path components: /{request.path_params['edge']}")

    async def media_download(request: Request) -> Response:
        media_id = request.path_params["media_id"]
        state.requests.append(f"GET file {media_id}")
        if state.fail_next > 0:
            state.fail_next -= 1
            return GraphError(2, "simulated outage", status=500).response()
        found = state.media.get(media_id)
        token = _token(request)
        if not sim.token_known(token) or (found and found.owner
                                          and not sim.token_grants(token, phone_number_id=found.owner)):
            return bad_token().response()
        if found is None:
            return Response(status_code=404)
        content = found.content
        if state.corrupt_next > 0:
            state.corrupt_next -= 1
            content = content[:-1] + bytes([content[-1] ^ 0xFF]) if content else b"x"
        return Response(content, media_type=found.mime_type)

    every = ["GET", "POST", "DELETE"]
    return [
        Route("/media-download/{media_id}", media_download, methods=["GET"]),
        Route("/{version}/{pnid}/messages", messages, methods=["POST"]),
        Route("/{version}/{pnid}/media", upload, methods=["POST"]),
        Route("/{version}/{waba_id}/message_templates", message_templates, methods=every),
        Route("/{version}/{object_id}", graph_object, methods=every),
        Route("/{version}/{object_id}/{edge}", unknown_edge, methods=every),
    ]


def _check_version(sim: Simulator, version: str) -> None:
    if not VERSION.fullmatch(version):
        raise GraphError(100, f"Unknown path components: /{version}")
    if sim.config.graph_versions is not None and version not in sim.config.graph_versions:
        raise GraphError(2635, f"Graph API {version} is not accepted here (accepted: "
                               f"{', '.join(sorted(sim.config.graph_versions))}).")


async def _json(request: Request) -> Any:
    raw = await request.body()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise GraphError(100, "The request body is not valid JSON.") from None


def _number_node(number: BusinessNumber, fields: str) -> dict[str, Any]:
    node = {"verified_name": number.verified_name, "code_verification_status": "VERIFIED",
            "display_phone_number": number.display_phone_number, "quality_rating": "GREEN",
            "platform_type": "CLOUD_API", "throughput": {"level": "STANDARD"}, "id": number.phone_number_id}
    wanted = [f for f in fields.split(",") if f]
    return {k: v for k, v in node.items() if not wanted or k in wanted or k == "id"}

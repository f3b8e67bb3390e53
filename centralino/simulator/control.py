"""The control API under `/_sim`: drive simulated customers, inject faults, inspect and reset.

JSON in, JSON out; errors are `{"error": {"message": …}}` with 400/404/409. No authentication: the
simulator is a local development and test tool (bind it to 127.0.0.1).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from centralino.simulator import customers, statuses, templates, views
from centralino.simulator.customers import CustomerActionError
from centralino.simulator.errors import GraphError, status_error
from centralino.simulator.state import MessageRecord, SendFault, TemplateRecord

if TYPE_CHECKING:
    from centralino.simulator.app import Simulator

Handler = Callable[[Request], Awaitable[Response]]


class ControlError(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _guard(handler: Handler) -> Handler:
    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except (ControlError, CustomerActionError) as exc:
            return JSONResponse({"error": {"message": exc.message}}, status_code=exc.status)
        except GraphError as exc:
            return exc.response()
        except ValueError as exc:
            return JSONResponse({"error": {"message": str(exc)}}, status_code=400)
    return run


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise ControlError("the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ControlError("the body must be a JSON object")
    return data


def routes(sim: Simulator) -> list[Route]:
    state = sim.state

    def message(request: Request) -> MessageRecord:
        found = state.messages.get(request.path_params["message_id"])
        if found is None:
            raise ControlError("no such message", 404)
        return found

    def template(request: Request) -> TemplateRecord:
        found = state.templates.get(request.path_params["template_id"])
        if found is None:
            raise ControlError("no such template", 404)
        return found

    def pnid_of(request: Request) -> str:
        return customers.number_for(sim, request.query_params.get("phone_number_id")).phone_number_id

    async def numbers(_request: Request) -> Response:
        return JSONResponse([{"phone_number_id": n.phone_number_id, "waba_id": n.waba_id,
                              "display_phone_number": n.display_phone_number, "verified_name": n.verified_name,
                              "webhook_url": n.webhook_url, "mps": sim.config.mps_of(n)}
                             for n in sim.config.numbers])

    async def customer_list(request: Request) -> Response:
        pnid = request.query_params.get("phone_number_id")
        return JSONResponse([views.customer_view(sim, c, pnid) for c in state.customers.values()])

    async def customer_create(request: Request) -> Response:
        body = await _body(request)
        if "wa_id" not in body:
            raise ControlError("wa_id is required")
        reachable = body.get("reachable")
        customer = customers.ensure_customer(sim, str(body["wa_id"]), body.get("name"),
                                             None if reachable is None else bool(reachable))
        return JSONResponse(views.customer_view(sim, customer), status_code=201)

    async def customer_conversation(request: Request) -> Response:
        wa_id = request.path_params["wa_id"]
        pnid = pnid_of(request)
        return JSONResponse({"phone_number_id": pnid, "wa_id": wa_id,
                             "messages": views.conversation_view(sim, pnid, wa_id)})

    async def customer_message(request: Request) -> Response:
        record = customers.send(sim, request.path_params["wa_id"], await _body(request))
        return JSONResponse({"id": record.id, "message": record.payload}, status_code=201)

    async def customer_tap(request: Request) -> Response:
        body = await _body(request)
        if not body.get("message_id") or body.get("id") is None:
            raise ControlError("message_id and id (button id, row id or quick-reply index/text) are required")
        record = customers.tap(sim, request.path_params["wa_id"], str(body["message_id"]), str(body["id"]))
        return JSONResponse({"id": record.id, "message": record.payload}, status_code=201)

    async def customer_read(request: Request) -> Response:
        body = await _body(request)
        pnid = customers.number_for(sim, body.get("phone_number_id")).phone_number_id
        return JSONResponse({"read": statuses.read_by_customer(sim, pnid, request.path_params["wa_id"])})

    async def message_get(request: Request) -> Response:
        return JSONResponse(views.message_view(message(request)))

    async def message_statuses(request: Request) -> Response:
        record, body = message(request), await _body(request)
        wanted = body.get("statuses")
        if not isinstance(wanted, list) or not wanted or not set(wanted) <= statuses.STATUSES:
            raise ControlError(f"statuses must be a list of {', '.join(sorted(statuses.STATUSES))}")
        error = None
        if "failed" in wanted:
            code = int(body.get("error_code", 131000))
            error = status_error(code, body.get("error_details"))
            state.stats_of(record.phone_number_id).failed[code] += 1
        statuses.emit(sim, record, list(wanted), batch=bool(body.get("batch")), error=error)
        return JSONResponse(views.message_view(record))

    async def message_duplicate(request: Request) -> Response:
        return JSONResponse({"reposted": statuses.redeliver(sim, message(request))})

    async def message_play(request: Request) -> Response:
        record = message(request)
        if record.direction != "out" or record.type != "audio" or record.status == "failed":
            raise ControlError("only a delivered business audio message can be played", 409)
        statuses.play(sim, record)
        return JSONResponse(views.message_view(record))

    async def faults(request: Request) -> Response:
        if request.method == "DELETE":
            state.faults.clear()
        elif request.method == "POST":
            body = await _body(request)
            mode = body.get("mode", "sync")
            if mode not in ("sync", "async") or not isinstance(body.get("code"), int):
                raise ControlError("a fault needs an integer code and mode sync or async")
            pnid = body.get("phone_number_id")
            fault = SendFault(int(body["code"]), mode, None if pnid is None else str(pnid), body.get("details"))
            state.faults.extend([fault] * int(body.get("count", 1)))
        return JSONResponse([{"code": f.code, "mode": f.mode, "phone_number_id": f.phone_number_id}
                             for f in state.faults])

    async def stats(_request: Request) -> Response:
        return JSONResponse({"numbers": {pnid: s.as_json() for pnid, s in state.stats.items()},
                             "duplicates": list(state.duplicates), "webhooks": sim.dispatcher.summary()})

    async def webhooks(_request: Request) -> Response:
        return JSONResponse({**sim.dispatcher.summary(),
                             "attempts": [vars(a) for a in list(sim.dispatcher.log)[-200:]]})

    async def reset(_request: Request) -> Response:
        sim.reset()
        return JSONResponse({"reset": True})

    async def template_list(request: Request) -> Response:
        waba = request.query_params.get("waba_id")
        return JSONResponse([{**templates.describe(t), "waba_id": t.waba_id, "quality": t.quality,
                              "reason": t.reason} for t in state.templates.values() if waba in (None, t.waba_id)])

    async def template_seed(request: Request) -> Response:
        body = await _body(request)
        number = customers.number_for(sim, body.pop("phone_number_id", None))
        status = str(body.pop("status", "APPROVED")).upper()
        record = templates.add(sim, str(body.pop("waba_id", number.waba_id)), body, status=status)
        return JSONResponse(templates.describe(record), status_code=201)

    async def template_review(request: Request) -> Response:
        record = template(request)
        if record.status != "PENDING":
            raise ControlError(f"the template is {record.status}, not PENDING", 409)
        templates.review(sim, record)
        return JSONResponse(templates.describe(record))

    async def template_status(request: Request) -> Response:
        record, body = template(request), await _body(request)
        templates.set_status(sim, record, str(body.get("status", "")), body.get("reason", "NONE"))
        return JSONResponse(templates.describe(record))

    async def template_category(request: Request) -> Response:
        record, body = template(request), await _body(request)
        templates.set_category(sim, record, str(body.get("category", "")))
        return JSONResponse(templates.describe(record))

    async def template_quality(request: Request) -> Response:
        record, body = template(request), await _body(request)
        templates.set_quality(sim, record, str(body.get("quality", "")))
        return JSONResponse({**templates.describe(record), "quality": record.quality})

    async def media_file(request: Request) -> Response:
        found = state.media.get(request.path_params["media_id"])
        if found is None:
            raise ControlError("no such media", 404)
        inline = found.mime_type in ("image/png", "image/jpeg", "image/webp")
        headers = {"X-Content-Type-Options": "nosniff",
                   "Content-Disposition": "inline" if inline else "attachment"}
        return Response(found.content, media_type=found.mime_type if inline else "application/octet-stream",
                        headers=headers)

    async def ui_state(request: Request) -> Response:
        pnid = pnid_of(request) if sim.config.numbers else None
        wa_id = request.query_params.get("wa_id")
        conversation = views.conversation_view(sim, pnid, wa_id) if pnid and wa_id else []
        return JSONResponse({"phone_number_id": pnid,
                             "customers": [views.customer_view(sim, c, pnid) for c in state.customers.values()],
                             "messages": conversation})

    async def script(_request: Request) -> Response:
        source = resources.files("centralino.simulator").joinpath("pages/phones.js").read_text()
        return Response(source, media_type="text/javascript")

    table: list[tuple[str, Handler, list[str]]] = [
        ("/numbers", numbers, ["GET"]),
        ("/customers", customer_list, ["GET"]),
        ("/customers", customer_create, ["POST"]),
        ("/customers/{wa_id}/conversation", customer_conversation, ["GET"]),
        ("/customers/{wa_id}/messages", customer_message, ["POST"]),
        ("/customers/{wa_id}/tap", customer_tap, ["POST"]),
        ("/customers/{wa_id}/read", customer_read, ["POST"]),
        ("/messages/{message_id}", message_get, ["GET"]),
        ("/messages/{message_id}/statuses", message_statuses, ["POST"]),
        ("/messages/{message_id}/duplicate", message_duplicate, ["POST"]),
        ("/messages/{message_id}/play", message_play, ["POST"]),
        ("/faults", faults, ["GET", "POST", "DELETE"]),
        ("/stats", stats, ["GET"]),
        ("/webhooks", webhooks, ["GET"]),
        ("/reset", reset, ["POST"]),
        ("/templates", template_list, ["GET"]),
        ("/templates", template_seed, ["POST"]),
        ("/templates/{template_id}/review", template_review, ["POST"]),
        ("/templates/{template_id}/status", template_status, ["POST"]),
        ("/templates/{template_id}/category", template_category, ["POST"]),
        ("/templates/{template_id}/quality", template_quality, ["POST"]),
        ("/media/{media_id}", media_file, ["GET"]),
        ("/ui/state", ui_state, ["GET"]),
        ("/static/phones.js", script, ["GET"]),
    ]
    return [Route(path, _guard(handler), methods=methods) for path, handler, methods in table]

"""Sending a template and previewing one (token or session authenticated). Thin: app/template_send.py
finds the template, picks the language, checks the parameters and queues through the outbound use case.

Parameters: {"header": …, "body": [..] or {name: value}, "buttons": [{"index": 0, "value": …}]}; any value
may be {"from": "contact.name" | "contact.attributes.<key>" | "case.<field>" | "payload.<path>"}, the
payload being the request's `payload` object (docs/templates.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from centralino.app.template_send import TemplateRequest, TemplateSender, preview
from centralino.app.visibility import check_conversation_visible
from centralino.errors import InvalidInput, NotFound
from centralino.storage import queries
from centralino.storage import templates as template_repo
from centralino.web.api import Svc, with_media_link
from centralino.web.principal import CurrentPrincipal, current_principal
from centralino.web.schemas import MessageOut

router = APIRouter(prefix="/api/v1", dependencies=[Depends(current_principal)], tags=["templates"])


class TemplateSendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=512)
    language: str | None = Field(default=None, max_length=16)  # unset: customer's, its base, the default
    parameters: dict[str, Any] = Field(default_factory=dict)
    payload: dict[str, Any] | None = None  # what {"from": "payload.…"} parameters read


class PreviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    template_id: int | None = None  # a stored template …
    definition: dict[str, Any] | None = None  # … or an unsaved one, in Meta's create-template JSON
    parameters: dict[str, Any] | None = None  # unset: the text with its variables as written
    payload: dict[str, Any] | None = None


class ProblemOut(BaseModel):
    field: str
    code: str
    message: str


class PreviewOut(BaseModel):
    preview: str
    components: list[dict[str, Any]] | None
    problems: list[ProblemOut]


SEND_EXAMPLES = {
    "positional": {"summary": "Positional body variables", "value": {
        "name": "order_shipped", "parameters": {"body": ["Anna", "A-4711"],
                                                "buttons": [{"index": 0, "value": "A-4711"}]}}},
    "document": {"summary": "Document header (an upload), values from the contact and the payload", "value": {
        "name": "boarding_pass", "language": "en",
        "parameters": {"header": {"media_id": 7, "filename": "boarding-pass.pdf"},
                       "body": [{"from": "contact.name"}, {"from": "payload.flight"}]},
        "payload": {"flight": "AZ610"}}},
    "named": {"summary": "Named variables, a currency", "value": {
        "name": "payment_due", "parameters": {"body": {
            "first_name": "Anna",
            "amount": {"type": "currency", "currency": {"fallback_value": "€ 12,50", "code": "EUR",
                                                        "amount_1000": 12500}}}}}},
}


@router.post("/conversations/{conversation_id}/templates", status_code=202, response_model=MessageOut)
def send_template(
    svc: Svc, principal: CurrentPrincipal, request: Request, response: Response, conversation_id: int,
    body: Annotated[TemplateSendIn, Body(openapi_examples=SEND_EXAMPLES)],
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=255)] = None,
) -> dict[str, Any]:
    """Queue an approved template for the conversation's customer (no 24-hour window needed): 202 with the
    message. 404 `template.not_found`, 409 `template.not_sendable` (paused, disabled, pending, rejected,
    draft: the status and Meta's reason), 422 with the parameter's `field`."""
    with svc.engine.connect() as conn:
        check_conversation_visible(conn, principal, conversation_id)
    queued = _sender(svc).do_send(
        conversation_id, TemplateRequest(body.name, body.language, body.parameters), origin=principal.origin,
        idempotency_key=idempotency_key, context={"payload": body.payload} if body.payload is not None else None)
    if queued.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    with svc.engine.connect() as conn:
        found = queries.get_message(conn, queued.message_id)
    if found is None:
        raise NotFound(f"no message {queued.message_id}", field="message_id")
    return with_media_link(request, found)


@router.post("/templates/preview", response_model=PreviewOut)
def preview_template(svc: Svc, body: PreviewIn) -> dict[str, Any]:
    """What the customer will see: a stored template (`template_id`) or an unsaved `definition`, with
    `parameters` (or without: the variables as written). Problems (the linter's for a definition, the
    parameters') come back in `problems`; the request itself only fails when it names no template."""
    if (body.template_id is None) == (body.definition is None):
        raise InvalidInput("give either template_id or definition", field="template_id",
                           code="template.preview_invalid", status=422)
    row: dict[str, Any] | None
    if body.template_id is not None:
        with svc.engine.connect() as conn:
            row = template_repo.get(conn, body.template_id)
        if row is None:
            raise NotFound(f"no template {body.template_id}", field="template_id", code="template.not_found")
    else:
        row = body.definition
    assert row is not None
    context = {"payload": body.payload} if body.payload is not None else None
    shown = preview(row, body.parameters, context, definition=body.definition is not None)
    return {"preview": shown.text, "components": list(shown.components) if shown.components is not None else None,
            "problems": [{"field": p.field, "code": p.code, "message": p.message} for p in shown.problems]}


def _sender(svc: Svc) -> TemplateSender:
    if svc.template_sender is None:  # built by build_services; a bare Services in a test may lack it
        raise NotFound("template sending is not configured", code="template.not_configured")
    return svc.template_sender

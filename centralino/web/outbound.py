"""Sending (token-authenticated): messages, media uploads, read receipts. Thin routes: the use cases
in app/outbound.py and app/uploads.py check and queue; the sender worker sends (docs/outbound.md).

The message body is validated by the domain codec, not by pydantic, so every error names the field
the way the request spells it (`interactive.action.buttons[2].title`) with a stable code.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, File, Header, Request, Response, UploadFile

from centralino.app.uploads import UploadStore
from centralino.app.visibility import check_conversation_visible, check_message_visible
from centralino.domain.outbound_codec import parse_request
from centralino.errors import NotFound
from centralino.storage import queries
from centralino.web.api import Svc, with_media_link
from centralino.web.principal import CurrentPrincipal, current_principal
from centralino.web.schemas import MessageOut, ReadReceiptOut, ReadRequest, UploadOut

# The caller's principal names the origin of what it sends (`api` for the configured integration token,
# `agent:<id>`, `token:<id>`) and so scopes Idempotency-Keys; conversations outside its scope are 404.
router = APIRouter(prefix="/api/v1", dependencies=[Depends(current_principal)], tags=["sending"])


def _example(summary: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"summary": summary, "value": value}


EXAMPLES = {
    "text": _example("Text", {"type": "text", "text": {"body": "Your order 4711 ships today.", "preview_url": False}}),
    "reply": _example("Reply quoting a message", {"type": "text", "text": {"body": "Yes, tomorrow."}, "reply_to": 42}),
    "image": _example("Image (an upload)", {"type": "image", "image": {"media_id": 7, "caption": "The invoice"}}),
    "document": _example("Document by link", {"type": "document", "document": {
        "link": "https://example.com/invoice.pdf", "filename": "invoice.pdf", "caption": "Invoice 4711"}}),
    "location": _example("Location", {"type": "location", "location": {
        "latitude": 45.4642, "longitude": 9.19, "name": "Duomo", "address": "Piazza del Duomo, Milano"}}),
    "contacts": _example("Contacts", {"type": "contacts", "contacts": [
        {"name": {"formatted_name": "Support desk"}, "phones": [{"phone": "+390212345678", "type": "WORK"}]}]}),
    "buttons": _example("Reply buttons", {"type": "interactive", "interactive": {
        "type": "button", "body": {"text": "Was your problem solved?"},
        "action": {"buttons": [{"id": "yes", "title": "Yes"}, {"id": "no", "title": "No"}]}}}),
    "list": _example("List", {"type": "interactive", "interactive": {
        "type": "list", "body": {"text": "Pick a delivery slot"}, "action": {"button": "Slots", "sections": [
            {"title": "Tomorrow", "rows": [{"id": "t-am", "title": "Morning", "description": "8-12"},
                                           {"id": "t-pm", "title": "Afternoon"}]}]}}}),
    "cta_url": _example("Call-to-action URL", {"type": "interactive", "interactive": {
        "type": "cta_url", "body": {"text": "Track your parcel"},
        "action": {"display_text": "Track", "url": "https://example.com/track/4711"}}}),
    "reaction": _example("Reaction", {"type": "reaction", "reaction": {"message_id": 42, "emoji": "\U0001f44d"}}),
}


@router.post("/conversations/{conversation_id}/messages", status_code=202, response_model=MessageOut)
def send_message(
    svc: Svc, principal: CurrentPrincipal, request: Request, response: Response, conversation_id: int,
    payload: Annotated[Any, Body(openapi_examples=EXAMPLES)],
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=255)] = None,
) -> dict[str, Any]:
    """Queue a message for the conversation's customer: 202 with the message (status `queued`).

    Free-form messages need the 24-hour window open (409 `window.closed` otherwise). With an
    `Idempotency-Key`, repeating the request returns the same message and sends once."""
    with svc.engine.connect() as conn:
        check_conversation_visible(conn, principal, conversation_id)
    send = parse_request(payload)
    queued = svc.outbound.do_send(conversation_id, send.content, reply_to=send.reply_to,
                                  idempotency_key=idempotency_key, origin=principal.origin)
    if queued.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return _message(svc, request, queued.message_id)


@router.get("/messages/{message_id}", response_model=MessageOut)
def get_message(svc: Svc, principal: CurrentPrincipal, request: Request, message_id: int) -> dict[str, Any]:
    with svc.engine.connect() as conn:
        check_message_visible(conn, principal, message_id)
    return _message(svc, request, message_id)


@router.post("/media", status_code=201, response_model=UploadOut)
def upload_media(svc: Svc, principal: CurrentPrincipal,
                 file: Annotated[UploadFile, File(description="the file to send")]) -> dict[str, Any]:
    """Store a file to send; use the returned `id` as `media_id` in image/video/audio/document/sticker
    messages. Type and size are checked against what WhatsApp accepts (422 otherwise)."""
    stored = UploadStore(svc.engine, svc.settings.media_dir).do_store(
        file.file, filename=file.filename, declared_mime=file.content_type, origin=principal.origin)
    return {"id": stored.id, "mime_type": stored.mime_type, "size": stored.size, "sha256": stored.sha256,
            "filename": stored.filename, "animated": stored.animated,
            "sendable_as": [k.value for k in stored.sendable_as]}


@router.post("/conversations/{conversation_id}/read", status_code=202, response_model=ReadReceiptOut)
def mark_read(svc: Svc, principal: CurrentPrincipal, conversation_id: int,
              body: ReadRequest | None = None) -> dict[str, Any]:
    """Queue a read receipt (blue ticks) for a customer's message, default their latest; WhatsApp marks
    the earlier ones read too. Asking again while one is pending returns the pending one."""
    with svc.engine.connect() as conn:
        check_conversation_visible(conn, principal, conversation_id)
    queued = svc.outbound.do_mark_read(conversation_id, body.message_id if body else None, origin=principal.origin)
    return {"request_id": queued.request_id, "conversation_id": queued.conversation_id,
            "message_id": queued.message_id, "state": "queued", "already_queued": queued.already_queued}


def _message(svc: Svc, request: Request, message_id: int) -> dict[str, Any]:
    with svc.engine.connect() as conn:
        found = queries.get_message(conn, message_id)
    if found is None:
        raise NotFound(f"no message {message_id}", field="message_id")
    return with_media_link(request, found)

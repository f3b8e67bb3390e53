"""The read API (token-authenticated): contacts, conversations with window state, messages, media."""

from __future__ import annotations

import mimetypes
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import FileResponse

from centralino.app.visibility import check_message_visible
from centralino.domain import window
from centralino.errors import NotFound
from centralino.services import Services
from centralino.storage import queries
from centralino.storage.visibility import visible_conversations
from centralino.web.principal import CurrentPrincipal, current_principal, services
from centralino.web.schemas import ChannelOut, ContactOut, ConversationOut, MessageOut, Page

# Served inline only when harmless; everything else is a download (never rendered by the browser).
INLINE_SAFE = {"image/jpeg", "image/png", "image/webp", "image/gif", "video/mp4", "video/3gpp", "audio/aac",
               "audio/mp4", "audio/mpeg", "audio/amr", "audio/ogg"}


# Every route needs a principal (web/principal.py); conversations, their messages and contacts are
# filtered by what it may see (docs/access.md): outside its scope they do not exist.
router = APIRouter(prefix="/api/v1", dependencies=[Depends(current_principal)])
Svc = Annotated[Services, Depends(services)]
Limit = Annotated[int, Query(ge=1, le=200)]


@router.get("/channels", response_model=list[ChannelOut])
def list_channels(svc: Svc) -> list[dict[str, Any]]:
    with svc.engine.connect() as conn:
        return queries.list_channels(conn)


@router.get("/contacts", response_model=Page[ContactOut])
def list_contacts(svc: Svc, principal: CurrentPrincipal, q: str | None = None, limit: Limit = 50,
                  cursor: str | None = None) -> dict[str, Any]:
    """Contacts, newest first; `q` searches names and identities (phone, wa_id, BSUID). Only contacts
    with a conversation the caller may see."""
    with svc.engine.connect() as conn:
        items, next_cursor = queries.list_contacts(conn, q=q, limit=limit, cursor=cursor,
                                                   visible=visible_conversations(principal))
    return {"items": items, "next_cursor": next_cursor}


# GET/PATCH /contacts/{id}: the whole profile (language, tags, attributes) in web/desk/contacts_api.py


def _with_window(row: dict[str, Any], now: datetime) -> dict[str, Any]:
    row["window"] = window.state(row["window_expires_at"], now)
    return row


@router.get("/conversations", response_model=Page[ConversationOut])
def list_conversations(
    svc: Svc, principal: CurrentPrincipal, channel_id: int | None = None, status: str | None = None,
    contact_id: int | None = None, limit: Limit = 50, cursor: str | None = None,
) -> dict[str, Any]:
    """Conversations the caller may see, most recent activity first, with the customer-service window state."""
    with svc.engine.connect() as conn:
        items, next_cursor = queries.list_conversations(
            conn, channel_id=channel_id, status=status, contact_id=contact_id, limit=limit, cursor=cursor,
            visible=visible_conversations(principal))
    now = datetime.now(UTC)
    return {"items": [_with_window(r, now) for r in items], "next_cursor": next_cursor}


@router.get("/conversations/{conversation_id}", response_model=ConversationOut)
def get_conversation(svc: Svc, principal: CurrentPrincipal, conversation_id: int) -> dict[str, Any]:
    with svc.engine.connect() as conn:
        found = queries.get_conversation(conn, conversation_id, visible_conversations(principal))
    if found is None:
        raise NotFound(f"no conversation {conversation_id}", field="conversation_id")
    return _with_window(found, datetime.now(UTC))


@router.get("/conversations/{conversation_id}/messages", response_model=Page[MessageOut])
def list_messages(svc: Svc, principal: CurrentPrincipal, request: Request, conversation_id: int, limit: Limit = 50,
                  cursor: str | None = None) -> dict[str, Any]:
    """Messages newest first, with delivery status history, reactions and media links."""
    with svc.engine.connect() as conn:
        if queries.get_conversation(conn, conversation_id, visible_conversations(principal)) is None:
            raise NotFound(f"no conversation {conversation_id}", field="conversation_id")
        items, next_cursor = queries.list_messages(conn, conversation_id, limit=limit, cursor=cursor)
    return {"items": [with_media_link(request, item) for item in items], "next_cursor": next_cursor}


def with_media_link(request: Request, item: dict[str, Any]) -> dict[str, Any]:
    media = item["media"]
    if media is not None:
        media["url"] = (str(request.url_for("download_media", message_id=item["id"]))
                        if media["state"] == "stored" else None)
    return item


@router.get("/messages/{message_id}/media", name="download_media", response_class=FileResponse)
def download_media(svc: Svc, principal: CurrentPrincipal, message_id: int) -> FileResponse:
    with svc.engine.connect() as conn:
        check_message_visible(conn, principal, message_id)
        media = queries.get_media(conn, message_id)
    if media is None or media["state"] != "stored" or not media["storage_path"]:
        raise NotFound(f"message {message_id} has no stored media", field="message_id")
    root = Path(svc.settings.media_dir).resolve()
    path = (root / media["storage_path"]).resolve()
    if root not in path.parents:
        raise NotFound(f"message {message_id} has no stored media", field="message_id")
    mime = media["mime_type"] or "application/octet-stream"
    inline = mime in INLINE_SAFE
    ext = mimetypes.guess_extension(mime) or ""
    filename = media["filename"] or f"message-{message_id}{ext}"
    return FileResponse(
        path, media_type=mime if inline else "application/octet-stream", filename=filename,
        content_disposition_type="inline" if inline else "attachment",
        headers={"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'; sandbox"},
    )

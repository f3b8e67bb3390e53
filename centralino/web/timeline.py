"""The timeline API: GET /api/v1/contacts/{id}/timeline and GET /api/v1/cases/{id}/timeline (docs/timeline.md).

Newest first, keyset-paginated (`next_cursor`), filterable by kind (or group), channel kind, case and time;
each message entry carries its text, media and current tick, read from the message itself."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from centralino.app import timeline_read
from centralino.web.api import Limit, Svc
from centralino.web.principal import CurrentPrincipal, current_principal
from centralino.web.schemas import Page

router = APIRouter(prefix="/api/v1", dependencies=[Depends(current_principal)], tags=["timeline"])

Kinds = Annotated[list[str] | None, Query(description="entry kinds or groups (messages, conversations, cases, "
                                                      "tasks, contact); repeat or separate with commas")]


class TimelineMediaOut(BaseModel):
    url: str
    mime_type: str | None
    filename: str | None
    state: str | None  # pending | stored | failed


class TimelineMessageOut(BaseModel):
    id: int
    direction: str  # in | out | int (a private note)
    type: str
    text: str | None
    status: str
    error_code: int | None
    error_title: str | None
    media: TimelineMediaOut | None


class TimelineEntryOut(BaseModel):
    id: int
    kind: str
    occurred_at: datetime
    contact_id: int
    case_id: int | None
    conversation_id: int | None
    message_id: int | None
    channel_kind: str | None
    actor: str | None
    ref: str | None
    summary: dict[str, Any]
    message: TimelineMessageOut | None  # message kinds; None when the message was erased
    reason: str | None = None  # an escalation's reason, from its hand-off (the entry keeps no free text)


def entry_out(entry: dict[str, Any]) -> dict[str, Any]:
    out = {k: entry.get(k) for k in TimelineEntryOut.model_fields if k != "message"}
    m = entry.get("message")
    out["message"] = None if m is None else {
        "id": m["id"], "direction": m["direction"], "type": m["type"], "text": m["text"], "status": m["status"],
        "error_code": m["error_code"], "error_title": m["error_title"],
        "media": None if m["media_state"] is None else {
            "url": f"/api/v1/messages/{m['id']}/media", "mime_type": m["mime_type"], "filename": m["filename"],
            "state": m["media_state"]}}
    return out


@router.get("/contacts/{contact_id}/timeline", response_model=Page[TimelineEntryOut])
def contact_timeline(svc: Svc, principal: CurrentPrincipal, contact_id: int, kind: Kinds = None,
                     channel: str | None = None, case_id: int | None = None, since: datetime | None = None,
                     until: datetime | None = None, limit: Limit = 50, cursor: str | None = None) -> dict[str, Any]:
    """Everything about a customer, newest first: messages on every channel, notes, assignments, resolutions,
    notifications, campaigns, consent changes, cases and tasks."""
    filters = timeline_read.check_filters(kind, channel, case_id, since, until)
    with svc.engine.connect() as conn:
        items, next_cursor = timeline_read.contact_timeline(conn, principal, contact_id, filters, limit=limit,
                                                            cursor=cursor)
        items = timeline_read.with_reasons(conn, items)
    return {"items": [entry_out(e) for e in items], "next_cursor": next_cursor}


@router.get("/cases/{case_id}/timeline", response_model=Page[TimelineEntryOut])
def case_timeline(svc: Svc, principal: CurrentPrincipal, case_id: int, kind: Kinds = None,
                  channel: str | None = None, since: datetime | None = None, until: datetime | None = None,
                  limit: Limit = 50, cursor: str | None = None) -> dict[str, Any]:
    """A case's story, newest first: its own events, its tasks and hand-offs, and the conversations and
    messages linked to it."""
    filters = timeline_read.check_filters(kind, channel, None, since, until)
    with svc.engine.connect() as conn:
        items, next_cursor = timeline_read.case_timeline(conn, principal, case_id, filters, limit=limit,
                                                         cursor=cursor)
        items = timeline_read.with_reasons(conn, items)
    return {"items": [entry_out(e) for e in items], "next_cursor": next_cursor}

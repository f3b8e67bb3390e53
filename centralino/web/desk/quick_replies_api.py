"""Quick replies over the API: list (search, keyset pages), read, create, change, delete; and one
rendered for a conversation. Personal ones are their owner's; shared ones are managed by supervisors
and administrators (app/quick_replies.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from centralino.web.api import Svc
from centralino.web.principal import CurrentPrincipal, current_principal

router = APIRouter(prefix="/api/v1", dependencies=[Depends(current_principal)], tags=["quick replies"])


class QuickReplyIn(BaseModel):
    title: str = Field(max_length=200)
    shortcut: str = Field(max_length=64)
    body: str = Field(max_length=8192)
    shared: bool = False  # false: personal (the caller's own)
    department_id: int | None = None  # shared with one department's people only


class QuickReplyPatch(BaseModel):
    title: str | None = Field(default=None, max_length=200)
    shortcut: str | None = Field(default=None, max_length=64)
    body: str | None = Field(default=None, max_length=8192)


class QuickReplyOut(BaseModel):
    id: int
    title: str
    shortcut: str
    body: str
    owner_user_id: int | None
    department_id: int | None
    created_at: datetime
    updated_at: datetime


class QuickReplyPage(BaseModel):
    items: list[QuickReplyOut]
    next_cursor: str | None


class RenderedQuickReply(BaseModel):
    id: int
    title: str
    shortcut: str
    text: str  # plain text with the variables filled in for this conversation


@router.get("/quick-replies", response_model=QuickReplyPage)
def list_quick_replies(svc: Svc, principal: CurrentPrincipal, q: Annotated[str | None, Query(max_length=100)] = None,
                       limit: Annotated[int, Query(ge=1, le=200)] = 50, cursor: str | None = None) -> dict[str, Any]:
    """The quick replies the caller may use, by shortcut; `q` searches shortcut, title and text."""
    items, next_cursor = svc.desk.quick_replies.page(principal, q=q, limit=limit, cursor=cursor)
    return {"items": items, "next_cursor": next_cursor}


@router.post("/quick-replies", response_model=QuickReplyOut, status_code=201)
def create_quick_reply(svc: Svc, principal: CurrentPrincipal, body: QuickReplyIn) -> dict[str, Any]:
    """Unknown {{variables}} are refused (400, field `body`, code `quick_reply.unknown_variable`)."""
    new_id = svc.desk.quick_replies.do_create(principal, title=body.title, shortcut=body.shortcut, body=body.body,
                                              shared=body.shared, department_id=body.department_id)
    return svc.desk.quick_replies.get(principal, new_id)


@router.get("/quick-replies/{quick_reply_id}", response_model=QuickReplyOut)
def get_quick_reply(svc: Svc, principal: CurrentPrincipal, quick_reply_id: int) -> dict[str, Any]:
    return svc.desk.quick_replies.get(principal, quick_reply_id)


@router.patch("/quick-replies/{quick_reply_id}", response_model=QuickReplyOut)
def update_quick_reply(svc: Svc, principal: CurrentPrincipal, quick_reply_id: int,
                       body: QuickReplyPatch) -> dict[str, Any]:
    svc.desk.quick_replies.do_update(principal, quick_reply_id, body.model_dump(exclude_none=True))
    return svc.desk.quick_replies.get(principal, quick_reply_id)


@router.delete("/quick-replies/{quick_reply_id}", status_code=204)
def delete_quick_reply(svc: Svc, principal: CurrentPrincipal, quick_reply_id: int) -> None:
    svc.desk.quick_replies.do_delete(principal, quick_reply_id)


@router.get("/conversations/{conversation_id}/quick-replies", response_model=list[RenderedQuickReply])
def rendered_quick_replies(svc: Svc, principal: CurrentPrincipal, conversation_id: int,
                           q: Annotated[str | None, Query(max_length=100)] = None) -> list[dict[str, Any]]:
    """The usable quick replies matching `q` (at most 20), rendered for this conversation's customer."""
    return svc.desk.quick_replies.for_conversation(principal, conversation_id, q)

"""What the desktop does besides sending (app/desk.py), as API routes: sessions (with X-CSRF-Token) and
API tokens alike. Conversations outside the caller's scope are 404."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from centralino.domain.access import Language
from centralino.domain.enums import ConversationStatus
from centralino.web.api import Svc
from centralino.web.principal import CurrentPrincipal, current_principal

router = APIRouter(prefix="/api/v1", dependencies=[Depends(current_principal)], tags=["desk"])


class NoteIn(BaseModel):
    body: str = Field(min_length=1, max_length=4096)


class AssigneeIn(BaseModel):
    user_id: int | None = None  # None: unassign


class StatusIn(BaseModel):
    status: ConversationStatus


class SnoozeIn(BaseModel):
    until: datetime  # with a time zone; at most 30 days away


class ContactNameIn(BaseModel):
    display_name: str = Field(min_length=1, max_length=300)


class LanguageIn(BaseModel):
    language: Language


@router.post("/conversations/{conversation_id}/notes", status_code=201)
def add_note(svc: Svc, principal: CurrentPrincipal, conversation_id: int, body: NoteIn) -> dict[str, Any]:
    """A private note in the conversation: agents see it, the customer never does (it is never sent)."""
    return {"id": svc.desk.do_add_note(principal, conversation_id, body.body)}


@router.put("/conversations/{conversation_id}/assignee", status_code=204)
def set_assignee(svc: Svc, principal: CurrentPrincipal, conversation_id: int, body: AssigneeIn) -> None:
    """Assign (`user_id`) or unassign (null). Agents may only take or give back their own."""
    svc.desk.do_assign(principal, conversation_id, body.user_id)


@router.put("/conversations/{conversation_id}/status", status_code=204)
def set_status(svc: Svc, principal: CurrentPrincipal, conversation_id: int, body: StatusIn) -> None:
    """Resolve (`resolved`) or reopen (`open`)."""
    svc.desk.do_set_status(principal, conversation_id, body.status)


@router.put("/conversations/{conversation_id}/snooze", status_code=204)
def snooze(svc: Svc, principal: CurrentPrincipal, conversation_id: int, body: SnoozeIn) -> None:
    """Snooze until `until` or until the customer writes, whichever comes first; then it reopens."""
    svc.desk.do_snooze(principal, conversation_id, body.until)


@router.put("/conversations/{conversation_id}/contact-name", status_code=204)
def rename_contact(svc: Svc, principal: CurrentPrincipal, conversation_id: int, body: ContactNameIn) -> None:
    """The customer's display name, as agents see it."""
    svc.desk.do_rename_contact(principal, conversation_id, body.display_name)


class PresenceIn(BaseModel):
    state: str = Field(pattern="^(viewing|typing|left)$")


@router.post("/conversations/{conversation_id}/read-marker", status_code=204)
def move_read_marker(svc: Svc, principal: CurrentPrincipal, conversation_id: int) -> None:
    """The caller read the conversation: its unread count starts again from zero (the desktop does this
    when an agent opens it)."""
    svc.desk.do_mark_read(principal, conversation_id)


@router.post("/conversations/{conversation_id}/presence", status_code=204)
def presence(svc: Svc, principal: CurrentPrincipal, conversation_id: int, body: PresenceIn) -> None:
    """Tell the others with this conversation open that the caller is viewing it, typing, or has left
    (ephemeral: carried live, never stored)."""
    svc.desk.announce_presence(principal, conversation_id, body.state)


@router.put("/auth/language", status_code=204)
def set_language(svc: Svc, principal: CurrentPrincipal, body: LanguageIn) -> None:
    """The signed-in user's interface language (it, en)."""
    svc.desk.do_set_language(principal, body.language)

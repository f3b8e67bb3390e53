"""The customer's profile as the customer panel edits it: GET/PATCH /api/v1/contacts/{id}. A contact
none of whose conversations the caller may see does not exist (404)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from centralino.web.api import Svc
from centralino.web.principal import CurrentPrincipal, current_principal
from centralino.web.schemas import Identity

router = APIRouter(prefix="/api/v1", dependencies=[Depends(current_principal)], tags=["contacts"])


class ContactProfileOut(BaseModel):
    id: int
    display_name: str | None
    profile_name: str | None  # the WhatsApp profile name; display_name differs when an agent set one
    username: str | None
    identities: list[Identity]
    merged_into_id: int | None
    language: str | None
    tags: list[str]
    attributes: dict[str, str]
    created_at: datetime
    updated_at: datetime


@router.get("/contacts/{contact_id}", response_model=ContactProfileOut)
def get_contact_profile(svc: Svc, principal: CurrentPrincipal, contact_id: int) -> dict[str, Any]:
    """The contact with its language, tags and custom attributes."""
    return svc.desk.profiles.get(principal, contact_id)


@router.patch("/contacts/{contact_id}", response_model=ContactProfileOut)
def update_contact_profile(svc: Svc, principal: CurrentPrincipal, contact_id: int,
                           body: dict[str, Any]) -> dict[str, Any]:
    """Any of `display_name`, `language` (null clears), `tags` (the whole list), `attributes` (merged:
    key → text, null removes the key). Errors name the field (`tags[1]`, `attributes.city`); a refused
    change changes nothing. Audited and announced as `contact.updated`."""
    return svc.desk.profiles.do_update(principal, contact_id, body)

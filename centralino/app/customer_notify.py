"""Telling a customer something on their channel, window-aware: free text inside the 24-hour window, else
an approved template. Shared by automation's notify action and case updates (app/case_updates.py).

Everything goes through OutboundService.do_send_within (window and consent checks, the outbox in the
caller's transaction) and TemplateSender.check_send (the template, its language and parameters): a
refusal raises before anything is written, so the caller can record why nothing was sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from centralino.app.outbound import OutboundService
from centralino.app.template_send import TemplateRequest, TemplateSender
from centralino.app.unit_of_work import UnitOfWork
from centralino.domain import window
from centralino.domain.consent import Purpose
from centralino.domain.outbound import Text
from centralino.errors import Conflict
from centralino.storage.tables import channels, conversations


class NoConversation(Conflict):
    code = "contact.no_conversation"


class WindowClosedNoTemplate(Conflict):
    code = "window.closed"


@dataclass(frozen=True)
class Delivered:
    outcome: str  # text | template
    message_id: int
    conversation_id: int


def conversation_for(conn: Connection, contact_id: int, preferred: int | None = None) -> int:
    """The conversation to write on: the one given (if it is the contact's), else the contact's most recently
    active WhatsApp conversation."""
    c = conversations.c
    stmt = (select(c.id).join(channels, channels.c.id == c.channel_id)
            .where(c.contact_id == contact_id, channels.c.kind == "whatsapp"))
    if preferred is not None:
        found = conn.execute(stmt.where(c.id == preferred)).scalar()
        if found is not None:
            return int(found)
    found = conn.execute(stmt.order_by(c.last_message_at.desc().nulls_last(), c.id.desc()).limit(1)).scalar()
    if found is None:
        raise NoConversation(f"contact {contact_id} has no WhatsApp conversation to write on")
    return int(found)


def window_open(conn: Connection, conversation_id: int, now: datetime) -> bool:
    expires = conn.execute(select(conversations.c.window_expires_at)
                           .where(conversations.c.id == conversation_id)).scalar()
    return window.state(expires, now).is_open


def send_to_customer(uow: UnitOfWork, outbound: OutboundService, templates: TemplateSender, contact_id: int, *,
                     text: str, template: TemplateRequest | None, origin: str, now: datetime,
                     conversation_id: int | None = None, context: Mapping[str, Any] | None = None,
                     purpose: Purpose | None = Purpose.UTILITY) -> Delivered:
    """Queue `text` if the customer's window is open, else `template` (none: WindowClosedNoTemplate). Raises
    the send's refusal (consent.refused, template.not_sendable, a parameter error…) before writing anything.
    `purpose`: the consent purpose a business-initiated text is checked against too (templates are checked by
    their category in any case); None for an answer to the customer's own question."""
    target = conversation_for(uow.conn, contact_id, conversation_id)
    if window_open(uow.conn, target, now):
        if purpose is not None:
            channel_id = uow.conn.execute(select(conversations.c.channel_id)
                                          .where(conversations.c.id == target)).scalar_one()
            outbound.consent.check_consent(uow.conn, contact_id, int(channel_id), purpose, now)
        message_id = outbound.do_send_within(uow, target, Text(body=text), origin=origin)
        return Delivered("text", message_id, target)
    if template is None:
        raise WindowClosedNoTemplate("the customer's 24-hour window is closed and no template is configured")
    message = templates.check_send(uow.conn, target, template, context)
    message_id = outbound.do_send_within(uow, target, message, origin=origin)
    return Delivered("template", message_id, target)

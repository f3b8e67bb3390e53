"""Visibility checks for single conversations and messages: outside the principal's scope they are
not found (404, the same answer as for an id that does not exist, so nothing leaks)."""

from __future__ import annotations

from sqlalchemy import Connection, select

from centralino.domain.access import Principal, may_see_conversation
from centralino.errors import NotFound
from centralino.storage.tables import messages
from centralino.storage.visibility import conversation_scope


def check_conversation_visible(conn: Connection, principal: Principal, conversation_id: int) -> None:
    scope = conversation_scope(conn, conversation_id)
    if scope is None or not may_see_conversation(principal, scope):
        raise NotFound(f"no conversation {conversation_id}", field="conversation_id")


def check_message_visible(conn: Connection, principal: Principal, message_id: int) -> None:
    conversation_id = conn.execute(select(messages.c.conversation_id).where(messages.c.id == message_id)).scalar()
    if conversation_id is not None and principal.is_admin:
        return
    scope = None if conversation_id is None else conversation_scope(conn, int(conversation_id))
    if scope is None or not may_see_conversation(principal, scope):
        raise NotFound(f"no message {message_id}", field="message_id")

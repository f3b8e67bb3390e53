"""The conversation visibility rule of domain/access.py as a SQL condition, for lists and lookups
(a conversation outside the principal's scope is simply not found: 404, nothing leaked)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, select, true

from centralino.domain.access import ConversationScope, Principal, Role
from centralino.storage.tables import conversations, department_channels, department_members


def visible_conversations(principal: Principal) -> ColumnElement[bool]:
    """A WHERE condition on `conversations` matching domain.access.may_see_conversation."""
    if principal.is_admin:
        return true()
    cv, dc, dm = conversations.c, department_channels.c, department_members.c
    mine = sorted(principal.department_ids)
    conditions: list[ColumnElement[bool]] = []
    if principal.user_id is not None:
        conditions.append(cv.assignee_user_id == principal.user_id)
    if mine:
        conditions.append(cv.department_id.in_(mine))
        channels_served = select(dc.channel_id).where(dc.department_id.in_(mine))
        conditions.append(and_(cv.department_id.is_(None), cv.channel_id.in_(channels_served)))
        if principal.role is Role.SUPERVISOR:
            members = select(dm.user_id).where(dm.department_id.in_(mine))
            conditions.append(cv.assignee_user_id.in_(members))
    return or_(*conditions) if conditions else false()


def conversation_scope(conn: Any, conversation_id: int) -> ConversationScope | None:
    """What domain.access needs to decide about one conversation (None: no such conversation)."""
    return conversation_scopes(conn, [conversation_id]).get(conversation_id)


SCOPE_CHUNK = 500


def conversation_scopes(conn: Any, conversation_ids: Iterable[int]) -> dict[int, ConversationScope]:
    """conversation_scope for many conversations in three queries (the live desk resolves a batch of events at
    once); a conversation that does not exist is absent from the result."""
    cv, dc, dm = conversations.c, department_channels.c, department_members.c
    ids = sorted(set(conversation_ids))
    rows = []
    for start in range(0, len(ids), SCOPE_CHUNK):
        rows += conn.execute(select(cv.id, cv.channel_id, cv.department_id, cv.assignee_user_id)
                             .where(cv.id.in_(ids[start:start + SCOPE_CHUNK]))).all()
    if not rows:
        return {}
    served: dict[int, set[int]] = {}
    for channel_id, department_id in conn.execute(select(dc.channel_id, dc.department_id).where(
            dc.channel_id.in_(sorted({int(r.channel_id) for r in rows})))):
        served.setdefault(int(channel_id), set()).add(int(department_id))
    assignees = sorted({int(r.assignee_user_id) for r in rows if r.assignee_user_id is not None})
    departments_of: dict[int, set[int]] = {}
    if assignees:
        for user_id, department_id in conn.execute(select(dm.user_id, dm.department_id).where(
                dm.user_id.in_(assignees))):
            departments_of.setdefault(int(user_id), set()).add(int(department_id))
    return {int(r.id): ConversationScope(
        r.department_id, frozenset(served.get(int(r.channel_id), ())), r.assignee_user_id,
        frozenset(departments_of.get(int(r.assignee_user_id), ())) if r.assignee_user_id is not None else frozenset())
        for r in rows}

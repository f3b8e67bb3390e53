"""The conversation visibility rule of domain/access.py as a SQL condition, for lists and lookups
(a conversation outside the principal's scope is simply not found: 404, nothing leaked)."""

from __future__ import annotations

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
    cv, dc, dm = conversations.c, department_channels.c, department_members.c
    row = conn.execute(select(cv.channel_id, cv.department_id, cv.assignee_user_id)
                       .where(cv.id == conversation_id)).first()
    if row is None:
        return None
    served = frozenset(int(d) for d in conn.execute(select(dc.department_id)
                                                    .where(dc.channel_id == row.channel_id)).scalars())
    assignee_departments: frozenset[int] = frozenset()
    if row.assignee_user_id is not None:
        assignee_departments = frozenset(int(d) for d in conn.execute(
            select(dm.department_id).where(dm.user_id == row.assignee_user_id)).scalars())
    return ConversationScope(row.department_id, served, row.assignee_user_id, assignee_departments)

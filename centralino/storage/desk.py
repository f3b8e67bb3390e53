"""Read models of the agent desktop: the inbox (views, search, keyset pages, last message preview) and a
contact's conversations. Always filtered by the principal's visibility (storage/visibility.py)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, exists, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from centralino.domain.access import Principal
from centralino.storage.queries import decode_cursor, encode_cursor, identities_of
from centralino.storage.tables import (
    channels,
    contact_identities,
    contacts,
    conversations,
    department_channels,
    messages,
    users,
)
from centralino.storage.tables_bot import bot_sessions
from centralino.storage.tables_desk import conversation_reads
from centralino.storage.visibility import visible_conversations


class InboxView(StrEnum):
    MINE = "mine"  # assigned to me
    UNASSIGNED = "unassigned"
    DEPARTMENTS = "departments"  # routed to, or on a channel served by, one of my departments
    ALL = "all"  # everything I may see (offered to supervisors and administrators)


def _view_condition(view: InboxView, principal: Principal) -> ColumnElement[bool] | None:
    cv = conversations.c
    if view is InboxView.MINE:
        return cv.assignee_user_id == principal.user_id
    if view is InboxView.UNASSIGNED:
        return cv.assignee_user_id.is_(None)
    if view is InboxView.DEPARTMENTS:
        mine = sorted(principal.department_ids)
        served = select(department_channels.c.channel_id).where(department_channels.c.department_id.in_(mine))
        return or_(cv.department_id.in_(mine), and_(cv.department_id.is_(None), cv.channel_id.in_(served)))
    return None


def _like(term: str) -> str:
    escaped = term.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _search_condition(q: str) -> ColumnElement[bool]:
    """Customer name, any identity (number, wa_id, BSUID) or the text of any message of the conversation."""
    pattern = _like(q)
    cv, ct, ci, m = conversations.c, contacts.c, contact_identities.c, messages.c
    by_identity = exists().where(ci.contact_id == cv.contact_id, func.lower(ci.value).like(pattern, escape="\\"))
    by_text = exists().where(m.conversation_id == cv.id, m.text.is_not(None),
                             func.lower(m.text).like(pattern, escape="\\"))
    return or_(func.lower(ct.display_name).like(pattern, escape="\\"), by_identity, by_text)


def inbox_page(conn: Connection, principal: Principal, *, view: InboxView, q: str | None, limit: int,
               cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """Conversations, most recent activity first, each with its last message (preview) and assignee name."""
    cv, ct, ch = conversations.c, contacts.c, channels.c
    activity = func.coalesce(cv.last_message_at, cv.created_at)
    bot = bot_sessions.c  # the virtual agent answering it now: the row's "bot" badge, in the same query
    stmt = (select(cv.id, cv.contact_id, cv.channel_id, cv.status, cv.window_expires_at, cv.last_message_at,
                   cv.created_at, cv.assignee_user_id, ct.display_name.label("contact_name"),
                   ch.name.label("channel_name"), users.c.display_name.label("assignee_name"),
                   bot.conversation_id.is_not(None).label("bot"))
            .join(contacts, ct.id == cv.contact_id)
            .join(channels, ch.id == cv.channel_id)
            .outerjoin(users, users.c.id == cv.assignee_user_id)
            .outerjoin(bot_sessions, and_(bot.conversation_id == cv.id, bot.state == "active"))
            .where(visible_conversations(principal)))
    condition = _view_condition(view, principal)
    if condition is not None:
        stmt = stmt.where(condition)
    if q and q.strip():
        stmt = stmt.where(_search_condition(q.strip()))
    if cursor:
        at, after_id = decode_cursor(cursor, 2)
        at_dt = datetime.fromisoformat(at)
        stmt = stmt.where(or_(activity < at_dt, and_(activity == at_dt, cv.id < int(after_id))))
    rows = conn.execute(stmt.order_by(activity.desc(), cv.id.desc()).limit(limit + 1)).mappings().all()
    page = [dict(r) for r in rows[:limit]]
    last = last_messages(conn, [int(r["id"]) for r in page])
    identities = identities_of(conn, sorted({int(r["contact_id"]) for r in page}))
    unread = unread_counts(conn, [int(r["id"]) for r in page])
    for row in page:
        row["unread"] = unread.get(int(row["id"]), 0)
        row["last_message"] = last.get(int(row["id"]))
        row["identities"] = identities.get(int(row["contact_id"]), [])
    next_cursor = None
    if len(rows) > limit:
        tail = page[-1]
        next_cursor = encode_cursor((tail["last_message_at"] or tail["created_at"]).isoformat(), tail["id"])
    return page, next_cursor


def last_messages(conn: Connection, conversation_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The latest customer-visible or internal message of each conversation (by insertion order)."""
    if not conversation_ids:
        return {}
    m = messages.c
    latest = (select(func.max(m.id)).where(m.conversation_id.in_(conversation_ids), m.type != "reaction")
              .group_by(m.conversation_id))
    rows = conn.execute(select(m.id, m.conversation_id, m.direction, m.type, m.text, m.status, m.sent_at)
                        .where(m.id.in_(latest))).mappings()
    return {int(r["conversation_id"]): dict(r) for r in rows}


def contact_conversations(conn: Connection, principal: Principal, contact_id: int) -> list[dict[str, Any]]:
    """The contact's conversations the principal may see (one per channel), latest activity first."""
    cv, ch = conversations.c, channels.c
    activity = func.coalesce(cv.last_message_at, cv.created_at)
    rows = conn.execute(select(cv.id, cv.status, cv.last_message_at, cv.created_at, ch.name.label("channel_name"))
                        .join(channels, ch.id == cv.channel_id)
                        .where(cv.contact_id == contact_id, visible_conversations(principal))
                        .order_by(activity.desc(), cv.id.desc())).mappings()
    return [dict(r) for r in rows]


def conversation_of_messages(conn: Connection, message_ids: list[int]) -> dict[int, int]:
    if not message_ids:
        return {}
    m = messages.c
    return {int(r.id): int(r.conversation_id)
            for r in conn.execute(select(m.id, m.conversation_id).where(m.id.in_(message_ids)))}


def conversation_of_contact_on_channel(conn: Connection, contact_id: int, channel_id: int) -> int | None:
    cv = conversations.c
    found = conn.execute(select(cv.id).where(cv.contact_id == contact_id, cv.channel_id == channel_id)).scalar()
    return None if found is None else int(found)


def _unread_message() -> ColumnElement[bool]:
    """What counts as unread: the customer's messages (reactions are not messages to read)."""
    return and_(messages.c.direction == "in", messages.c.type != "reaction")


def unread_counts(conn: Connection, conversation_ids: list[int]) -> dict[int, int]:
    """Customer messages after each conversation's read marker (all of them if never read); one query,
    computed when an inbox page is drawn so the inbound path writes nothing for it."""
    if not conversation_ids:
        return {}
    m, r = messages.c, conversation_reads.c
    rows = conn.execute(
        select(m.conversation_id, func.count())
        .select_from(messages.outerjoin(conversation_reads, r.conversation_id == m.conversation_id))
        .where(m.conversation_id.in_(conversation_ids), _unread_message(),
               or_(r.last_read_message_id.is_(None), m.id > r.last_read_message_id))
        .group_by(m.conversation_id))
    return {int(cid): int(n) for cid, n in rows}


def mark_read(conn: Connection, conversation_id: int, user_id: int | None, now: datetime) -> bool:
    """Move the conversation's read marker to its latest customer message (never backwards); whether it moved."""
    m, r = messages.c, conversation_reads.c
    latest = conn.execute(select(func.max(m.id)).where(m.conversation_id == conversation_id,
                                                       _unread_message())).scalar()
    if latest is None:
        return False
    make = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = make(conversation_reads).values(conversation_id=conversation_id, last_read_message_id=int(latest),
                                           read_by_user_id=user_id, read_at=now)
    upsert = stmt.on_conflict_do_update(
        index_elements=["conversation_id"],
        set_={"last_read_message_id": stmt.excluded.last_read_message_id,
              "read_by_user_id": stmt.excluded.read_by_user_id, "read_at": stmt.excluded.read_at},
        where=r.last_read_message_id < stmt.excluded.last_read_message_id).returning(r.conversation_id)
    return conn.execute(upsert).first() is not None  # (rowcount is not reliable for upserts on every driver)


def read_marker(conn: Connection, conversation_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(conversation_reads).where(conversation_reads.c.conversation_id == conversation_id)
                       ).mappings().first()
    return dict(row) if row else None


def conversations_of_contacts(conn: Connection, contact_ids: list[int]) -> dict[int, list[int]]:
    if not contact_ids:
        return {}
    cv = conversations.c
    found: dict[int, list[int]] = {}
    for contact_id, conversation_id in conn.execute(select(cv.contact_id, cv.id).where(
            cv.contact_id.in_(sorted(set(contact_ids)))).order_by(cv.id)):
        found.setdefault(int(contact_id), []).append(int(conversation_id))
    return found


def conversations_of_contact(conn: Connection, contact_id: int) -> list[int]:
    cv = conversations.c
    return [int(i) for i in conn.execute(select(cv.id).where(cv.contact_id == contact_id).order_by(cv.id)).scalars()]

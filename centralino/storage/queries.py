"""Read models for the API: keyset-paginated lists, newest first."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Connection, and_, func, or_, select, true

from centralino.errors import InvalidInput
from centralino.storage.tables import (
    channels,
    contact_identities,
    contacts,
    conversations,
    message_media,
    message_reactions,
    messages,
    outbox,
    status_history,
)


def encode_cursor(*parts: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(parts)).decode()


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    try:
        parts = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise InvalidInput("cursor is not one this API returned", field="cursor") from exc
    if not isinstance(parts, list) or len(parts) != arity:
        raise InvalidInput("cursor is not one this API returned", field="cursor")
    return parts


def identities_of(conn: Connection, contact_ids: list[int]) -> dict[int, list[dict[str, str]]]:
    found: dict[int, list[dict[str, str]]] = {i: [] for i in contact_ids}
    if contact_ids:
        ci = contact_identities.c
        for r in conn.execute(select(ci.contact_id, ci.kind, ci.value).where(ci.contact_id.in_(contact_ids))
                              .order_by(ci.id)):
            found[int(r.contact_id)].append({"kind": r.kind, "value": r.value})
    return found


def _with_visible_conversation(visible: ColumnElement[bool] | None) -> ColumnElement[bool]:
    """Contacts are visible through a conversation the principal may see (storage/visibility.py)."""
    if visible is None:
        return true()
    return contacts.c.id.in_(select(conversations.c.contact_id).where(visible))


def list_contacts(conn: Connection, *, q: str | None, limit: int, cursor: str | None,
                  visible: ColumnElement[bool] | None = None) -> tuple[list[dict[str, Any]], str | None]:
    c = contacts.c
    stmt = select(contacts).where(c.merged_into_id.is_(None), _with_visible_conversation(visible))
    if q:
        like = f"%{q.lower()}%"
        by_identity = select(contact_identities.c.contact_id).where(func.lower(contact_identities.c.value).like(like))
        stmt = stmt.where(or_(func.lower(c.display_name).like(like), c.id.in_(by_identity)))
    if cursor:
        (after_id,) = decode_cursor(cursor, 1)
        stmt = stmt.where(c.id < int(after_id))
    rows = conn.execute(stmt.order_by(c.id.desc()).limit(limit + 1)).mappings().all()
    page = [dict(r) for r in rows[:limit]]
    ids = identities_of(conn, [int(r["id"]) for r in page])
    for r in page:
        r["identities"] = ids[int(r["id"])]
    return page, encode_cursor(page[-1]["id"]) if len(rows) > limit else None


def get_contact(conn: Connection, contact_id: int, visible: ColumnElement[bool] | None = None) -> dict[str, Any] | None:
    row = conn.execute(select(contacts).where(contacts.c.id == contact_id, _with_visible_conversation(visible))
                       ).mappings().first()
    if row is None:
        return None
    result = dict(row)
    result["identities"] = identities_of(conn, [contact_id])[contact_id]
    return result


def _conversation_select() -> Any:
    cv, ct, ch = conversations.c, contacts.c, channels.c
    return (
        select(conversations, ct.display_name.label("contact_name"), ch.kind.label("channel_kind"),
               ch.name.label("channel_name"))
        .join(contacts, ct.id == cv.contact_id)
        .join(channels, ch.id == cv.channel_id)
    )


def list_conversations(conn: Connection, *, channel_id: int | None, status: str | None, contact_id: int | None,
                       limit: int, cursor: str | None, visible: ColumnElement[bool] | None = None) -> tuple[
                           list[dict[str, Any]], str | None]:
    """`visible`: the principal's visibility condition (storage/visibility.py); None = everything."""
    cv = conversations.c
    activity = func.coalesce(cv.last_message_at, cv.created_at)
    stmt = _conversation_select()
    if visible is not None:
        stmt = stmt.where(visible)
    if channel_id is not None:
        stmt = stmt.where(cv.channel_id == channel_id)
    if status is not None:
        stmt = stmt.where(cv.status == status)
    if contact_id is not None:
        stmt = stmt.where(cv.contact_id == contact_id)
    if cursor:
        at, after_id = decode_cursor(cursor, 2)
        at_dt = datetime.fromisoformat(at)
        stmt = stmt.where(or_(activity < at_dt, and_(activity == at_dt, cv.id < int(after_id))))
    rows = conn.execute(stmt.order_by(activity.desc(), cv.id.desc()).limit(limit + 1)).mappings().all()
    page = [dict(r) for r in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = page[-1]
        next_cursor = encode_cursor((last["last_message_at"] or last["created_at"]).isoformat(), last["id"])
    return page, next_cursor


def get_conversation(conn: Connection, conversation_id: int,
                     visible: ColumnElement[bool] | None = None) -> dict[str, Any] | None:
    stmt = _conversation_select().where(conversations.c.id == conversation_id)
    if visible is not None:
        stmt = stmt.where(visible)
    row = conn.execute(stmt).mappings().first()
    return None if row is None else dict(row)


def list_messages(conn: Connection, conversation_id: int, *, limit: int, cursor: str | None) -> tuple[
        list[dict[str, Any]], str | None]:
    """Newest first; the cursor pages back in time."""
    m = messages.c
    stmt = select(messages).where(m.conversation_id == conversation_id)
    if cursor:
        at, before_id = decode_cursor(cursor, 2)
        at_dt = datetime.fromisoformat(at)
        stmt = stmt.where(or_(m.sent_at < at_dt, and_(m.sent_at == at_dt, m.id < int(before_id))))
    rows = conn.execute(stmt.order_by(m.sent_at.desc(), m.id.desc()).limit(limit + 1)).mappings().all()
    page = _decorate(conn, [dict(r) for r in rows[:limit]])
    next_cursor = encode_cursor(page[-1]["sent_at"].isoformat(), page[-1]["id"]) if len(rows) > limit else None
    return page, next_cursor


def get_message(conn: Connection, message_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(messages).where(messages.c.id == message_id)).mappings().first()
    return None if row is None else _decorate(conn, [dict(row)])[0]


def _decorate(conn: Connection, page: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Media, status history, reactions and (outbound) the outbox row of each message."""
    ids = [int(r["id"]) for r in page]
    media = {int(r.message_id): dict(r._mapping) for r in conn.execute(
        select(message_media).where(message_media.c.message_id.in_(ids)))} if ids else {}
    history: dict[int, list[dict[str, Any]]] = {}
    if ids:
        s = status_history.c
        for h in conn.execute(select(s.message_id, s.status, s.occurred_at, s.error_code, s.error_title)
                              .where(s.message_id.in_(ids)).order_by(s.occurred_at, s.id)):
            history.setdefault(int(h.message_id), []).append(dict(h._mapping))
    reactions: dict[int, list[dict[str, Any]]] = {}
    if ids:
        r_ = message_reactions.c
        for x in conn.execute(select(r_.target_message_id, r_.emoji, r_.contact_id, r_.reacted_at)
                              .where(r_.target_message_id.in_(ids), r_.emoji != "")):
            reactions.setdefault(int(x.target_message_id), []).append(dict(x._mapping))
    delivery = outbox_rows(conn, [int(r["id"]) for r in page if r["direction"] == "out"])
    for item in page:
        item["media"] = media.get(int(item["id"]))
        item["status_history"] = history.get(int(item["id"]), [])
        item["reactions"] = reactions.get(int(item["id"]), [])
        item["delivery"] = delivery.get(int(item["id"]))
    return page


def outbox_rows(conn: Connection, message_ids: list[int]) -> dict[int, dict[str, Any]]:
    if not message_ids:
        return {}
    o = outbox.c
    rows = conn.execute(select(o.message_id, o.state, o.attempts, o.next_attempt_at, o.last_error_code, o.last_error,
                               o.completed_at).where(o.message_id.in_(message_ids))).mappings().all()
    return {int(r["message_id"]): dict(r) for r in rows}


def get_media(conn: Connection, message_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(message_media).where(message_media.c.message_id == message_id)).mappings().first()
    return None if row is None else dict(row)


def list_channels(conn: Connection) -> list[dict[str, Any]]:
    ch = channels.c
    cols = [ch.id, ch.kind, ch.name, ch.address, ch.account_id, ch.display_address, ch.created_at]
    return [dict(r._mapping) for r in conn.execute(select(*cols).order_by(ch.id))]

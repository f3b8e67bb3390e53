"""Reading the timeline: a customer's or a case's entries, newest first, keyset-paginated on (occurred_at, id),
filtered by kind, channel, case and time, with each message entry's text, media and tick joined in.

The first page is one statement: an index range scan (ix_timeline_entries_contact / _case / _conversation, read
backwards, LIMIT) joined to that page's messages: its cost does not grow with the customer's history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, Subquery, select, tuple_, union_all

from centralino.errors import InvalidInput
from centralino.storage.queries import decode_cursor, encode_cursor
from centralino.storage.tables import message_media, messages
from centralino.storage.tables_timeline import timeline_entries

t = timeline_entries.c


@dataclass(frozen=True)
class Filters:
    kinds: Sequence[str] = ()
    channel_kind: str | None = None
    case_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None


def _conditions(filters: Filters, cursor: str | None) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if filters.kinds:
        where.append(t.kind.in_(sorted(set(filters.kinds))))
    if filters.channel_kind:
        where.append(t.channel_kind == filters.channel_kind)
    if filters.case_id is not None:
        where.append(t.case_id == filters.case_id)
    if filters.since is not None:
        where.append(t.occurred_at >= filters.since)
    if filters.until is not None:
        where.append(t.occurred_at < filters.until)
    if cursor:
        at, before_id = decode_cursor(cursor, 2)
        try:
            at_dt, before = datetime.fromisoformat(str(at)), int(before_id)
        except (TypeError, ValueError) as exc:
            raise InvalidInput("cursor is not one this API returned", field="cursor") from exc
        where.append(tuple_(t.occurred_at, t.id) < tuple_(at_dt, before))
    return where


def _newest(stmt: Select[Any], limit: int) -> Select[Any]:
    return stmt.order_by(t.occurred_at.desc(), t.id.desc()).limit(limit + 1)


def contact_page(conn: Connection, contact_id: int, filters: Filters, *, limit: int, cursor: str | None,
                 hidden_conversations: Sequence[int] = ()) -> tuple[list[dict[str, Any]], str | None]:
    """A customer's story. `hidden_conversations`: the contact's conversations the reader may not see (their
    entries are left out, as everywhere else)."""
    stmt = select(timeline_entries).where(t.contact_id == contact_id, *_conditions(filters, cursor))
    if hidden_conversations:
        stmt = stmt.where(t.conversation_id.is_(None) | t.conversation_id.not_in(sorted(hidden_conversations)))
    return _page(_with_messages(conn, _newest(stmt, limit).subquery()), limit)


def case_page(conn: Connection, case_id: int, filters: Filters, *, limit: int, cursor: str | None,
              conversation_ids: Sequence[int] = (), message_ids: Sequence[int] = ()) -> tuple[
        list[dict[str, Any]], str | None]:
    """A case's story: its own entries, and those of the conversations and messages linked to it. One keyset
    range per source (each on its index), merged: the page stays as cheap as a single range."""
    where = _conditions(filters, cursor)
    parts = [_newest(select(timeline_entries).where(t.case_id == case_id, *where), limit)]
    if conversation_ids:
        parts.append(_newest(select(timeline_entries).where(t.conversation_id.in_(sorted(conversation_ids)),
                                                            *where), limit))
    if message_ids:
        parts.append(_newest(select(timeline_entries).where(t.message_id.in_(sorted(message_ids)), *where), limit))
    if len(parts) == 1:
        rows = _with_messages(conn, parts[0].subquery())
    else:  # the ranges may overlap (a linked message of a linked conversation): each entry once
        merged = union_all(*(p.subquery().select() for p in parts)).subquery()
        newest = select(merged).order_by(merged.c.occurred_at.desc(), merged.c.id.desc()).limit(limit * 3 + 3)
        seen: set[int] = set()
        rows = []
        for r in _with_messages(conn, newest.subquery()):
            if int(r["id"]) not in seen:
                seen.add(int(r["id"]))
                rows.append(r)
    return _page(rows, limit)


def _page(rows: list[dict[str, Any]], limit: int) -> tuple[list[dict[str, Any]], str | None]:
    page = rows[:limit]
    next_cursor = (encode_cursor(page[-1]["occurred_at"].isoformat(), page[-1]["id"])
                   if len(rows) > limit and page else None)
    return page, next_cursor


ENTRY_COLUMNS = tuple(c.name for c in timeline_entries.columns)
MESSAGE_COLUMNS = ("direction", "type", "text", "status", "error_code", "error_title", "mime_type", "filename",
                   "media_state")


def _with_messages(conn: Connection, entries: Subquery) -> list[dict[str, Any]]:
    """The (already limited) entries, newest first, in the same query as their messages' text, tick and media:
    `message` is None for other kinds, and for a message that was erased."""
    m, mm = messages.c, message_media.c
    stmt = (select(entries, m.id.label("m_id"), m.direction, m.type, m.text, m.status, m.error_code, m.error_title,
                   mm.mime_type, mm.filename, mm.state.label("media_state"))
            .select_from(entries.outerjoin(messages, m.id == entries.c.message_id)
                         .outerjoin(message_media, mm.message_id == m.id))
            .order_by(entries.c.occurred_at.desc(), entries.c.id.desc()))
    rows = []
    for r in conn.execute(stmt).mappings():
        row = {k: r[k] for k in ENTRY_COLUMNS}
        row["message"] = None if r["m_id"] is None else {"id": r["m_id"], **{k: r[k] for k in MESSAGE_COLUMNS}}
        rows.append(row)
    return rows

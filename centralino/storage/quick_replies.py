"""Quick replies: who may use which (personal ones their owner, shared ones everyone or a department's
people), keyset pages and search."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, delete, func, insert, or_, select, true, update

from centralino.domain.access import Principal
from centralino.storage.queries import decode_cursor, encode_cursor
from centralino.storage.tables import departments
from centralino.storage.tables_desk import quick_replies


def usable_by(principal: Principal) -> ColumnElement[bool]:
    """Personal ones of this user, and shared ones for everyone or for one of their departments
    (administrators: every shared one)."""
    q = quick_replies.c
    shared: ColumnElement[bool] = q.owner_user_id.is_(None)
    if not principal.is_admin:
        shared = shared & or_(q.department_id.is_(None), q.department_id.in_(sorted(principal.department_ids)))
    mine = q.owner_user_id == principal.user_id if principal.user_id is not None else ~true()
    return or_(mine, shared)


def _like(term: str) -> str:
    return "%" + term.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def page(conn: Connection, principal: Principal, *, q: str | None, limit: int,
         cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """By shortcut; `q` matches shortcut, title or text (case-insensitive substring)."""
    c = quick_replies.c
    stmt = (select(quick_replies, departments.c.name.label("department_name"))
            .outerjoin(departments, departments.c.id == c.department_id).where(usable_by(principal)))
    if q and q.strip():
        pattern = _like(q.strip().lstrip("/"))
        stmt = stmt.where(or_(func.lower(c.shortcut).like(pattern, escape="\\"),
                              func.lower(c.title).like(pattern, escape="\\"),
                              func.lower(c.body).like(pattern, escape="\\")))
    if cursor:
        shortcut, after_id = decode_cursor(cursor, 2)
        stmt = stmt.where(or_(c.shortcut > str(shortcut), (c.shortcut == str(shortcut)) & (c.id > int(after_id))))
    rows = conn.execute(stmt.order_by(c.shortcut, c.id).limit(limit + 1)).mappings().all()
    items = [dict(r) for r in rows[:limit]]
    next_cursor = encode_cursor(items[-1]["shortcut"], items[-1]["id"]) if len(rows) > limit else None
    return items, next_cursor


def get(conn: Connection, quick_reply_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(quick_replies).where(quick_replies.c.id == quick_reply_id)).mappings().first()
    return dict(row) if row else None


def create(conn: Connection, values: dict[str, Any], now: datetime) -> int:
    return int(conn.execute(insert(quick_replies).values(**values, created_at=now, updated_at=now)
                            .returning(quick_replies.c.id)).scalar_one())


def change(conn: Connection, quick_reply_id: int, values: dict[str, Any], now: datetime) -> None:
    conn.execute(update(quick_replies).where(quick_replies.c.id == quick_reply_id).values(**values, updated_at=now))


def remove(conn: Connection, quick_reply_id: int) -> None:
    conn.execute(delete(quick_replies).where(quick_replies.c.id == quick_reply_id))

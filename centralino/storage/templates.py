"""Message templates and their history (tables_templates.py): one row per (account, name, language).

Bound parameters only; the caller owns the transaction."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update

from centralino.errors import InvalidInput
from centralino.storage.tables_templates import template_events, templates

KEY_COLUMNS = ("account_id", "name", "language")


@dataclass(frozen=True)
class TemplateFilter:
    account_id: str | None = None
    status: str | None = None  # one status or a comma list
    category: str | None = None
    language: str | None = None
    q: str | None = None  # part of the name


def get(conn: Connection, template_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(templates).where(templates.c.id == template_id)).mappings().first()
    return dict(row) if row else None


def find(conn: Connection, account_id: str, name: str, language: str) -> dict[str, Any] | None:
    row = conn.execute(select(templates).where(
        templates.c.account_id == account_id, templates.c.name == name, templates.c.language == language,
    )).mappings().first()
    return dict(row) if row else None


def find_by_provider_id(conn: Connection, provider_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(templates).where(templates.c.provider_id == provider_id)).mappings().first()
    return dict(row) if row else None


def languages_of(conn: Connection, account_id: str, name: str) -> list[dict[str, Any]]:
    """Every language of one template (same account and name), by language."""
    rows = conn.execute(select(templates).where(templates.c.account_id == account_id, templates.c.name == name)
                        .order_by(templates.c.language)).mappings()
    return [dict(r) for r in rows]


def insert_template(conn: Connection, values: dict[str, Any]) -> int:
    return int(conn.execute(insert(templates).values(**values).returning(templates.c.id)).scalar_one())


def update_template(conn: Connection, template_id: int, values: dict[str, Any]) -> None:
    conn.execute(update(templates).where(templates.c.id == template_id).values(**values))


def update_if_unchanged(conn: Connection, template_id: int, status: str, status_at: datetime | None,
                        values: dict[str, Any]) -> bool:
    """Update only while status and status_at are what the caller read (a webhook did not move them)."""
    at_cond = templates.c.status_at.is_(None) if status_at is None else templates.c.status_at == status_at
    result = conn.execute(update(templates).where(templates.c.id == template_id, templates.c.status == status,
                                                  at_cond).values(**values))
    return result.rowcount == 1


def upsert(conn: Connection, values: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
    """Insert or update by (account_id, name, language); the id and the row as it was before (None: new)."""
    before = find(conn, values["account_id"], values["name"], values["language"])
    if before is None:
        return insert_template(conn, values), None
    changes = {k: v for k, v in values.items() if k not in (*KEY_COLUMNS, "created_at", "created_by")}
    update_template(conn, int(before["id"]), changes)
    return int(before["id"]), before


def delete_template(conn: Connection, template_id: int) -> None:
    """Only for drafts never submitted: their history goes with them."""
    conn.execute(delete(template_events).where(template_events.c.template_id == template_id))
    conn.execute(delete(templates).where(templates.c.id == template_id))


# --- history ------------------------------------------------------------------------------------------

def append_event(conn: Connection, template_id: int, *, kind: str, status: str | None, detail: dict[str, Any],
                 actor: str, at: datetime) -> None:
    sequence = conn.execute(select(func.coalesce(func.max(template_events.c.sequence), 0))
                            .where(template_events.c.template_id == template_id)).scalar_one()
    conn.execute(insert(template_events).values(template_id=template_id, kind=kind, status=status, detail=detail,
                                                actor=actor, at=at, sequence=int(sequence) + 1))


def history(conn: Connection, template_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(select(template_events).where(template_events.c.template_id == template_id)
                        .order_by(template_events.c.sequence, template_events.c.id)).mappings()
    return [dict(r) for r in rows]


# --- lists --------------------------------------------------------------------------------------------

def _encode_cursor(row: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([row["name"], row["language"], int(row["id"])])).decode()


def _decode_cursor(cursor: str) -> tuple[str, str, int]:
    try:
        name, language, last_id = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
        return str(name), str(language), int(last_id)
    except (ValueError, TypeError) as exc:
        raise InvalidInput("the cursor is not one this API gave", field="cursor", code="cursor.invalid") from exc


def list_page(conn: Connection, where: TemplateFilter, *, limit: int,
              cursor: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
    """By name, then language (keyset pagination on name, language, id)."""
    query = select(templates)
    if where.account_id:
        query = query.where(templates.c.account_id == where.account_id)
    if where.status:
        query = query.where(templates.c.status.in_([s.strip().lower() for s in where.status.split(",") if s.strip()]))
    if where.category:
        query = query.where(templates.c.category == where.category.lower())
    if where.language:
        query = query.where(templates.c.language == where.language)
    if where.q:
        escaped = where.q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(func.lower(templates.c.name).like(f"%{escaped}%", escape="\\"))
    if cursor:
        name, language, last_id = _decode_cursor(cursor)
        query = query.where(or_(
            templates.c.name > name,
            and_(templates.c.name == name, templates.c.language > language),
            and_(templates.c.name == name, templates.c.language == language, templates.c.id > last_id),
        ))
    rows = [dict(r) for r in conn.execute(
        query.order_by(templates.c.name, templates.c.language, templates.c.id).limit(limit + 1)).mappings()]
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (_encode_cursor(rows[-1]) if more and rows else None)


def approved_of_account(conn: Connection, account_id: str) -> list[dict[str, Any]]:
    """What may be sent from a WABA: approved templates, by name and language."""
    rows = conn.execute(select(templates).where(templates.c.account_id == account_id,
                                                templates.c.status == "approved")
                        .order_by(templates.c.name, templates.c.language)).mappings()
    return [dict(r) for r in rows]

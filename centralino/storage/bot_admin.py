"""The bot's configuration as the business edits it: intents and their examples, flows, services
(the auth secret sealed with the channels' SecretBox), and learning candidates."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, case, delete, func, insert, select, update

from centralino.errors import Conflict
from centralino.storage.channels import SecretBox
from centralino.storage.queries import decode_cursor, encode_cursor
from centralino.storage.tables_bot import bot_candidates, bot_examples, bot_flows, bot_intents, bot_services

# --- intents ---------------------------------------------------------------------------------------------------


def intents(conn: Connection) -> list[dict[str, Any]]:
    """By name, with their example counts per split and their flow's name."""
    e = bot_examples.c
    counts = (select(e.intent_id, func.count().label("examples"),
                     func.sum(case((e.split == "eval", 1), else_=0)).label("eval_examples"))
              .group_by(e.intent_id).subquery())
    rows = conn.execute(
        select(bot_intents, bot_flows.c.name.label("flow"),
               func.coalesce(counts.c.examples, 0).label("examples"),
               func.coalesce(counts.c.eval_examples, 0).label("eval_examples"))
        .outerjoin(bot_flows, bot_flows.c.id == bot_intents.c.flow_id)
        .outerjoin(counts, counts.c.intent_id == bot_intents.c.id)
        .order_by(bot_intents.c.name)).mappings()
    return [dict(r) for r in rows]


def intent(conn: Connection, intent_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(bot_intents, bot_flows.c.name.label("flow"))
                       .outerjoin(bot_flows, bot_flows.c.id == bot_intents.c.flow_id)
                       .where(bot_intents.c.id == intent_id)).mappings().first()
    return dict(row) if row else None


def intent_ids_by_name(conn: Connection) -> dict[str, int]:
    return {str(r.name): int(r.id) for r in conn.execute(select(bot_intents.c.id, bot_intents.c.name))}


def name_taken(conn: Connection, table: Any, name: str, except_id: int | None) -> bool:
    stmt = select(table.c.id).where(table.c.name == name)
    if except_id is not None:
        stmt = stmt.where(table.c.id != except_id)
    return conn.execute(stmt).first() is not None


def create_intent(conn: Connection, values: dict[str, Any], now: datetime) -> int:
    return int(conn.execute(insert(bot_intents).values(**values, created_at=now, updated_at=now)
                            .returning(bot_intents.c.id)).scalar_one())


def change_intent(conn: Connection, intent_id: int, values: dict[str, Any], now: datetime) -> None:
    conn.execute(update(bot_intents).where(bot_intents.c.id == intent_id).values(**values, updated_at=now))


def delete_intent(conn: Connection, intent_id: int) -> None:
    conn.execute(delete(bot_intents).where(bot_intents.c.id == intent_id))


# --- examples --------------------------------------------------------------------------------------------------


def examples_page(conn: Connection, intent_id: int, *, limit: int,
                  cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """Newest first."""
    e = bot_examples.c
    stmt = select(bot_examples).where(e.intent_id == intent_id)
    if cursor:
        (after_id,) = decode_cursor(cursor, 1)
        stmt = stmt.where(e.id < int(after_id))
    rows = conn.execute(stmt.order_by(e.id.desc()).limit(limit + 1)).mappings().all()
    items = [dict(r) for r in rows[:limit]]
    return items, encode_cursor(items[-1]["id"]) if len(rows) > limit else None


def examples_of(conn: Connection) -> dict[int, list[dict[str, Any]]]:
    """Every example by intent id, oldest first (the export)."""
    out: dict[int, list[dict[str, Any]]] = {}
    for r in conn.execute(select(bot_examples).order_by(bot_examples.c.id)).mappings():
        out.setdefault(int(r["intent_id"]), []).append(dict(r))
    return out


def example(conn: Connection, example_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(bot_examples).where(bot_examples.c.id == example_id)).mappings().first()
    return dict(row) if row else None


def intent_with_text(conn: Connection, text: str) -> str | None:
    """The intent that already has this text as an example (case-insensitively), if any."""
    row = conn.execute(select(bot_intents.c.name).join(bot_examples, bot_examples.c.intent_id == bot_intents.c.id)
                       .where(func.lower(bot_examples.c.text) == text.lower()).limit(1)).first()
    return str(row.name) if row else None


def existing_texts(conn: Connection) -> dict[str, str]:
    """Lower-cased example text -> intent name: the import's duplicate check in one query."""
    rows = conn.execute(select(bot_examples.c.text, bot_intents.c.name)
                        .join(bot_intents, bot_intents.c.id == bot_examples.c.intent_id))
    return {str(r.text).lower(): str(r.name) for r in rows}


def add_example(conn: Connection, values: dict[str, Any], now: datetime) -> int:
    return int(conn.execute(insert(bot_examples).values(**values, created_at=now)
                            .returning(bot_examples.c.id)).scalar_one())


def add_examples(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(bot_examples), rows)


def delete_example(conn: Connection, example_id: int) -> None:
    conn.execute(delete(bot_examples).where(bot_examples.c.id == example_id))


def examples_since(conn: Connection, since: datetime | None) -> int:
    stmt = select(func.count()).select_from(bot_examples)
    if since is not None:
        stmt = stmt.where(bot_examples.c.created_at > since)
    return int(conn.execute(stmt).scalar_one())


# --- flows -----------------------------------------------------------------------------------------------------


def flows(conn: Connection) -> list[dict[str, Any]]:
    used = (select(bot_intents.c.flow_id, func.count().label("intents"))
            .where(bot_intents.c.flow_id.is_not(None)).group_by(bot_intents.c.flow_id).subquery())
    rows = conn.execute(select(bot_flows.c.id, bot_flows.c.name, bot_flows.c.version, bot_flows.c.enabled,
                               bot_flows.c.updated_at, func.coalesce(used.c.intents, 0).label("intents"))
                        .outerjoin(used, used.c.flow_id == bot_flows.c.id).order_by(bot_flows.c.name)).mappings()
    return [dict(r) for r in rows]


def flow(conn: Connection, flow_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(bot_flows).where(bot_flows.c.id == flow_id)).mappings().first()
    return dict(row) if row else None


def flow_ids_by_name(conn: Connection) -> dict[str, int]:
    return {str(r.name): int(r.id) for r in conn.execute(select(bot_flows.c.id, bot_flows.c.name))}


def create_flow(conn: Connection, values: dict[str, Any], now: datetime) -> int:
    return int(conn.execute(insert(bot_flows).values(**values, version=1, created_at=now, updated_at=now)
                            .returning(bot_flows.c.id)).scalar_one())


def change_flow(conn: Connection, flow_id: int, values: dict[str, Any], now: datetime, *, new_version: bool) -> None:
    extra = {"version": bot_flows.c.version + 1} if new_version else {}
    conn.execute(update(bot_flows).where(bot_flows.c.id == flow_id).values(**values, **extra, updated_at=now))


def delete_flow(conn: Connection, flow_id: int) -> None:
    conn.execute(delete(bot_flows).where(bot_flows.c.id == flow_id))


# --- services --------------------------------------------------------------------------------------------------

SECRET_KEY = "auth_secret"  # noqa: S105 - the key inside the sealed JSON, not a secret


def seal_secret(box: SecretBox, value: str) -> str:
    """How bot_services.auth_secret is stored: a Fernet token (text) of {"auth_secret": value}."""
    return box.seal({SECRET_KEY: value}).decode()


def open_secret(box: SecretBox, stored: str | None) -> str | None:
    """The plain auth header value of a bot_services row (for the call, never for a response)."""
    if not stored:
        return None
    return box.open(stored.encode()).get(SECRET_KEY)


def services(conn: Connection) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(select(bot_services).order_by(bot_services.c.name)).mappings()]


def service(conn: Connection, service_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(bot_services).where(bot_services.c.id == service_id)).mappings().first()
    return dict(row) if row else None


def create_service(conn: Connection, values: dict[str, Any], now: datetime) -> int:
    return int(conn.execute(insert(bot_services).values(**values, created_at=now, updated_at=now)
                            .returning(bot_services.c.id)).scalar_one())


def change_service(conn: Connection, service_id: int, values: dict[str, Any], now: datetime) -> None:
    conn.execute(update(bot_services).where(bot_services.c.id == service_id).values(**values, updated_at=now))


def delete_service(conn: Connection, service_id: int) -> None:
    conn.execute(delete(bot_services).where(bot_services.c.id == service_id))


# --- candidates ------------------------------------------------------------------------------------------------


def candidates_page(conn: Connection, *, state: str, reason: str | None, limit: int,
                    cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """Newest first, with the labelled intent's name."""
    c = bot_candidates.c
    stmt = (select(bot_candidates, bot_intents.c.name.label("label_intent"))
            .outerjoin(bot_intents, bot_intents.c.id == c.label_intent_id).where(c.state == state))
    if reason:
        stmt = stmt.where(c.reason == reason)
    if cursor:
        (after_id,) = decode_cursor(cursor, 1)
        stmt = stmt.where(c.id < int(after_id))
    rows = conn.execute(stmt.order_by(c.id.desc()).limit(limit + 1)).mappings().all()
    items = [dict(r) for r in rows[:limit]]
    return items, encode_cursor(items[-1]["id"]) if len(rows) > limit else None


def candidate_for_update(conn: Connection, candidate_id: int) -> dict[str, Any] | None:
    stmt = select(bot_candidates).where(bot_candidates.c.id == candidate_id)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    row = conn.execute(stmt).mappings().first()
    return dict(row) if row else None


def settle_candidate(conn: Connection, candidate_id: int, values: dict[str, Any]) -> bool:
    """Move a pending candidate on; False when someone else did first."""
    done = conn.execute(update(bot_candidates).where(bot_candidates.c.id == candidate_id,
                                                     bot_candidates.c.state == "pending").values(**values))
    return bool(done.rowcount)


def pending_candidates(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(bot_candidates)
                            .where(bot_candidates.c.state == "pending")).scalar_one())


def check_unique_name(conn: Connection, table: Any, name: str, except_id: int | None, field: str) -> None:
    if name_taken(conn, table, name, except_id):
        raise Conflict(f"{name!r} is already taken", field=field, code="bot.name_taken")


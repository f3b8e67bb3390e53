"""Sessions, API tokens, sign-in attempts and the audit log.

Session ids and API tokens are stored as their sha256: a copy of the database signs nobody in.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from centralino.storage.queries import decode_cursor, encode_cursor
from centralino.storage.tables import api_tokens, audit_log, sessions, sign_in_attempts, users


def insert_session(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(insert(sessions).values(**row))


def session_with_user(conn: Connection, session_key: str) -> dict[str, Any] | None:
    s, u = sessions.c, users.c
    row = conn.execute(
        select(s.id, s.user_id, s.csrf_token, s.created_at, s.last_seen_at, s.expires_at, u.role, u.active)
        .join(users, u.id == s.user_id).where(s.id == session_key)).mappings().first()
    return None if row is None else dict(row)


def touch_session(conn: Connection, session_key: str, now: datetime) -> None:
    conn.execute(update(sessions).where(sessions.c.id == session_key).values(last_seen_at=now))


def delete_session(conn: Connection, session_key: str) -> None:
    conn.execute(delete(sessions).where(sessions.c.id == session_key))


def delete_sessions_of(conn: Connection, user_id: int) -> None:
    conn.execute(delete(sessions).where(sessions.c.user_id == user_id))


# --- API tokens -------------------------------------------------------------------------------------------------


def insert_token(conn: Connection, row: dict[str, Any]) -> int:
    return int(conn.execute(insert(api_tokens).values(**row).returning(api_tokens.c.id)).scalar_one())


TOKEN_COLUMNS = [api_tokens.c.id, api_tokens.c.name, api_tokens.c.prefix, api_tokens.c.owner_user_id,
                 api_tokens.c.scopes, api_tokens.c.created_by, api_tokens.c.created_at, api_tokens.c.last_used_at,
                 api_tokens.c.revoked_at]


def token_with_owner(conn: Connection, token_hash: str) -> dict[str, Any] | None:
    t, u = api_tokens.c, users.c
    row = conn.execute(select(*TOKEN_COLUMNS, u.role, u.active).join(users, u.id == t.owner_user_id)
                       .where(t.token_hash == token_hash)).mappings().first()
    return None if row is None else dict(row)


def get_token(conn: Connection, token_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(*TOKEN_COLUMNS).where(api_tokens.c.id == token_id)).mappings().first()
    return None if row is None else dict(row)


def list_tokens(conn: Connection) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(select(*TOKEN_COLUMNS).order_by(api_tokens.c.id)).mappings()]


def mark_token_used(conn: Connection, token_id: int, now: datetime) -> None:
    conn.execute(update(api_tokens).where(api_tokens.c.id == token_id).values(last_used_at=now))


def revoke_token(conn: Connection, token_id: int, now: datetime) -> None:
    conn.execute(update(api_tokens).where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
                 .values(revoked_at=now))


# --- sign-in attempts ------------------------------------------------------------------------------------------


def record_attempt(conn: Connection, email: str, ip: str, succeeded: bool, now: datetime) -> None:
    conn.execute(insert(sign_in_attempts).values(email=email, ip=ip, succeeded=succeeded, at=now))


def recent_failures(conn: Connection, email: str, ip: str, since: datetime) -> list[datetime]:
    """Failures for (email, ip) after `since` and after the last success, oldest first."""
    a = sign_in_attempts.c
    last_success = select(func.max(a.at)).where(a.email == email, a.ip == ip, a.succeeded.is_(True),
                                                a.at > since).scalar_subquery()
    stmt = (select(a.at).where(a.email == email, a.ip == ip, a.succeeded.is_(False), a.at > since,
                               a.at > func.coalesce(last_success, since)).order_by(a.at))
    return list(conn.execute(stmt).scalars())


def forget_attempts_before(conn: Connection, before: datetime) -> None:
    conn.execute(delete(sign_in_attempts).where(sign_in_attempts.c.at < before))


# --- audit log ---------------------------------------------------------------------------------------------------


def audit(conn: Connection, *, at: datetime, actor_user_id: int | None, actor: str, action: str,
          target_type: str | None = None, target_id: object = None, details: dict[str, Any] | None = None,
          ip: str | None = None) -> None:
    conn.execute(insert(audit_log).values(
        at=at, actor_user_id=actor_user_id, actor=actor, action=action, target_type=target_type,
        target_id=None if target_id is None else str(target_id), details=details or {}, ip=ip))


def list_audit(conn: Connection, *, action: str | None, limit: int, cursor: str | None) -> tuple[
        list[dict[str, Any]], str | None]:
    """Newest first, keyset-paginated by id."""
    a = audit_log.c
    stmt = select(audit_log)
    if action:
        stmt = stmt.where(a.action == action)
    if cursor:
        (before_id,) = decode_cursor(cursor, 1)
        stmt = stmt.where(a.id < int(before_id))
    rows = conn.execute(stmt.order_by(a.id.desc()).limit(limit + 1)).mappings().all()
    page = [dict(r) for r in rows[:limit]]
    return page, encode_cursor(page[-1]["id"]) if len(rows) > limit else None

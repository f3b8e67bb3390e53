"""Users, departments, memberships and the channels departments serve."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from centralino.errors import Conflict
from centralino.storage.tables import department_channels, department_members, departments, users

USER_COLUMNS = [users.c.id, users.c.email, users.c.display_name, users.c.role, users.c.active, users.c.language,
                users.c.created_at, users.c.updated_at]


def create_user(conn: Connection, *, email: str, display_name: str, role: str, password_hash: str | None,
                language: str, now: datetime) -> int:
    try:
        with conn.begin_nested():
            return int(conn.execute(insert(users).values(
                email=email, display_name=display_name, role=role, password_hash=password_hash, active=True,
                language=language, created_at=now, updated_at=now).returning(users.c.id)).scalar_one())
    except IntegrityError as exc:
        raise Conflict(f"a user with email {email} exists", field="email", code="user.email_taken") from exc


def update_user(conn: Connection, user_id: int, changes: dict[str, Any], now: datetime) -> None:
    conn.execute(update(users).where(users.c.id == user_id).values(**changes, updated_at=now))


def user_by_email(conn: Connection, email: str) -> dict[str, Any] | None:
    row = conn.execute(select(users).where(users.c.email == email)).mappings().first()
    return None if row is None else dict(row)


def get_user(conn: Connection, user_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(*USER_COLUMNS).where(users.c.id == user_id)).mappings().first()
    if row is None:
        return None
    user = dict(row)
    user["department_ids"] = department_ids_of(conn, user_id)
    return user


def list_users(conn: Connection) -> list[dict[str, Any]]:
    rows = [dict(r) for r in conn.execute(select(*USER_COLUMNS).order_by(users.c.id)).mappings()]
    memberships: dict[int, list[int]] = {}
    for m in conn.execute(select(department_members).order_by(department_members.c.department_id)):
        memberships.setdefault(int(m.user_id), []).append(int(m.department_id))
    for r in rows:
        r["department_ids"] = memberships.get(int(r["id"]), [])
    return rows


def department_ids_of(conn: Connection, user_id: int) -> list[int]:
    m = department_members.c
    return [int(d) for d in conn.execute(select(m.department_id).where(m.user_id == user_id)
                                         .order_by(m.department_id)).scalars()]


def set_memberships_of_user(conn: Connection, user_id: int, department_ids: list[int]) -> None:
    conn.execute(delete(department_members).where(department_members.c.user_id == user_id))
    if department_ids:
        conn.execute(insert(department_members), [{"department_id": d, "user_id": user_id} for d in department_ids])


# --- departments ---------------------------------------------------------------------------------------------


def create_department(conn: Connection, name: str, now: datetime) -> int:
    try:
        with conn.begin_nested():
            return int(conn.execute(insert(departments).values(name=name, created_at=now, updated_at=now)
                                    .returning(departments.c.id)).scalar_one())
    except IntegrityError as exc:
        raise Conflict(f"a department named {name!r} exists", field="name", code="department.name_taken") from exc


def rename_department(conn: Connection, department_id: int, name: str, now: datetime) -> None:
    try:
        with conn.begin_nested():
            conn.execute(update(departments).where(departments.c.id == department_id)
                         .values(name=name, updated_at=now))
    except IntegrityError as exc:
        raise Conflict(f"a department named {name!r} exists", field="name", code="department.name_taken") from exc


def department_by_name(conn: Connection, name: str) -> int | None:
    found = conn.execute(select(departments.c.id).where(departments.c.name == name)).scalar()
    return None if found is None else int(found)


def existing_department_ids(conn: Connection, ids: list[int]) -> set[int]:
    if not ids:
        return set()
    return {int(i) for i in conn.execute(select(departments.c.id).where(departments.c.id.in_(ids))).scalars()}


def list_departments(conn: Connection, department_id: int | None = None) -> list[dict[str, Any]]:
    stmt = select(departments).order_by(departments.c.id)
    if department_id is not None:
        stmt = stmt.where(departments.c.id == department_id)
    found = [dict(r) for r in conn.execute(stmt).mappings()]
    ids = [int(r["id"]) for r in found]
    members: dict[int, list[int]] = {}
    served: dict[int, list[int]] = {}
    if ids:
        m, dc = department_members.c, department_channels.c
        for m_row in conn.execute(select(m.department_id, m.user_id).where(m.department_id.in_(ids))
                                  .order_by(m.user_id)):
            members.setdefault(int(m_row.department_id), []).append(int(m_row.user_id))
        for c_row in conn.execute(select(dc.department_id, dc.channel_id).where(dc.department_id.in_(ids))
                                  .order_by(dc.channel_id)):
            served.setdefault(int(c_row.department_id), []).append(int(c_row.channel_id))
    for r in found:
        r["member_ids"] = members.get(int(r["id"]), [])
        r["channel_ids"] = served.get(int(r["id"]), [])
    return found


def set_members(conn: Connection, department_id: int, user_ids: list[int]) -> None:
    conn.execute(delete(department_members).where(department_members.c.department_id == department_id))
    if user_ids:
        conn.execute(insert(department_members), [{"department_id": department_id, "user_id": u} for u in user_ids])


def set_channels(conn: Connection, department_id: int, channel_ids: list[int]) -> None:
    conn.execute(delete(department_channels).where(department_channels.c.department_id == department_id))
    if channel_ids:
        conn.execute(insert(department_channels),
                     [{"department_id": department_id, "channel_id": c} for c in channel_ids])


def existing_user_ids(conn: Connection, ids: list[int]) -> set[int]:
    if not ids:
        return set()
    return {int(i) for i in conn.execute(select(users.c.id).where(users.c.id.in_(ids))).scalars()}


def count_users(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(users)).scalar_one())

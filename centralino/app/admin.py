"""Administration: users, departments (members and channels served) and API tokens. Administrators
only; every change is written to the audit log in its own transaction and published after commit."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, select

from centralino.app.auth import TOKEN_PREFIX, secret_digest
from centralino.app.passwords import Passwords, password_problem
from centralino.app.unit_of_work import UnitOfWork, unit_of_work
from centralino.domain.access import Language, Principal, Role, TokenScope, normalise_email
from centralino.errors import Conflict, Forbidden, InvalidInput, NotFound
from centralino.events.bus import EventBus
from centralino.storage import auth as auth_repo
from centralino.storage import users as user_repo
from centralino.storage.tables import channels


@dataclass(frozen=True)
class CreatedToken:
    token: dict[str, Any]
    secret: str  # shown once; only its hash is stored


def check_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("administrators only")


def _utcnow() -> datetime:
    return datetime.now(UTC)


class AdminService:
    def __init__(self, engine: Engine, passwords: Passwords, bus: EventBus | None, *,
                 clock: Callable[[], datetime] = _utcnow) -> None:
        self.engine = engine
        self.passwords = passwords
        self.bus = bus
        self.clock = clock

    def _audit(self, uow: UnitOfWork, actor: Principal, action: str, target_type: str, target_id: int,
               details: dict[str, Any], ip: str | None) -> None:
        auth_repo.audit(uow.conn, at=self.clock(), actor_user_id=actor.user_id, actor=actor.actor, action=action,
                        target_type=target_type, target_id=target_id, details=details, ip=ip)
        uow.emit(action, **{f"{target_type}_id": target_id, "actor": actor.actor})

    # --- users -------------------------------------------------------------------------------------------------

    def do_create_user(self, actor: Principal, *, email: str, display_name: str, role: Role, password: str | None,
                       language: Language = Language.IT, department_ids: list[int] | None = None,
                       ip: str | None = None) -> dict[str, Any]:
        """Create a user; without a password they cannot sign in until one is set."""
        check_admin(actor)
        email = normalise_email(email)
        if "@" not in email or len(email) > 320:
            raise InvalidInput("not an email address", field="email")
        password_hash = self._hash_new(password) if password is not None else None
        with unit_of_work(self.engine, self.bus) as uow:
            departments = self._check_departments(uow.conn, department_ids or [])
            user_id = user_repo.create_user(uow.conn, email=email, display_name=display_name, role=role.value,
                                            password_hash=password_hash, language=language.value, now=self.clock())
            user_repo.set_memberships_of_user(uow.conn, user_id, departments)
            self._audit(uow, actor, "user.created", "user", user_id,
                        {"email": email, "role": role.value, "department_ids": departments}, ip)
            return user_repo.get_user(uow.conn, user_id) or {}

    def do_update_user(self, actor: Principal, user_id: int, changes: dict[str, Any], *,
                       ip: str | None = None) -> dict[str, Any]:
        """Change display_name, role, active, language, password and/or department_ids. Deactivating a
        user or changing their password or role ends their sessions."""
        check_admin(actor)
        if actor.user_id == user_id and (changes.get("active") is False or
                                         changes.get("role", Role.ADMIN) is not Role.ADMIN):
            raise Conflict("administrators cannot demote or deactivate themselves", code="user.self_lockout")
        row: dict[str, Any] = {}
        for name in ("display_name", "active"):
            if name in changes:
                row[name] = changes[name]
        for name in ("role", "language"):
            if name in changes:
                row[name] = changes[name].value
        if changes.get("password") is not None:
            row["password_hash"] = self._hash_new(changes["password"])
        with unit_of_work(self.engine, self.bus) as uow:
            if user_repo.get_user(uow.conn, user_id) is None:
                raise NotFound(f"no user {user_id}", field="user_id")
            if row:
                user_repo.update_user(uow.conn, user_id, row, self.clock())
            if "department_ids" in changes:
                user_repo.set_memberships_of_user(uow.conn, user_id,
                                                  self._check_departments(uow.conn, changes["department_ids"]))
            if row.get("active") is False or "password_hash" in row or "role" in row:
                auth_repo.delete_sessions_of(uow.conn, user_id)
            audited = {k: (v.value if isinstance(v, Role | Language) else v) for k, v in changes.items()
                       if k != "password"}
            if "password" in changes:
                audited["password_changed"] = True
            self._audit(uow, actor, "user.updated", "user", user_id, audited, ip)
            return user_repo.get_user(uow.conn, user_id) or {}

    def _hash_new(self, password: str) -> str:
        problem = password_problem(password)
        if problem:
            raise InvalidInput(f"password: {problem}", field="password")
        return self.passwords.hash(password)

    def _check_departments(self, conn: Connection, ids: list[int]) -> list[int]:
        wanted = sorted(set(ids))
        missing = set(wanted) - user_repo.existing_department_ids(conn, wanted)
        if missing:
            raise InvalidInput(f"no department {min(missing)}", field="department_ids")
        return wanted

    # --- departments -------------------------------------------------------------------------------------------

    def do_create_department(self, actor: Principal, name: str, *, member_ids: list[int] | None = None,
                             channel_ids: list[int] | None = None, ip: str | None = None) -> dict[str, Any]:
        check_admin(actor)
        with unit_of_work(self.engine, self.bus) as uow:
            department_id = user_repo.create_department(uow.conn, name, self.clock())
            details = self._set_department_links(uow.conn, department_id, member_ids, channel_ids)
            self._audit(uow, actor, "department.created", "department", department_id, {"name": name, **details}, ip)
            return user_repo.list_departments(uow.conn, department_id)[0]

    def do_update_department(self, actor: Principal, department_id: int, *, name: str | None = None,
                             member_ids: list[int] | None = None, channel_ids: list[int] | None = None,
                             ip: str | None = None) -> dict[str, Any]:
        """`member_ids` / `channel_ids` replace the department's members / channels served when given."""
        check_admin(actor)
        with unit_of_work(self.engine, self.bus) as uow:
            if not user_repo.list_departments(uow.conn, department_id):
                raise NotFound(f"no department {department_id}", field="department_id")
            if name is not None:
                user_repo.rename_department(uow.conn, department_id, name, self.clock())
            details = self._set_department_links(uow.conn, department_id, member_ids, channel_ids)
            self._audit(uow, actor, "department.updated", "department", department_id,
                        {**({"name": name} if name is not None else {}), **details}, ip)
            return user_repo.list_departments(uow.conn, department_id)[0]

    def _set_department_links(self, conn: Connection, department_id: int, member_ids: list[int] | None,
                              channel_ids: list[int] | None) -> dict[str, Any]:
        details: dict[str, Any] = {}
        if member_ids is not None:
            members = sorted(set(member_ids))
            missing = set(members) - user_repo.existing_user_ids(conn, members)
            if missing:
                raise InvalidInput(f"no user {min(missing)}", field="member_ids")
            user_repo.set_members(conn, department_id, members)
            details["member_ids"] = members
        if channel_ids is not None:
            served = sorted(set(channel_ids))
            known = {int(c) for c in conn.execute(select(channels.c.id).where(channels.c.id.in_(served))).scalars()}
            if set(served) - known:
                raise InvalidInput(f"no channel {min(set(served) - known)}", field="channel_ids")
            user_repo.set_channels(conn, department_id, served)
            details["channel_ids"] = served
        return details

    # --- API tokens --------------------------------------------------------------------------------------------

    def do_create_token(self, actor: Principal, name: str, *, scopes: list[TokenScope],
                        owner_user_id: int | None = None, ip: str | None = None) -> CreatedToken:
        """A token acting as `owner_user_id` (default: the administrator creating it) with `scopes`."""
        check_admin(actor)
        owner = owner_user_id if owner_user_id is not None else actor.user_id
        if owner is None:
            raise InvalidInput("owner_user_id is required when the integration token creates tokens",
                               field="owner_user_id")
        if not scopes:
            raise InvalidInput("at least one scope", field="scopes")
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = self.clock()
        with unit_of_work(self.engine, self.bus) as uow:
            if user_repo.get_user(uow.conn, owner) is None:
                raise InvalidInput(f"no user {owner}", field="owner_user_id")
            token_id = auth_repo.insert_token(uow.conn, {
                "name": name, "token_hash": secret_digest(secret), "prefix": secret[:12], "owner_user_id": owner,
                "scopes": sorted(s.value for s in set(scopes)), "created_by": actor.user_id, "created_at": now})
            self._audit(uow, actor, "api_token.created", "api_token", token_id,
                        {"name": name, "owner_user_id": owner, "scopes": sorted(s.value for s in set(scopes))}, ip)
            return CreatedToken(auth_repo.get_token(uow.conn, token_id) or {}, secret)

    def do_revoke_token(self, actor: Principal, token_id: int, *, ip: str | None = None) -> None:
        check_admin(actor)
        with unit_of_work(self.engine, self.bus) as uow:
            token = auth_repo.get_token(uow.conn, token_id)
            if token is None:
                raise NotFound(f"no API token {token_id}", field="token_id")
            if token["revoked_at"] is None:
                auth_repo.revoke_token(uow.conn, token_id, self.clock())
                self._audit(uow, actor, "api_token.revoked", "api_token", token_id, {"name": token["name"]}, ip)

"""Sign-in, sessions, CSRF and API tokens: who a request acts for (a domain.access Principal).

check_sign_in refuses (rate limit) before any password work; do_sign_in records the attempt and the
audit entry whatever the outcome, and answers wrong passwords, unknown emails and inactive accounts
with the same error after the same work.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine

from centralino.app.passwords import Passwords
from centralino.app.unit_of_work import unit_of_work
from centralino.domain.access import SAFE_METHODS, Principal, Role, TokenScope, normalise_email
from centralino.errors import Forbidden, TooManyRequests, Unauthenticated
from centralino.events.bus import EventBus
from centralino.storage import auth as auth_repo
from centralino.storage import users as user_repo

TOKEN_PREFIX = "cnt_"  # noqa: S105 - recognisable in logs and secret scanners
# last_seen_at / last_used_at are written at most this often per session or token: a request does not
# cost a write, and the idle timeout is still exact to within this.
TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class AccessPolicy:
    session_lifetime: timedelta = timedelta(hours=12)
    session_idle_timeout: timedelta = timedelta(hours=2)
    sign_in_max_failures: int = 5
    sign_in_window: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class SignedIn:
    user: dict[str, Any]
    session_cookie: str  # the cookie value: only its hash is stored
    csrf_token: str
    expires_at: datetime


class SignInThrottled(TooManyRequests):
    code = "auth.too_many_attempts"


def secret_digest(value: str) -> str:
    """How session ids and API tokens are stored: high-entropy values need no slow hash."""
    return hashlib.sha256(value.encode()).hexdigest()


def _utcnow() -> datetime:
    return datetime.now(UTC)


class AuthService:
    def __init__(self, engine: Engine, passwords: Passwords, bus: EventBus | None, *,
                 policy: AccessPolicy | None = None, integration_token: str | None = None,
                 clock: Callable[[], datetime] = _utcnow) -> None:
        self.engine = engine
        self.passwords = passwords
        self.bus = bus
        self.policy = policy or AccessPolicy()
        self.integration_token = integration_token
        self.clock = clock

    # --- sign-in ------------------------------------------------------------------------------------------------

    def check_sign_in(self, conn: Connection, email: str, ip: str, now: datetime) -> None:
        """Raise SignInThrottled (429, Retry-After) once (email, ip) failed too often in the window."""
        failures = auth_repo.recent_failures(conn, email, ip, now - self.policy.sign_in_window)
        if len(failures) >= self.policy.sign_in_max_failures:
            # the window slides: the oldest failure that still counts leaves it first
            frees_at = failures[-self.policy.sign_in_max_failures] + self.policy.sign_in_window
            retry_after = max(1, math.ceil((frees_at - now).total_seconds()))
            raise SignInThrottled("too many failed sign-ins; try again later", retry_after_s=retry_after)

    def do_sign_in(self, email: str, password: str, *, ip: str, user_agent: str | None) -> SignedIn:
        email = normalise_email(email)
        now = self.clock()
        throttled: SignInThrottled | None = None
        with unit_of_work(self.engine, self.bus) as uow:
            try:
                self.check_sign_in(uow.conn, email, ip, now)
            except SignInThrottled as exc:
                auth_repo.audit(uow.conn, at=now, actor_user_id=None, actor="anonymous",
                                action="auth.sign_in_throttled", details={"email": email}, ip=ip)
                throttled = exc
            user = None if throttled else user_repo.user_by_email(uow.conn, email)
        if throttled is not None:
            raise throttled
        # the slow part, outside any transaction (SQLite would hold its write lock meanwhile)
        ok = self.passwords.verify(user["password_hash"] if user else None, password)
        ok = ok and user is not None and bool(user["active"])
        new_hash = self.passwords.hash(password) if ok and user and self.passwords.needs_rehash(
            user["password_hash"]) else None
        with unit_of_work(self.engine, self.bus) as uow:
            auth_repo.record_attempt(uow.conn, email, ip, ok, now)
            if not ok or user is None:
                auth_repo.audit(uow.conn, at=now, actor_user_id=None, actor="anonymous",
                                action="auth.sign_in_failed", details={"email": email}, ip=ip)
            else:
                user_id = int(user["id"])
                if new_hash is not None:
                    user_repo.update_user(uow.conn, user_id, {"password_hash": new_hash}, now)
                session_cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
                expires_at = now + self.policy.session_lifetime
                auth_repo.insert_session(uow.conn, {
                    "id": secret_digest(session_cookie), "user_id": user_id, "csrf_token": csrf, "created_at": now,
                    "last_seen_at": now, "expires_at": expires_at, "ip": ip,
                    "user_agent": (user_agent or "")[:500] or None})
                auth_repo.audit(uow.conn, at=now, actor_user_id=user_id, actor=f"user:{user_id}",
                                action="auth.sign_in", target_type="user", target_id=user_id,
                                details={"rehashed": new_hash is not None}, ip=ip)
                # keep the attempts table small: nothing older than the window matters
                auth_repo.forget_attempts_before(uow.conn, now - self.policy.sign_in_window)
                signed_in = SignedIn(user_repo.get_user(uow.conn, user_id) or {}, session_cookie, csrf, expires_at)
        if not ok or user is None:
            raise Unauthenticated("email or password is wrong", code="auth.invalid_credentials")
        return signed_in

    def do_sign_out(self, principal: Principal, *, ip: str | None) -> None:
        if principal.session_id is None:
            return
        now = self.clock()
        with unit_of_work(self.engine, self.bus) as uow:
            auth_repo.delete_session(uow.conn, principal.session_id)
            auth_repo.audit(uow.conn, at=now, actor_user_id=principal.user_id, actor=principal.actor,
                            action="auth.sign_out", target_type="user", target_id=principal.user_id, ip=ip)

    # --- resolving a request's principal ---------------------------------------------------------------------

    def principal_for_session(self, session_cookie: str) -> Principal | None:
        """The signed-in user of a session cookie, or None when unknown, expired, idle or deactivated.
        Use slides the idle timeout; the absolute lifetime never moves."""
        key = secret_digest(session_cookie)
        now = self.clock()
        with self.engine.connect() as conn:
            found = auth_repo.session_with_user(conn, key)
            if found is None:
                return None
            expired = now >= found["expires_at"] or now - found["last_seen_at"] >= self.policy.session_idle_timeout
            if expired or not found["active"]:
                auth_repo.delete_session(conn, key)
                conn.commit()
                return None
            if now - found["last_seen_at"] >= TOUCH_EVERY:
                auth_repo.touch_session(conn, key, now)
                conn.commit()
            departments = frozenset(user_repo.department_ids_of(conn, int(found["user_id"])))
        return Principal(role=Role(found["role"]), user_id=int(found["user_id"]), department_ids=departments,
                         via="session", session_id=key, csrf_token=found["csrf_token"])

    def principal_for_token(self, token: str) -> Principal | None:
        """An API token's principal (its owner's role and departments, the token's scopes); the configured
        integration token is an administrator without a user."""
        if self.integration_token and hmac.compare_digest(token.encode(), self.integration_token.encode()):
            return Principal(role=Role.ADMIN, user_id=None, via="integration")
        if not token.startswith(TOKEN_PREFIX):
            return None
        now = self.clock()
        with self.engine.connect() as conn:
            found = auth_repo.token_with_owner(conn, secret_digest(token))
            if found is None or found["revoked_at"] is not None or not found["active"]:
                return None
            if found["last_used_at"] is None or now - found["last_used_at"] >= TOUCH_EVERY:
                auth_repo.mark_token_used(conn, int(found["id"]), now)
                conn.commit()
            owner = int(found["owner_user_id"])
            departments = frozenset(user_repo.department_ids_of(conn, owner))
        return Principal(role=Role(found["role"]), user_id=owner, department_ids=departments, via="api_token",
                         token_id=int(found["id"]), scopes=frozenset(TokenScope(s) for s in found["scopes"]))

    @staticmethod
    def check_csrf(principal: Principal, method: str, header_value: str | None) -> None:
        """Cookie-authenticated unsafe requests must echo the session's CSRF token in X-CSRF-Token
        (a cross-site form can send the cookie, never the header). Bearer tokens are not sent by
        browsers on their own, so they need none."""
        if principal.via != "session" or method.upper() in SAFE_METHODS:
            return
        expected = principal.csrf_token or ""
        if not header_value or not hmac.compare_digest(header_value.encode(), expected.encode()):
            raise Forbidden("the X-CSRF-Token header is missing or wrong", field="X-CSRF-Token", code="auth.csrf")

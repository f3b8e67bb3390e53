"""Who may see what: roles, the principal acting on a request, and conversation visibility.

Pure rules. The same rule is written as a SQL filter in storage/visibility.py (for lists and lookups);
tests check that the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class Language(StrEnum):
    IT = "it"
    EN = "en"


class TokenScope(StrEnum):
    READ = "read"  # GET/HEAD
    WRITE = "write"  # everything else (sending, uploads, administration when the owner may)


@dataclass(frozen=True)
class Principal:
    """Whoever a request acts for: a signed-in user, a user's API token, or the configured integration
    token (an administrator without a user row, `user_id` None)."""

    role: Role
    user_id: int | None
    department_ids: frozenset[int] = field(default_factory=frozenset)
    via: str = "session"  # session | api_token | integration
    token_id: int | None = None
    scopes: frozenset[TokenScope] = frozenset(TokenScope)
    session_id: str | None = None  # the session row's key (hashed id), for sign-out and CSRF
    csrf_token: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def actor(self) -> str:
        """How audit entries and message origins name this principal."""
        if self.user_id is not None:
            return f"user:{self.user_id}"
        return "integration"

    @property
    def origin(self) -> str:
        """`messages.origin` of what this principal sends (idempotency keys are scoped by it)."""
        if self.via == "integration":
            return "api"
        if self.via == "api_token":
            return f"token:{self.token_id}"
        return f"agent:{self.user_id}"


@dataclass(frozen=True)
class ConversationScope:
    """What visibility needs to know about one conversation."""

    department_id: int | None  # routed explicitly to a department; else the channel's departments count
    channel_department_ids: frozenset[int]
    assignee_user_id: int | None
    assignee_department_ids: frozenset[int] = frozenset()  # the assignee's departments

    @property
    def department_ids(self) -> frozenset[int]:
        if self.department_id is not None:
            return frozenset({self.department_id})
        return self.channel_department_ids


def may_see_conversation(principal: Principal, conversation: ConversationScope) -> bool:
    """Admins see everything. Agents see the conversations of their departments (explicitly routed there,
    or on a channel their departments serve) and those assigned to them. Supervisors see what their
    departments' agents see: also conversations assigned to a member of their departments."""
    if principal.is_admin:
        return True
    if principal.user_id is not None and conversation.assignee_user_id == principal.user_id:
        return True
    if conversation.department_ids & principal.department_ids:
        return True
    return principal.role is Role.SUPERVISOR and bool(conversation.assignee_department_ids & principal.department_ids)


def may_assign(principal: Principal, assignee_user_id: int | None, current_assignee_id: int | None) -> bool:
    """Agents take a conversation for themselves or give back their own; supervisors and administrators
    also assign to (transfer to) anyone and take conversations back from anyone."""
    if principal.role in (Role.SUPERVISOR, Role.ADMIN):
        return True
    if principal.user_id is None:
        return False
    if assignee_user_id is None:
        return current_assignee_id in (None, principal.user_id)
    return assignee_user_id == principal.user_id and current_assignee_id in (None, principal.user_id)


def may_use_method(principal: Principal, method: str) -> bool:
    """API tokens carry scopes: `read` allows safe methods only."""
    if method.upper() in SAFE_METHODS:
        return TokenScope.READ in principal.scopes or TokenScope.WRITE in principal.scopes
    return TokenScope.WRITE in principal.scopes


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def normalise_email(email: str) -> str:
    """Emails compare case-insensitively: stored and looked up lower-cased, trimmed."""
    return email.strip().lower()

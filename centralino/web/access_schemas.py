"""Request and response bodies of the access API (auth, users, departments, API tokens, audit)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from centralino.domain.access import Language, Role, TokenScope


class SignInRequest(BaseModel):
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class UserOut(BaseModel):
    id: int
    email: str
    display_name: str
    role: Role
    active: bool
    language: Language
    department_ids: list[int]
    created_at: datetime
    updated_at: datetime


class SignedInOut(BaseModel):
    user: UserOut
    csrf_token: str = Field(description="send it as X-CSRF-Token with every unsafe request of this session")
    expires_at: datetime


class MeOut(BaseModel):
    user: UserOut | None = Field(description="null for the configured integration token")
    role: Role
    via: str = Field(description="session, api_token or integration")
    department_ids: list[int]
    csrf_token: str | None = None


class UserCreate(BaseModel):
    email: str = Field(min_length=3, max_length=320)
    display_name: str = Field(min_length=1, max_length=200)
    role: Role
    password: str | None = Field(default=None, max_length=1024)
    language: Language = Language.IT
    department_ids: list[int] = []


class UserUpdate(BaseModel):
    display_name: str | None = Field(default=None, min_length=1, max_length=200)
    role: Role | None = None
    active: bool | None = None
    language: Language | None = None
    password: str | None = Field(default=None, max_length=1024)
    department_ids: list[int] | None = None


class DepartmentOut(BaseModel):
    id: int
    name: str
    member_ids: list[int]
    channel_ids: list[int] = Field(description="the channels the department serves")
    created_at: datetime
    updated_at: datetime


class DepartmentCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    member_ids: list[int] = []
    channel_ids: list[int] = []


class DepartmentUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    member_ids: list[int] | None = Field(default=None, description="replaces the members when given")
    channel_ids: list[int] | None = Field(default=None, description="replaces the channels served when given")


class ApiTokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    scopes: list[TokenScope] = [TokenScope.READ, TokenScope.WRITE]
    owner_user_id: int | None = Field(default=None, description="the user the token acts as; default: you")


class ApiTokenOut(BaseModel):
    id: int
    name: str
    prefix: str
    owner_user_id: int
    scopes: list[TokenScope]
    created_by: int | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiTokenCreated(ApiTokenOut):
    token: str = Field(description="shown this once; only its hash is stored")


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    actor_user_id: int | None
    actor: str
    action: str
    target_type: str | None
    target_id: str | None
    details: dict[str, Any]
    ip: str | None

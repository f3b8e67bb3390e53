"""Administration routes: users, departments, API tokens, the audit log. Administrators only (403
for everyone else); the use cases in app/admin.py check and audit."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from centralino.app.admin import check_admin
from centralino.errors import NotFound
from centralino.storage import auth as auth_repo
from centralino.storage import users as user_repo
from centralino.web.access_schemas import (
    ApiTokenCreate,
    ApiTokenCreated,
    ApiTokenOut,
    AuditEntryOut,
    DepartmentCreate,
    DepartmentOut,
    DepartmentUpdate,
    UserCreate,
    UserOut,
    UserUpdate,
)
from centralino.web.principal import CurrentPrincipal, client_ip, services
from centralino.web.schemas import Page

router = APIRouter(prefix="/api/v1", tags=["administration"])


@router.get("/users", response_model=list[UserOut])
def list_users(request: Request, principal: CurrentPrincipal) -> list[dict[str, Any]]:
    check_admin(principal)
    with services(request).engine.connect() as conn:
        return user_repo.list_users(conn)


@router.post("/users", status_code=201, response_model=UserOut)
def create_user(request: Request, principal: CurrentPrincipal, body: UserCreate) -> dict[str, Any]:
    """Create an agent, supervisor or administrator (password: at least 10 characters; without one the
    user cannot sign in until an administrator sets it)."""
    return services(request).admin.do_create_user(
        principal, email=body.email, display_name=body.display_name, role=body.role, password=body.password,
        language=body.language, department_ids=body.department_ids, ip=client_ip(request))


@router.get("/users/{user_id}", response_model=UserOut)
def get_user(request: Request, principal: CurrentPrincipal, user_id: int) -> dict[str, Any]:
    check_admin(principal)
    with services(request).engine.connect() as conn:
        found = user_repo.get_user(conn, user_id)
    if found is None:
        raise NotFound(f"no user {user_id}", field="user_id")
    return found


@router.patch("/users/{user_id}", response_model=UserOut)
def update_user(request: Request, principal: CurrentPrincipal, user_id: int, body: UserUpdate) -> dict[str, Any]:
    """Change what is given. Deactivating, a new role or a new password ends the user's sessions."""
    return services(request).admin.do_update_user(principal, user_id, body.model_dump(exclude_unset=True),
                                                  ip=client_ip(request))


@router.get("/departments", response_model=list[DepartmentOut])
def list_departments(request: Request, principal: CurrentPrincipal) -> list[dict[str, Any]]:
    check_admin(principal)
    with services(request).engine.connect() as conn:
        return user_repo.list_departments(conn)


@router.post("/departments", status_code=201, response_model=DepartmentOut)
def create_department(request: Request, principal: CurrentPrincipal, body: DepartmentCreate) -> dict[str, Any]:
    return services(request).admin.do_create_department(
        principal, body.name, member_ids=body.member_ids, channel_ids=body.channel_ids, ip=client_ip(request))


@router.patch("/departments/{department_id}", response_model=DepartmentOut)
def update_department(request: Request, principal: CurrentPrincipal, department_id: int,
                      body: DepartmentUpdate) -> dict[str, Any]:
    """Rename, and/or replace the members or the channels served."""
    return services(request).admin.do_update_department(
        principal, department_id, name=body.name, member_ids=body.member_ids, channel_ids=body.channel_ids,
        ip=client_ip(request))


@router.get("/api-tokens", response_model=list[ApiTokenOut])
def list_tokens(request: Request, principal: CurrentPrincipal) -> list[dict[str, Any]]:
    check_admin(principal)
    with services(request).engine.connect() as conn:
        return auth_repo.list_tokens(conn)


@router.post("/api-tokens", status_code=201, response_model=ApiTokenCreated)
def create_token(request: Request, response: Response, principal: CurrentPrincipal,
                 body: ApiTokenCreate) -> dict[str, Any]:
    """Create a token for an integration: it acts as its owner (role and departments) within its scopes
    (`read`: GET only). The token is in this response only."""
    created = services(request).admin.do_create_token(principal, body.name, scopes=body.scopes,
                                                      owner_user_id=body.owner_user_id, ip=client_ip(request))
    response.headers["Cache-Control"] = "no-store"
    return {**created.token, "token": created.secret}


@router.delete("/api-tokens/{token_id}", status_code=204)
def revoke_token(request: Request, principal: CurrentPrincipal, token_id: int) -> Response:
    services(request).admin.do_revoke_token(principal, token_id, ip=client_ip(request))
    return Response(status_code=204)


@router.get("/audit", response_model=Page[AuditEntryOut])
def list_audit(request: Request, principal: CurrentPrincipal, action: str | None = None,
               limit: Annotated[int, Query(ge=1, le=200)] = 50, cursor: str | None = None) -> dict[str, Any]:
    """Sign-ins (also failed and throttled ones) and administrative changes, newest first."""
    check_admin(principal)
    with services(request).engine.connect() as conn:
        items, next_cursor = auth_repo.list_audit(conn, action=action, limit=limit, cursor=cursor)
    return {"items": items, "next_cursor": next_cursor}

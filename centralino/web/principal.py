"""Who a request acts for: a session cookie (with CSRF on unsafe methods) or a Bearer token."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from centralino.domain.access import Principal, may_use_method
from centralino.errors import Forbidden, Unauthenticated
from centralino.services import Services

SESSION_COOKIE = "centralino_session"
CSRF_HEADER = "X-CSRF-Token"

bearer = HTTPBearer(auto_error=False)
session_cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False)


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    cookie: Annotated[str | None, Depends(session_cookie)],
) -> Principal:
    """A Bearer token wins over a cookie (integrations never carry one; a browser never sends the header
    on its own, which is also why bearer requests need no CSRF token)."""
    auth = services(request).auth
    if credentials is not None:
        principal = auth.principal_for_token(credentials.credentials)
        if principal is None:
            raise Unauthenticated("the API token is not valid", field="Authorization")
        if not may_use_method(principal, request.method):
            raise Forbidden("this API token may only read", code="auth.scope")
    else:
        principal = auth.principal_for_session(cookie) if cookie else None
        if principal is None:
            raise Unauthenticated("sign in, or send an API token: Authorization: Bearer <token>",
                                  field="Authorization")
        auth.check_csrf(principal, request.method, request.headers.get(CSRF_HEADER))
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"

"""Sign-in, sign-out and who am I. The session lives in an HttpOnly, SameSite=Lax cookie; unsafe
requests of a session carry its CSRF token in X-CSRF-Token (docs/access.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from centralino.storage import users as user_repo
from centralino.web.access_schemas import MeOut, SignedInOut, SignInRequest
from centralino.web.principal import SESSION_COOKIE, CurrentPrincipal, client_ip, services

router = APIRouter(prefix="/api/v1/auth", tags=["access"])


def _secure(request: Request) -> bool:
    configured = services(request).settings.session_cookie_secure
    return request.url.scheme == "https" if configured is None else configured


@router.post("/sign-in", response_model=SignedInOut)
def sign_in(request: Request, response: Response, body: SignInRequest) -> dict[str, Any]:
    """Sign in with email and password: sets the session cookie and returns the user and the CSRF token.
    Wrong password, unknown email and deactivated account get the same 401; too many failures from one
    address for one email get 429 with Retry-After."""
    svc = services(request)
    signed_in = svc.auth.do_sign_in(body.email, body.password, ip=client_ip(request),
                                    user_agent=request.headers.get("user-agent"))
    response.set_cookie(SESSION_COOKIE, signed_in.session_cookie, max_age=int(svc.settings.session_lifetime_s),
                        path="/", secure=_secure(request), httponly=True, samesite="lax")
    response.headers["Cache-Control"] = "no-store"
    return {"user": signed_in.user, "csrf_token": signed_in.csrf_token, "expires_at": signed_in.expires_at}


@router.post("/sign-out", status_code=204)
def sign_out(request: Request, principal: CurrentPrincipal) -> Response:
    services(request).auth.do_sign_out(principal, ip=client_ip(request))
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/", secure=_secure(request), httponly=True, samesite="lax")
    return response


@router.get("/me", response_model=MeOut)
def me(request: Request, response: Response, principal: CurrentPrincipal) -> dict[str, Any]:
    """The caller: user, role, departments and, for a session, its CSRF token (a reloaded page reads it here)."""
    user = None
    if principal.user_id is not None:
        with services(request).engine.connect() as conn:
            user = user_repo.get_user(conn, principal.user_id)
    response.headers["Cache-Control"] = "no-store"
    return {"user": user, "role": principal.role, "via": principal.via,
            "department_ids": sorted(principal.department_ids), "csrf_token": principal.csrf_token}

"""The desktop's pages: sign-in, inbox, conversation, and the fragments the page scripts fetch to redraw
live (the same templates, so a live row is rendered exactly like a loaded one).

Pages answer only to the session cookie (never a Bearer token): without one they send the browser to
the sign-in page. Every response carries a strict Content-Security-Policy: scripts only from our static
folder, no inline script or style, media and connections to this origin only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

import jinja2
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from centralino.app.contact_profile import tags_of
from centralino.domain import window
from centralino.domain.access import Principal, Role
from centralino.domain.contact_profile import LANGUAGES
from centralino.errors import NotFound, TooManyRequests, Unauthenticated
from centralino.storage import desk as desk_repo
from centralino.storage import queries
from centralino.storage import users as user_repo
from centralino.storage.desk import InboxView
from centralino.storage.visibility import visible_conversations
from centralino.web.auth import _secure
from centralino.web.desk.bot_view import bot_view
from centralino.web.desk.i18n import language_of, translator
from centralino.web.desk.render import message_view
from centralino.web.principal import SESSION_COOKIE, client_ip, services

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                         undefined=jinja2.StrictUndefined)

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; media-src 'self'; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
# Referrer-Policy same-origin: nothing about a conversation leaks to a site a link leads to, while our own
# form posts keep their Origin header (with no-referrer, Chromium sends "Origin: null" and the sign-in
# form's same-origin check would refuse it).
SECURITY_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "same-origin", "X-Frame-Options": "DENY", "Cache-Control": "no-store"}
INBOX_PAGE = 50
CONVERSATION_MESSAGES = 200

router = APIRouter(prefix="/desk", include_in_schema=False)


def _fmt_time(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if value else ""


ENV.filters["time"] = _fmt_time


def page_principal(request: Request) -> Principal | None:
    cookie = request.cookies.get(SESSION_COOKIE)
    return services(request).auth.principal_for_session(cookie) if cookie else None


def render(request: Request, template: str, *, status: int = 200, principal: Principal | None = None,
           language: str | None = None, **context: Any) -> HTMLResponse:
    user = None
    if principal is not None and principal.user_id is not None:
        with services(request).engine.connect() as conn:
            user = user_repo.get_user(conn, principal.user_id)
    lang = language_of(language or (user or {}).get("language"))
    html = ENV.get_template(template).render(t=translator(lang), lang=lang, user=user, principal=principal,
                                             csrf=principal.csrf_token if principal else "", **context)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def _to_sign_in(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse("/desk/sign-in?" + urlencode({"next": target}), status_code=303)


def _safe_next(value: str | None) -> str:
    """Only our own desktop paths: never an open redirect to another site."""
    if value and value.startswith("/desk/") and not value.startswith("//") and not urlsplit(value).netloc:
        return value
    return "/desk/"


def _guess_language(request: Request) -> str:
    chosen = request.query_params.get("lang")
    if chosen:
        return language_of(chosen)
    return "en" if request.headers.get("accept-language", "").lower().startswith("en") else "it"


# --- sign-in ---------------------------------------------------------------------------------------------------

@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request, next: str | None = None) -> HTMLResponse:
    return render(request, "sign_in.html", language=_guess_language(request), error=None, email="",
                  next=_safe_next(next), script=None)


@router.post("/sign-in", response_class=HTMLResponse)
def sign_in(request: Request, email: Annotated[str, Form()], password: Annotated[str, Form()],
            next: Annotated[str | None, Form()] = None) -> Response:
    """The form posts here (same origin only: a cross-site form must not sign a victim into our account)."""
    origin = request.headers.get("origin")
    language = _guess_language(request)
    if origin and urlsplit(origin).netloc != request.url.netloc:
        return render(request, "sign_in.html", status=403, language=language, error="sign_in.failed", email="",
                      next="/desk/", script=None)
    svc = services(request)
    try:
        signed_in = svc.auth.do_sign_in(email, password, ip=client_ip(request),
                                        user_agent=request.headers.get("user-agent"))
    except TooManyRequests:
        return render(request, "sign_in.html", status=429, language=language, error="sign_in.throttled",
                      email=email, next=_safe_next(next), script=None)
    except Unauthenticated:
        return render(request, "sign_in.html", status=401, language=language, error="sign_in.failed",
                      email=email, next=_safe_next(next), script=None)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(SESSION_COOKIE, signed_in.session_cookie, max_age=int(svc.settings.session_lifetime_s),
                        path="/", secure=_secure(request), httponly=True, samesite="lax")
    return response


# --- inbox -----------------------------------------------------------------------------------------------------

def views_for(principal: Principal) -> list[InboxView]:
    views = [InboxView.MINE, InboxView.UNASSIGNED, InboxView.DEPARTMENTS]
    if principal.role in (Role.SUPERVISOR, Role.ADMIN):
        views.append(InboxView.ALL)
    return views


def _inbox_rows(request: Request, principal: Principal, view: InboxView, q: str | None,
                cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    with services(request).engine.connect() as conn:
        rows, next_cursor = desk_repo.inbox_page(conn, principal, view=view, q=q, limit=INBOX_PAGE, cursor=cursor)
    now = datetime.now(UTC)
    for row in rows:
        row["window"] = window.state(row["window_expires_at"], now)
        last = row["last_message"]
        row["waiting"] = bool(last and last["direction"] == "in")
    return rows, next_cursor


def _default_view(principal: Principal) -> InboxView:
    return InboxView.ALL if principal.role in (Role.SUPERVISOR, Role.ADMIN) else InboxView.DEPARTMENTS


@router.get("/", response_class=HTMLResponse)
def inbox(request: Request, view: InboxView | None = None, q: Annotated[str | None, Query(max_length=200)] = None,
          cursor: str | None = None) -> Response:
    principal = page_principal(request)
    if principal is None:
        return _to_sign_in(request)
    view = view or _default_view(principal)
    rows, next_cursor = _inbox_rows(request, principal, view, q, cursor)
    return render(request, "inbox.html", principal=principal, views=views_for(principal), view=view, q=q or "",
                  rows=rows, next_cursor=next_cursor, script="inbox.js")


@router.get("/inbox/rows", response_class=HTMLResponse)
def inbox_rows(request: Request, view: InboxView, q: Annotated[str | None, Query(max_length=200)] = None,
               cursor: str | None = None) -> Response:
    """The inbox list alone, for the page's live redraw."""
    principal = page_principal(request)
    if principal is None:
        return HTMLResponse("", status_code=401, headers=SECURITY_HEADERS)
    rows, next_cursor = _inbox_rows(request, principal, view, q, cursor)
    return render(request, "_rows.html", principal=principal, view=view, q=q or "", rows=rows,
                  next_cursor=next_cursor)


# --- conversation ----------------------------------------------------------------------------------------------

def _message_views(request: Request, conn: Any, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    quoted_ids = sorted({int(m["reply_to_message_id"]) for m in items if m.get("reply_to_message_id")})
    quoted = {}
    for quoted_id in quoted_ids:
        found = queries.get_message(conn, quoted_id)
        if found is not None:
            quoted[quoted_id] = found
    views = []
    for item in items:
        media = item.get("media")
        url = (str(request.url_for("download_media", message_id=item["id"]))
               if media and media.get("state") == "stored" else None)
        views.append(message_view(item, url, quoted.get(int(item["reply_to_message_id"] or 0))))
    return views


def _conversation_context(request: Request, principal: Principal, conversation_id: int) -> dict[str, Any] | None:
    with services(request).engine.connect() as conn:
        conversation = queries.get_conversation(conn, conversation_id, visible_conversations(principal))
        if conversation is None:
            return None
        items, older_cursor = queries.list_messages(conn, conversation_id, limit=CONVERSATION_MESSAGES,
                                                    cursor=None)
        items.reverse()
        contact = queries.get_contact(conn, int(conversation["contact_id"])) or {}
        contact["tags"] = tags_of(conn, int(conversation["contact_id"]))
        contact["attributes"] = dict(contact.get("attributes") or {})
        others = desk_repo.contact_conversations(conn, principal, int(conversation["contact_id"]))
        assignee = (user_repo.get_user(conn, int(conversation["assignee_user_id"]))
                    if conversation["assignee_user_id"] else None)
        messages = _message_views(request, conn, items)
        transfer_to = _transfer_candidates(conn, principal)
        bot = bot_view(conn, conversation_id)  # the virtual agent's cards and owner badge (web/desk/bot_view.py)
    return {"conversation": conversation, "messages": messages, "contact": contact, "others": others,
            "assignee": assignee, "transfer_to": transfer_to, "older_cursor": older_cursor, "languages": LANGUAGES,
            "bot": bot,
            "window": window.state(conversation["window_expires_at"], datetime.now(UTC))}


def _transfer_candidates(conn: Any, principal: Principal) -> list[dict[str, Any]]:
    """Whom a supervisor (their departments' people) or an administrator (anyone active) may assign to;
    agents only take conversations for themselves, so none."""
    if principal.role is Role.AGENT:
        return []
    people = [u for u in user_repo.list_users(conn) if u["active"]]
    if principal.role is Role.SUPERVISOR:
        people = [u for u in people if set(u["department_ids"]) & principal.department_ids]
    return sorted(people, key=lambda u: str(u["display_name"]).lower())


def _not_found(request: Request, principal: Principal) -> HTMLResponse:
    return render(request, "not_found.html", status=404, principal=principal, script=None)


@router.get("/conversations/{conversation_id}", response_class=HTMLResponse)
def conversation_page(request: Request, conversation_id: int) -> Response:
    principal = page_principal(request)
    if principal is None:
        return _to_sign_in(request)
    try:  # opening it is reading it: its unread count starts again from zero
        services(request).desk.do_mark_read(principal, conversation_id)
    except NotFound:
        return _not_found(request, principal)
    context = _conversation_context(request, principal, conversation_id)
    if context is None:
        return _not_found(request, principal)
    return render(request, "conversation.html", principal=principal, script="conversation.js", **context)


@router.get("/conversations/{conversation_id}/header", response_class=HTMLResponse)
def conversation_header(request: Request, conversation_id: int) -> Response:
    """The header (status, assignee, actions) and customer panel, for the live redraw."""
    principal = page_principal(request)
    if principal is None:
        return HTMLResponse("", status_code=401, headers=SECURITY_HEADERS)
    context = _conversation_context(request, principal, conversation_id)
    if context is None:
        return HTMLResponse("", status_code=404, headers=SECURITY_HEADERS)
    return render(request, "_header.html", principal=principal, **context)


@router.get("/conversations/{conversation_id}/messages/{message_id}", response_class=HTMLResponse)
def message_fragment(request: Request, conversation_id: int, message_id: int) -> Response:
    """One message as the conversation shows it (new, or its ticks changed)."""
    principal = page_principal(request)
    if principal is None:
        return HTMLResponse("", status_code=401, headers=SECURITY_HEADERS)
    with services(request).engine.connect() as conn:
        visible = queries.get_conversation(conn, conversation_id, visible_conversations(principal))
        found = queries.get_message(conn, message_id) if visible is not None else None
        if found is None or int(found["conversation_id"]) != conversation_id:
            return HTMLResponse("", status_code=404, headers=SECURITY_HEADERS)
        view = _message_views(request, conn, [found])[0]
    return render(request, "_message.html", principal=principal, m=view)


@router.get("/conversations/{conversation_id}/older", response_class=HTMLResponse)
def older_messages(request: Request, conversation_id: int, cursor: str) -> Response:
    """The page of messages before `cursor` (oldest first), and the link to the page before it."""
    principal = page_principal(request)
    if principal is None:
        return HTMLResponse("", status_code=401, headers=SECURITY_HEADERS)
    with services(request).engine.connect() as conn:
        if queries.get_conversation(conn, conversation_id, visible_conversations(principal)) is None:
            return HTMLResponse("", status_code=404, headers=SECURITY_HEADERS)
        items, older_cursor = queries.list_messages(conn, conversation_id, limit=CONVERSATION_MESSAGES,
                                                    cursor=cursor)
        items.reverse()
        views = _message_views(request, conn, items)
    return render(request, "_older.html", principal=principal, messages=views, older_cursor=older_cursor,
                  conversation={"id": conversation_id})


# --- live updates: GET /desk/events is served by web/desk/events_stream.py (ahead of the middleware) ----------


"""The desktop's template pages: the template manager (/desk/templates: list with status badges and
reasons, the builder with live preview and lint messages, status and history), and the composer's
template picker fragment for a conversation whose window is closed.

Everyone signed in sees templates; the builder's actions are for supervisors and administrators (the API
refuses anyone else). Pages and fragments answer only to the session cookie, like the other desk pages.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from centralino.domain.access import Principal, Role
from centralino.domain.template_text import buttons, distinct, find, variables
from centralino.storage import queries
from centralino.storage import templates as template_repo
from centralino.storage.tables import contacts
from centralino.storage.visibility import visible_conversations
from centralino.web.desk.pages import SECURITY_HEADERS, _not_found, _to_sign_in, page_principal, render
from centralino.web.principal import services

router = APIRouter(prefix="/desk", include_in_schema=False)
STATUSES = ("draft", "pending", "approved", "rejected", "paused", "disabled", "flagged", "pending_deletion")
PAGE = 50


def may_manage(principal: Principal) -> bool:
    return principal.role in (Role.SUPERVISOR, Role.ADMIN)


def _rows(request: Request, status: str | None, q: str | None, cursor: str | None) -> tuple[list[dict[str, Any]],
                                                                                             str | None]:
    where = template_repo.TemplateFilter(status=status or None, q=q or None)
    with services(request).engine.connect() as conn:
        return template_repo.list_page(conn, where, limit=PAGE, cursor=cursor)


@router.get("/templates", response_class=HTMLResponse)
def templates_page(request: Request, status: Annotated[str | None, Query(max_length=100)] = None,
                   q: Annotated[str | None, Query(max_length=200)] = None, cursor: str | None = None) -> Response:
    principal = page_principal(request)
    if principal is None:
        return _to_sign_in(request)
    rows, next_cursor = _rows(request, status, q, cursor)
    return render(request, "templates_list.html", principal=principal, rows=rows, next_cursor=next_cursor,
                  status_filter=status or "", q=q or "", statuses=STATUSES, may_manage=may_manage(principal),
                  script="templates.js")


@router.get("/templates/rows", response_class=HTMLResponse)
def template_rows(request: Request, status: Annotated[str | None, Query(max_length=100)] = None,
                  q: Annotated[str | None, Query(max_length=200)] = None) -> Response:
    """The list alone, for the live redraw when a status webhook arrives."""
    principal = page_principal(request)
    if principal is None:
        return HTMLResponse("", status_code=401, headers=SECURITY_HEADERS)
    rows, next_cursor = _rows(request, status, q, None)
    return render(request, "_templates_rows.html", principal=principal, rows=rows, next_cursor=next_cursor,
                  status_filter=status or "", q=q or "")


def _builder(request: Request, principal: Principal, template: dict[str, Any] | None,
             copy_of: dict[str, Any] | None = None) -> Response:
    svc = services(request)
    accounts = svc.templates.accounts() if svc.templates is not None else []
    detail: dict[str, Any] = {}
    if template is not None:
        with svc.engine.connect() as conn:
            detail = {"history": template_repo.history(conn, int(template["id"])),
                      "languages": template_repo.languages_of(conn, template["account_id"], template["name"])}
    source = template if template is not None else copy_of
    definition = ({k: source[k] for k in ("name", "language", "category", "parameter_format", "components")}
                  if source is not None else None)
    if copy_of is not None and definition is not None:
        definition["language"] = ""  # another language of the same template: same name and category
    editable = may_manage(principal) and (template is None or template["status"] in ("draft", "rejected"))
    return render(request, "templates_builder.html", principal=principal, tpl=template, accounts=accounts,
                  definition=definition, editable=editable, may_manage=may_manage(principal), copy_of=copy_of,
                  script="templates.js", **detail)


@router.get("/templates/new", response_class=HTMLResponse)
def new_template_page(request: Request, language_of: int | None = None) -> Response:
    """A new template, or (`language_of`) a new language of an existing one, starting from its content."""
    principal = page_principal(request)
    if principal is None:
        return _to_sign_in(request)
    return _builder(request, principal, None, _template(request, language_of) if language_of else None)


def _template(request: Request, template_id: int) -> dict[str, Any] | None:
    with services(request).engine.connect() as conn:
        return template_repo.get(conn, template_id)


@router.get("/templates/{template_id}", response_class=HTMLResponse)
def template_page(request: Request, template_id: int) -> Response:
    principal = page_principal(request)
    if principal is None:
        return _to_sign_in(request)
    template = _template(request, template_id)
    if template is None:
        return _not_found(request, principal)
    return _builder(request, principal, template)


@router.get("/templates/{template_id}/status", response_class=HTMLResponse)
def template_status(request: Request, template_id: int) -> Response:
    """Status, reason and history: the detail page redraws it when a webhook changes the template."""
    principal = page_principal(request)
    if principal is None:
        return HTMLResponse("", status_code=401, headers=SECURITY_HEADERS)
    template = _template(request, template_id)
    if template is None:
        return HTMLResponse("", status_code=404, headers=SECURITY_HEADERS)
    with services(request).engine.connect() as conn:
        history = template_repo.history(conn, template_id)
        languages = template_repo.languages_of(conn, template["account_id"], template["name"])
    return render(request, "_template_status.html", principal=principal, tpl=template, history=history,
                  languages=languages)


# --- the composer's picker -------------------------------------------------------------------------------

def parameter_slots(template: dict[str, Any]) -> dict[str, Any]:
    """What the agent fills in: the header's variable or media, the body's variables, URL suffixes."""
    components = template["components"] or []
    header = find(components, "HEADER") or {}
    header_format = str(header.get("format") or "").upper()
    header_vars = distinct(variables(str(header.get("text") or ""))) if header_format == "TEXT" else []
    body = find(components, "BODY") or {}
    body_vars = distinct(variables(str(body.get("text") or "")))
    if template["category"] == "authentication" and not body_vars:
        body_vars = ["1"]  # the one-time code
    url_buttons = [{"index": i, "text": b.get("text") or ""} for i, b in enumerate(buttons(components))
                   if str(b.get("type") or "").upper() == "URL" and "{{" in str(b.get("url") or "")]
    return {"header_format": header_format, "header_vars": header_vars, "body_vars": body_vars,
            "url_buttons": url_buttons}


def language_rank(template_language: str, contact_language: str | None) -> int:
    """0: the customer's language, 1: the same language of another country, 2: any other."""
    if not contact_language:
        return 2
    wanted, offered = contact_language.lower().replace("-", "_"), template_language.lower()
    if offered == wanted:
        return 0
    return 1 if offered.split("_")[0] == wanted.split("_")[0] else 2


@router.get("/conversations/{conversation_id}/template-picker", response_class=HTMLResponse)
def template_picker(request: Request, conversation_id: int) -> Response:
    """The approved templates of the conversation's WhatsApp account, the customer's language first."""
    principal = page_principal(request)
    if principal is None:
        return HTMLResponse("", status_code=401, headers=SECURITY_HEADERS)
    svc = services(request)
    with svc.engine.connect() as conn:
        conversation = queries.get_conversation(conn, conversation_id, visible_conversations(principal))
        if conversation is None:
            return HTMLResponse("", status_code=404, headers=SECURITY_HEADERS)
        language = conn.execute(select(contacts.c.language).where(
            contacts.c.id == conversation["contact_id"])).scalar_one_or_none()
        channel = svc.directory.by_id(int(conversation["channel_id"]))
        approved = template_repo.approved_of_account(conn, channel.account_id) if channel and channel.account_id \
            else []
    items = sorted(({**t, "rank": language_rank(t["language"], language), **parameter_slots(t)} for t in approved),
                   key=lambda t: (t["rank"], t["name"], t["language"]))
    return render(request, "_template_picker_items.html", principal=principal, items=items,
                  contact_language=language or "", conversation_id=conversation_id)

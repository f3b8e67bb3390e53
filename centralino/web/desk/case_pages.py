"""The desk's case pages: the list (/desk/cases), a case (/desk/cases/{id}), opening a case from a conversation
(/desk/conversations/{id}/cases/new) and the conversation's cases in the customer panel. Server-rendered,
working without script: every change is a plain form POST carrying the session's CSRF token (case_forms.py),
answered with a redirect back to the page, or the page again with the error next to its field.

A case the user may not see is 404, exactly as a case that does not exist (storage/cases.py visible_cases)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from centralino.domain.access import Principal
from centralino.errors import InvalidInput
from centralino.storage import cases as case_repo
from centralino.storage import queries
from centralino.storage import users as user_repo
from centralino.storage.tables_cases import cases
from centralino.storage.visibility import visible_conversations
from centralino.web.desk import case_views as views
from centralino.web.desk.case_story import case_story
from centralino.web.desk.i18n import language_of, translator
from centralino.web.desk.pages import SECURITY_HEADERS, _to_sign_in, page_principal, render
from centralino.web.principal import services

router = APIRouter(prefix="/desk", include_in_schema=False)
PAGE = 50
PICKABLE_MESSAGES = 30  # the newest messages offered for attaching when a case is opened
DEFAULT_ATTACHED = 3  # ticked by default: the customer's last few words are usually what the case is about


def user_language(request: Request, principal: Principal) -> str:
    if principal.user_id is None:
        return "it"
    with services(request).engine.connect() as conn:
        user = user_repo.get_user(conn, principal.user_id) or {}
    return language_of(user.get("language"))


def labels(lang: str) -> Any:
    return views.status_labeler(translator(lang))


def not_found(request: Request, principal: Principal) -> HTMLResponse:
    return render(request, "not_found.html", status=404, principal=principal, script=None)


def fragment_status(status: int) -> HTMLResponse:
    return HTMLResponse("", status_code=status, headers=SECURITY_HEADERS)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


# --- the list ---------------------------------------------------------------------------------------------------

@router.get("/cases", response_class=HTMLResponse)
def case_list(request: Request, q: Annotated[str | None, Query(max_length=200)] = None,
              status: Annotated[str | None, Query(max_length=64)] = None, type_id: str | None = None,
              department_id: str | None = None, owner_user_id: str | None = None,
              before: str | None = None) -> Response:
    principal = page_principal(request)
    if principal is None:
        return _to_sign_in(request)
    lang = user_language(request, principal)
    filters: dict[str, Any] = {"q": q or "", "status": status or "", "type_id": _int(type_id),
                               "department_id": _int(department_id), "owner_user_id": _int(owner_user_id)}
    with services(request).engine.connect() as conn:
        types = views.type_rows(conn, lang, active_only=False)
        rows = case_repo.search_cases(
            conn, principal, department_id=filters["department_id"], statuses=[status] if status else (),
            case_type_id=filters["type_id"], owner_user_id=filters["owner_user_id"], text=q or None,
            before_id=_int(before), limit=PAGE + 1)
        shown = list_rows(conn, [dict(r) for r in rows[:PAGE]], types)
        departments = views.all_departments(conn)
        people = views.active_people(conn)
    statuses = sorted({s for ty in types for s in ty["type"].workflow.statuses})
    next_url = None
    if len(rows) > PAGE:
        query = {k: v for k, v in filters.items() if v not in (None, "")}
        next_url = "/desk/cases?" + urlencode({**query, "before": shown[-1]["id"]})
    return render(request, "cases/list.html", principal=principal, rows=shown, filters=filters, types=types,
                  statuses=statuses, departments=departments, people=people, next_url=next_url, errors={},
                  status_label=labels(lang), script="cases.js")


def list_rows(conn: Any, rows: list[dict[str, Any]], types: list[dict[str, Any]]) -> list[dict[str, Any]]:
    type_names = {t["id"]: t["name"] for t in types}
    names = views.department_names(conn)
    owners = {p["id"]: p["display_name"] for p in views.active_people(conn)}
    warnings = views.case_warnings(conn, [int(r["id"]) for r in rows])
    now = datetime.now(UTC)
    for r in rows:
        r["type_name"] = type_names.get(int(r["case_type_id"]), "?")
        r["department_name"] = names.get(int(r["department_id"] or 0))
        r["owner_name"] = owners.get(int(r["owner_user_id"] or 0))
        r["risk"] = (views.risk_of(r["work_due_at"], warnings.get(f"case:{r['id']}"), now)
                     if r["open_department_id"] is not None else None)
    return rows


# --- one case ---------------------------------------------------------------------------------------------------

def case_page_context(request: Request, principal: Principal, case_id: int) -> dict[str, Any] | None:
    lang = user_language(request, principal)
    story_before = request.query_params.get("story_before")
    with services(request).engine.connect() as conn:
        if not case_repo.is_case_visible(conn, principal, case_id):
            return None
        case = views.case_detail(conn, case_id, lang)
        if case is None:
            return None
        departments = views.all_departments(conn)
        people = views.active_people(conn)
        try:
            story, older = case_story(conn, principal, case_id, translator(lang), story_before)
        except InvalidInput:  # a cursor that is not ours: the newest page
            story, older = case_story(conn, principal, case_id, translator(lang))
    return {"case": case, "story": story, "story_older": older, "all_departments": departments,
            "departments": departments, "people": people,
            "priorities": views.PRIORITIES, "status_label": labels(lang), "form": details_form(case),
            "task_form": {"title": "", "department_id": None, "due_at": "", "checklist": ""}}


def details_form(case: dict[str, Any]) -> dict[str, Any]:
    due = case.get("due_at")
    return {"title": case["title"], "priority": case["priority"], "department_id": case["department_id"],
            "owner_user_id": case["owner_user_id"], "due_at": due.astimezone(UTC).strftime("%Y-%m-%dT%H:%M") if due
            else "", "tags": ", ".join(case["tags"]),
            "fields": {k: "" if v is None else str(v) for k, v in case["fields"].items()}}


def render_case(request: Request, principal: Principal, case_id: int, *, status: int = 200,
                errors: dict[str, str] | None = None, notice: str | None = None,
                **overrides: Any) -> Response:
    context = case_page_context(request, principal, case_id)
    if context is None:
        return not_found(request, principal)
    context.update(overrides)
    return render(request, "cases/page.html", status=status, principal=principal, errors=errors or {},
                  notice=notice, script="cases.js", **context)


NOTICES = {"created": "cases.created", "saved": "cases.saved"}


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(request: Request, case_id: int, done: str | None = None) -> Response:
    principal = page_principal(request)
    if principal is None:
        return _to_sign_in(request)
    return render_case(request, principal, case_id, notice=NOTICES.get(done or ""))


# --- opening a case from a conversation -------------------------------------------------------------------------

def open_form_context(request: Request, principal: Principal, conversation_id: int) -> dict[str, Any] | None:
    lang = user_language(request, principal)
    svc = services(request)
    if svc.cases is not None:
        svc.cases.types.list_types()  # seeds the default types on a fresh installation's first use
    with svc.engine.connect() as conn:
        conversation = queries.get_conversation(conn, conversation_id, visible_conversations(principal))
        if conversation is None:
            return None
        items, _ = queries.list_messages(conn, conversation_id, limit=PICKABLE_MESSAGES, cursor=None)
        contact = queries.get_contact(conn, int(conversation["contact_id"])) or {}
        types = views.type_rows(conn, lang)
        departments = views.all_departments(conn)
    items.reverse()
    picked = [int(m["id"]) for m in items if m["direction"] == "in"][-DEFAULT_ATTACHED:]
    first_in = next((m for m in reversed(items) if m["direction"] == "in" and m.get("text")), None)
    mine = [d for d in departments if d["id"] in principal.department_ids]
    form: dict[str, Any] = {
        "type_id": types[0]["id"] if types else None,
        "priority": types[0]["default_priority"] if types else "normal",
        "title": str(first_in["text"]).splitlines()[0][:120] if first_in else "",
        "department_id": conversation.get("department_id") or (mine[0]["id"] if mine else None),
        "message_ids": picked, "fields": {}}
    return {"conversation": conversation, "contact_name": contact.get("display_name"), "messages": items,
            "types": types, "departments": departments, "priorities": views.PRIORITIES, "form": form}


@router.get("/conversations/{conversation_id}/cases/new", response_class=HTMLResponse)
def open_case_form(request: Request, conversation_id: int, last: int | None = None) -> Response:
    """The form; `?last=N` ticks the conversation's last N messages instead (a plain link; the page's script
    ticks them in place, keeping what was typed)."""
    principal = page_principal(request)
    if principal is None:
        return _to_sign_in(request)
    context = open_form_context(request, principal, conversation_id)
    if context is None:
        return not_found(request, principal)
    if last is not None and last > 0:
        context["form"]["message_ids"] = [int(m["id"]) for m in context["messages"][-last:]]
    return render(request, "cases/new.html", principal=principal, errors={}, script="cases.js", **context)


@router.get("/conversations/{conversation_id}/cases", response_class=HTMLResponse)
def conversation_cases(request: Request, conversation_id: int) -> Response:
    """The panel's section: the cases linked to this conversation (or to its messages) the user may see."""
    principal = page_principal(request)
    if principal is None:
        return fragment_status(401)
    lang = user_language(request, principal)
    label = labels(lang)
    with services(request).engine.connect() as conn:
        conversation = queries.get_conversation(conn, conversation_id, visible_conversations(principal))
        if conversation is None:
            return fragment_status(404)
        ids = views.cases_of_conversation(conn, conversation_id)
        found = conn.execute(select(cases.c.id, cases.c.number, cases.c.title, cases.c.status).where(
            cases.c.id.in_(ids), case_repo.visible_cases(principal)).order_by(cases.c.id.desc())).all() if ids else []
    linked = [{"id": int(r.id), "number": r.number, "title": r.title, "status": r.status,
               "status_label": label(r.status)} for r in found]
    return render(request, "cases/_conv_cases.html", principal=principal, conversation=conversation,
                  linked_cases=linked)

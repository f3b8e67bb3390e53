"""The department work view (/desk/work, /desk/work/{department_id}): the department's open cases and
unfinished tasks, earliest due (or SLA due) first, with an overdue / at risk / on time badge; filters in the
query string (shareable, and saved per browser by static/work.js); bulk assign, status and escalation of the
selected items (one form POST with the CSRF token, each item through the same use case as on its page).

A department the user is not in is 404 (administrators may open any)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode, urlsplit

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from centralino.domain.access import Principal
from centralino.domain.case_tasks import TaskStatus
from centralino.errors import CentralinoError, InvalidInput
from centralino.storage import cases as case_repo
from centralino.storage.queries import decode_cursor, encode_cursor
from centralino.storage.tables_cases import cases
from centralino.web.desk import case_views as views
from centralino.web.desk.case_forms import _int, case_app, posted
from centralino.web.desk.case_pages import labels, not_found, user_language
from centralino.web.desk.pages import _to_sign_in, page_principal, render
from centralino.web.principal import services

router = APIRouter(prefix="/desk", include_in_schema=False)
PAGE = 50
SCAN = 500  # at most this many items are read per page when filters drop some (the rest: "more")
KINDS = ("all", "tasks", "cases")
RISKS = ("overdue", "at_risk", "ok")


def departments_of(request: Request, principal: Principal) -> list[dict[str, Any]]:
    with services(request).engine.connect() as conn:
        every = views.all_departments(conn)
    return every if principal.is_admin else [d for d in every if d["id"] in principal.department_ids]


@router.get("/work", response_class=HTMLResponse)
def my_work(request: Request) -> Response:
    """The first of the user's departments (a bookmark that always opens the right place)."""
    principal = page_principal(request)
    if principal is None:
        return _to_sign_in(request)
    mine = departments_of(request, principal)
    if mine:
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(f"/desk/work/{mine[0]['id']}{query}", status_code=303)
    return render(request, "cases/work.html", principal=principal, department=None, my_departments=[],
                  items=[], filters={}, errors={}, notice=None, script="work.js")


def _cursor(value: str | None) -> case_repo.WorkKey | None:
    if not value:
        return None
    try:
        due, rank, item_id = decode_cursor(value, 3)
        return datetime.fromisoformat(str(due)), int(rank), int(item_id)
    except (InvalidInput, ValueError, TypeError):
        return None


def work_items(request: Request, principal: Principal, department_id: int, filters: dict[str, str],
               after: case_repo.WorkKey | None) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the department's work matching the filters, and the cursor after it (None: the end)."""
    lang = user_language(request, principal)
    label = labels(lang)
    t_label = views.task_status_label(lang)
    now = datetime.now(UTC)
    out: list[dict[str, Any]] = []
    scanned = 0
    q = filters["q"].lower()
    with services(request).engine.connect() as conn:
        names = {p["id"]: p["display_name"] for p in views.active_people(conn)}
        while len(out) < PAGE and scanned < SCAN:
            batch = case_repo.department_work(conn, department_id, after=after, limit=PAGE)
            if not batch:
                return out, None
            scanned += len(batch)
            case_ids = sorted({int(r["id"]) if kind == "case" else int(r["case_id"]) for kind, r in batch})
            numbers = {int(r.id): r.number for r in conn.execute(
                select(cases.c.id, cases.c.number).where(cases.c.id.in_(case_ids)))}
            warnings = {**views.case_warnings(conn, [int(r["id"]) for k, r in batch if k == "case"]),
                        **views.task_warnings(conn, [int(r["id"]) for k, r in batch if k == "task"])}
            for kind, r in batch:
                after = (r["work_due_at"], 0 if kind == "case" else 1, int(r["id"]))
                assignee = r["owner_user_id"] if kind == "case" else r["assignee_user_id"]
                case_id = int(r["id"]) if kind == "case" else int(r["case_id"])
                item = {"kind": kind, "id": int(r["id"]), "case_id": case_id, "case_number": numbers.get(case_id, ""),
                        "title": r["title"], "status": r["status"],
                        "status_label": label(r["status"]) if kind == "case" else t_label(r["status"]),
                        "assignee_id": assignee, "assignee_name": names.get(int(assignee or 0)),
                        "due_at": r["work_due_at"] if r["work_due_at"].year < views.FAR_FUTURE_YEAR else None,
                        "risk": views.risk_of(r["work_due_at"], warnings.get(f"{kind}:{r['id']}"), now)}
                if matches(item, filters, principal, q):
                    out.append(item)
                    if len(out) == PAGE:
                        break
            if len(batch) < PAGE:
                return out, None
    return out, encode_cursor(after[0].isoformat(), after[1], after[2]) if after else None


def matches(item: dict[str, Any], filters: dict[str, str], principal: Principal, q: str) -> bool:
    if filters["kind"] != "all" and filters["kind"] != item["kind"] + "s":
        return False
    if filters["risk"] and item["risk"] != filters["risk"]:
        return False
    if filters["assignee"] == "me" and item["assignee_id"] != principal.user_id:
        return False
    if filters["assignee"] == "none" and item["assignee_id"] is not None:
        return False
    return not q or q in str(item["title"]).lower() or q in str(item["case_number"]).lower()


def work_filters(kind: str | None, risk: str | None, assignee: str | None, q: str | None) -> dict[str, str]:
    return {"kind": kind if kind in KINDS else "all", "risk": risk if risk in RISKS else "",
            "assignee": assignee if assignee in ("me", "none") else "", "q": (q or "").strip()}


def render_work(request: Request, principal: Principal, department_id: int, filters: dict[str, str],
                after: str | None = None, *, status: int = 200, errors: dict[str, str] | None = None,
                notice: str | None = None) -> Response:
    mine = departments_of(request, principal)
    department = next((d for d in mine if d["id"] == department_id), None)
    if department is None:
        return not_found(request, principal)
    items, next_cursor = work_items(request, principal, department_id, filters, _cursor(after))
    with services(request).engine.connect() as conn:
        everyone = views.all_departments(conn)
        people = views.active_people(conn)
    query = {k: v for k, v in filters.items() if v and not (k == "kind" and v == "all")}
    back = f"/desk/work/{department_id}" + (f"?{urlencode(query)}" if query else "")
    next_url = (f"/desk/work/{department_id}?" + urlencode({**query, "after": next_cursor})) if next_cursor else None
    return render(request, "cases/work.html", status=status, principal=principal, department=department,
                  my_departments=mine, all_departments=everyone, people=people, items=items, filters=filters,
                  next_url=next_url, back=back, errors=errors or {}, notice=notice,
                  task_statuses=[s.value for s in TaskStatus], script="work.js")


@router.get("/work/{department_id}", response_class=HTMLResponse)
def department_work(request: Request, department_id: int, kind: str | None = None, risk: str | None = None,
                    assignee: str | None = None, q: Annotated[str | None, Query(max_length=200)] = None,
                    after: str | None = None, done: int | None = None) -> Response:
    principal = page_principal(request)
    if principal is None:
        return _to_sign_in(request)
    lang = user_language(request, principal)
    notice = views.translate(lang, "work.applied").replace("{n}", str(done)) if done is not None else None
    return render_work(request, principal, department_id, work_filters(kind, risk, assignee, q), after,
                       notice=notice)


# --- bulk actions -----------------------------------------------------------------------------------------------

def apply_bulk(request: Request, principal: Principal, form: Any, department_id: int) -> Response:
    """Each selected item through its own use case; what one refuses is reported by item and does not stop
    the others (each is its own transaction)."""
    if not any(d["id"] == department_id for d in departments_of(request, principal)):
        return not_found(request, principal)
    lang = user_language(request, principal)
    back = str(form.get("back") or "")
    if not back.startswith(f"/desk/work/{department_id}"):
        back = f"/desk/work/{department_id}"
    selected = [str(v).split(":", 1) for v in form.getlist("items") if ":" in str(v)]
    action = str(form.get("action") or "")
    errors: dict[str, str] = {}
    if not selected:
        errors["items"] = views.translate(lang, "work.nothing_selected")
    app = case_app(request)
    done = 0
    for kind, raw_id in selected:
        item_id = _int(raw_id)
        if item_id is None or kind not in ("case", "task"):
            continue
        try:
            if action == "assign":
                who = _int(form.get("assignee_user_id"))
                if kind == "case":
                    app.cases.do_assign(principal, item_id, owner_user_id=who)
                else:
                    app.tasks.do_update_task(principal, item_id, {"assignee_user_id": who})
            elif action == "status":
                if kind == "case":
                    raise InvalidInput("a case's status changes on its page (each type has its own workflow)",
                                       field="status")
                app.tasks.do_transition_task(principal, item_id, str(form.get("status") or ""))
            elif action == "escalate":
                to = _int(form.get("to_department_id"))
                if to is None:
                    raise InvalidInput("choose a department", field="to_department_id")
                reason = str(form.get("reason") or "")
                if kind == "case":
                    app.cases.do_escalate_case(principal, item_id, to, reason)
                else:
                    app.tasks.do_escalate_task(principal, item_id, to, reason)
            else:
                raise InvalidInput("action is assign, status or escalate", field="action")
            done += 1
        except CentralinoError as err:
            errors[f"{kind}:{item_id}"] = f"{views.translate(lang, 'work.kind1.' + kind)} #{item_id}: {err.message}"
    if errors:
        query = dict(request.query_params)
        filters = work_filters(query.get("kind"), query.get("risk"), query.get("assignee"), query.get("q"))
        if back != f"/desk/work/{department_id}":
            given = {k: v[0] for k, v in parse_qs(urlsplit(back).query).items()}
            filters = work_filters(given.get("kind"), given.get("risk"), given.get("assignee"), given.get("q"))
        notice = views.translate(lang, "work.applied").replace("{n}", str(done)) if done else None
        return render_work(request, principal, department_id, filters, status=200 if done else 400, errors=errors,
                           notice=notice)
    joiner = "&" if "?" in back else "?"
    return RedirectResponse(f"{back}{joiner}done={done}", status_code=303)


def _bulk_route() -> None:
    async def endpoint(request: Request) -> Response:
        department_id = int(request.path_params["department_id"])
        response: Response = await posted(
            lambda req, principal, form: apply_bulk(req, principal, form, department_id))(request)
        return response
    router.add_api_route("/work/{department_id:int}/bulk", endpoint, methods=["POST"], include_in_schema=False)


_bulk_route()

"""The case pages' forms (plain POSTs, working without script): each carries the session's CSRF token in a
hidden `csrf` field, is turned into one call of the case use cases (app/cases.py, app/case_tasks.py), and is
answered with a redirect to the page (303) or, when the use case refuses, the page again with the error next to
the field it names and nothing changed (400/403/409 as the use case says)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from centralino.app.cases_setup import Cases
from centralino.domain.access import Principal, Role
from centralino.errors import CentralinoError, Forbidden, InvalidInput, NotFound
from centralino.storage import cases as case_repo
from centralino.web.desk import case_views as views
from centralino.web.desk.case_pages import not_found, open_form_context, render_case, user_language
from centralino.web.desk.pages import _to_sign_in, page_principal, render
from centralino.web.principal import services

router = APIRouter(prefix="/desk", include_in_schema=False)
Handler = Callable[[Request, Principal, FormData], Response]


def case_app(request: Request) -> Cases:
    found = services(request).cases
    assert found is not None
    return found


def posted(handler: Handler) -> Callable[..., Any]:
    """Sign-in and CSRF around a form handler; the handler runs in the thread pool (it uses the database)."""
    async def endpoint(request: Request) -> Response:
        form = await request.form()
        principal = await run_in_threadpool(page_principal, request)
        if principal is None:
            return _to_sign_in(request)
        try:
            services(request).auth.check_csrf(principal, "POST", str(form.get("csrf") or "") or None)
        except Forbidden:
            return await run_in_threadpool(render, request, "not_found.html", status=403, principal=principal,
                                           script=None)
        return await run_in_threadpool(handler, request, principal, form)
    endpoint.__name__ = handler.__name__
    return endpoint


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _ints(values: list[Any]) -> list[int]:
    return [i for i in (_int(v) for v in values) if i is not None]


def _due(value: Any) -> str | None:
    """<input type=datetime-local> has no zone: the desk shows UTC, so it is read as UTC."""
    text = str(value or "").strip()
    if not text:
        return None
    return text if ("+" in text[10:] or text.endswith("Z")) else text + "+00:00"


def _number(text: str) -> Any:
    try:
        value = float(text.replace(",", "."))
    except ValueError:
        return text  # the use case names the field: "a number is expected"
    return int(value) if value.is_integer() else value


def field_values(definitions: list[dict[str, Any]], form: FormData, prefix: str) -> dict[str, Any]:
    """The custom fields posted as `<prefix><key>`: empty is None (cleared), numbers as numbers."""
    out: dict[str, Any] = {}
    for f in definitions:
        name = prefix + f["key"]
        if name not in form:
            continue
        text = str(form.get(name) or "").strip()
        out[f["key"]] = None if not text else _number(text) if f["kind"] == "number" else text
    return out


def error_of(err: CentralinoError, prefix: str = "") -> dict[str, str]:
    return {prefix + (err.field or "form"): err.message}


def back_to(case_id: int, anchor: str = "", done: str = "saved") -> RedirectResponse:
    return RedirectResponse(f"/desk/cases/{case_id}?done={done}{anchor}", status_code=303)


def after_hand_off(request: Request, principal: Principal, case_id: int, anchor: str) -> RedirectResponse:
    """Back to the case, unless the work just left the user's scope (their department handed it on): then to
    their work view, since the case page would now be "not found" for them."""
    with services(request).engine.connect() as conn:
        still = case_repo.is_case_visible(conn, principal, case_id)
    return back_to(case_id, anchor) if still else RedirectResponse("/desk/work?done=1", status_code=303)


# --- opening a case from a conversation -------------------------------------------------------------------------

def open_case(request: Request, principal: Principal, form: FormData, conversation_id: int) -> Response:
    context = open_form_context(request, principal, conversation_id)
    if context is None:
        return not_found(request, principal)
    type_id = _int(form.get("type_id"))
    chosen = next((ty for ty in context["types"] if ty["id"] == type_id), None)
    fields = field_values(chosen["fields"], form, f"f.{type_id}.") if chosen else {}
    values: dict[str, Any] = {
        "type_id": type_id, "title": str(form.get("title") or ""), "priority": str(form.get("priority") or ""),
        "department_id": _int(form.get("department_id")), "message_ids": _ints(form.getlist("message_ids")),
        "fields": {k: "" if v is None else str(v) for k, v in fields.items()}}
    try:
        if chosen is None:
            raise InvalidInput("choose a case type", field="type_id")
        created = case_app(request).cases.do_create_case(
            principal, case_type=int(chosen["id"]), title=values["title"], conversation_id=conversation_id,
            message_ids=values["message_ids"], priority=values["priority"] or None,
            fields={k: v for k, v in fields.items() if v is not None}, department_id=values["department_id"])
    except CentralinoError as err:
        context["form"] = values
        errors = error_of(err)
        if "case_type" in errors:
            errors["type_id"] = errors.pop("case_type")
        return render(request, "cases/new.html", status=err.status, principal=principal, errors=errors,
                      script="cases.js", **context)
    return RedirectResponse(f"/desk/cases/{int(created['id'])}?done=created", status_code=303)


# --- the case page's forms --------------------------------------------------------------------------------------

def save_details(request: Request, principal: Principal, form: FormData, case_id: int) -> Response:
    app = case_app(request)
    lang = user_language(request, principal)
    with services(request).engine.connect() as conn:
        if not case_repo.is_case_visible(conn, principal, case_id):
            return not_found(request, principal)
        current = views.case_detail(conn, case_id, lang)
    assert current is not None
    tags = [t.strip() for t in str(form.get("tags") or "").split(",") if t.strip()]
    changes: dict[str, Any] = {"title": str(form.get("title") or ""), "priority": str(form.get("priority") or ""),
                               "due_at": _due(form.get("due_at")), "tags": tags,
                               "fields": field_values(current["field_defs"], form, "fields.")}
    department = _int(form.get("department_id"))
    owner = _int(form.get("owner_user_id"))
    try:
        mine = (None, principal.user_id)
        if principal.role is Role.AGENT and owner != current["owner_user_id"] and (
                owner not in mine or current["owner_user_id"] not in mine):
            # refused before anything is saved (the use case would refuse it after the other changes)
            raise Forbidden("agents take cases for themselves or give back their own", field="owner_user_id")
        app.cases.do_update(principal, case_id, changes)
        if department != current["department_id"]:
            app.cases.do_assign(principal, case_id, department_id=department)
        if owner != current["owner_user_id"]:
            app.cases.do_assign(principal, case_id, owner_user_id=owner)
    except CentralinoError as err:
        posted_form = {"title": changes["title"], "priority": changes["priority"], "department_id": department,
                       "owner_user_id": owner, "due_at": str(form.get("due_at") or ""),
                       "tags": str(form.get("tags") or ""),
                       "fields": {k: "" if v is None else str(v) for k, v in changes["fields"].items()}}
        return render_case(request, principal, case_id, status=err.status, errors=error_of(err), form=posted_form)
    return back_to(case_id)


def change_status(request: Request, principal: Principal, form: FormData, case_id: int) -> Response:
    try:
        case_app(request).cases.do_transition(principal, case_id, str(form.get("to") or ""))
    except NotFound:
        return not_found(request, principal)
    except CentralinoError as err:
        return render_case(request, principal, case_id, status=err.status, errors={"to": err.message})
    return back_to(case_id)


def escalate_case(request: Request, principal: Principal, form: FormData, case_id: int) -> Response:
    try:
        to = _int(form.get("to_department_id"))
        if to is None:
            raise InvalidInput("choose a department", field="to_department_id")
        case_app(request).cases.do_escalate_case(principal, case_id, to, str(form.get("reason") or ""))
    except CentralinoError as err:
        if err.field == "case_id":
            return not_found(request, principal)
        return render_case(request, principal, case_id, status=err.status,
                           errors={**error_of(err, "escalate."), "_form": "escalate"})
    return after_hand_off(request, principal, case_id, "#case-handoffs")


def add_task(request: Request, principal: Principal, form: FormData, case_id: int) -> Response:
    checklist = [line.strip() for line in str(form.get("checklist") or "").splitlines() if line.strip()]
    values: dict[str, Any] = {"title": str(form.get("title") or ""), "department_id": _int(form.get("department_id")),
              "assignee_user_id": _int(form.get("assignee_user_id")), "due_at": _due(form.get("due_at")),
              "checklist": checklist, "depends_on": _ints(form.getlist("depends_on"))}
    try:
        created = case_app(request).tasks.do_add_task(principal, case_id, **values)
    except CentralinoError as err:
        if err.field == "case_id":
            return not_found(request, principal)
        field = (err.field or "form").split("[")[0]
        task_form = {"title": values["title"], "department_id": values["department_id"],
                     "due_at": str(form.get("due_at") or ""), "checklist": str(form.get("checklist") or "")}
        return render_case(request, principal, case_id, status=err.status,
                           errors={f"task.{field}": err.message, "_form": "task"}, task_form=task_form)
    return back_to(case_id, f"#task-{int(created['id'])}")


def _task_of_case(request: Request, principal: Principal, case_id: int, task_id: int) -> dict[str, Any] | None:
    with services(request).engine.connect() as conn:
        task = case_repo.task_row(conn, task_id)
        if task is None or int(task["case_id"]) != case_id or not case_repo.is_case_visible(conn, principal, case_id):
            return None
        return dict(task)


def task_action(kind: str) -> Callable[[Request, Principal, FormData, int, int], Response]:
    """status | assign | checklist | escalate of one task of the case."""
    def handle(request: Request, principal: Principal, form: FormData, case_id: int, task_id: int) -> Response:
        task = _task_of_case(request, principal, case_id, task_id)
        if task is None:
            return not_found(request, principal)
        tasks = case_app(request).tasks
        try:
            if kind == "status":
                tasks.do_transition_task(principal, task_id, str(form.get("to") or ""))
            elif kind == "assign":
                department = _int(form.get("department_id"))
                if department != task["department_id"] and department is not None:
                    tasks.do_escalate_task(principal, task_id, department, "reassigned")
                tasks.do_update_task(principal, task_id, {"assignee_user_id": _int(form.get("assignee_user_id"))})
            elif kind == "checklist":
                items = [dict(i) for i in task["checklist"]]
                index = _int(form.get("index"))
                if index is None or not 0 <= index < len(items):
                    raise InvalidInput("no such checklist item", field="checklist")
                items[index]["done"] = str(form.get("done")) == "1"
                tasks.do_update_task(principal, task_id, {"checklist": items})
            else:
                to = _int(form.get("to_department_id"))
                if to is None:
                    raise InvalidInput("choose a department", field="to_department_id")
                tasks.do_escalate_task(principal, task_id, to, str(form.get("reason") or ""))
        except CentralinoError as err:
            slot = f"task-{task_id}.{'escalate' if kind == 'escalate' else 'assign' if kind == 'assign' else kind}"
            return render_case(request, principal, case_id, status=err.status,
                               errors={slot: err.message, "_form": slot, **({"to": err.message}
                                                                            if kind == "status" else {})})
        if kind in ("escalate", "assign"):
            return after_hand_off(request, principal, case_id, f"#task-{task_id}")
        return back_to(case_id, f"#task-{task_id}")
    handle.__name__ = f"task_{kind}"
    return handle


def _route(path: str, handler: Callable[..., Response]) -> None:
    async def endpoint(request: Request) -> Response:
        ids = {k: int(v) for k, v in request.path_params.items()}
        response: Response = await posted(
            lambda req, principal, form: handler(req, principal, form, *ids.values()))(request)
        return response
    endpoint.__name__ = handler.__name__
    router.add_api_route(path, endpoint, methods=["POST"], include_in_schema=False)


_route("/conversations/{conversation_id:int}/cases", open_case)
_route("/cases/{case_id:int}/details", save_details)
_route("/cases/{case_id:int}/status", change_status)
_route("/cases/{case_id:int}/escalate", escalate_case)
_route("/cases/{case_id:int}/tasks", add_task)
for _kind in ("status", "assign", "checklist", "escalate"):
    _route(f"/cases/{{case_id:int}}/tasks/{{task_id:int}}/{_kind}", task_action(_kind))

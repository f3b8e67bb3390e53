"""Cases, tasks, case types and department work lists over REST (docs/cases.md). Thin: the use cases in
app/cases.py, app/case_tasks.py, app/case_types.py and app/case_views.py check everything (400 naming the field,
404 out of scope, 409 refused transitions and cycles). Session (with CSRF) or API token, like every route."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from centralino.app.cases_setup import Cases
from centralino.errors import NotFound
from centralino.web.api import Svc
from centralino.web.principal import CurrentPrincipal, current_principal

router = APIRouter(prefix="/api/v1", dependencies=[Depends(current_principal)], tags=["cases"])


def cases_module(svc: Svc) -> Cases:
    if svc.cases is None:
        raise NotFound("cases are not available in this process")
    return svc.cases


CasesDep = Annotated[Cases, Depends(cases_module)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CaseTypeIn(Body):
    """Checked as a whole by domain/cases.py parse_case_type (400 naming e.g. `workflow.transitions.new`)."""

    key: str = Field(examples=["warranty"])
    name: dict[str, str] | str = Field(examples=[{"it": "Garanzia", "en": "Warranty"}])
    workflow: dict[str, Any] = Field(examples=[{"statuses": ["open", "closed"], "initial": "open",
                                                "transitions": {"open": ["closed"]}, "closed": ["closed"]}])
    fields: list[Any] = Field(default_factory=list, examples=[[{"key": "serial", "kind": "text", "label": "Serial",
                                                                 "regex": "[A-Z0-9]{8}", "required": True}]])
    default_priority: str = "normal"
    sla: dict[str, Any] = Field(default_factory=dict, examples=[{"resolution_min": 480, "warn_fraction": 0.8}])
    active: bool = True


class CaseTypeChange(CaseTypeIn):
    key: str | None = Field(None, description="ignored: a type keeps its key")  # type: ignore[assignment]


class CaseIn(Body):
    case_type: str | int = Field(description="the type's key (complaint, refund …) or id", examples=["refund"])
    title: str = Field(examples=["Rimborso ordine 4471"])
    conversation_id: int | None = Field(None, description="open it from this conversation (links it; the contact "
                                                           "is the conversation's)")
    message_ids: list[int] = Field(default_factory=list, description="messages of that conversation to attach")
    contact_id: int | None = None
    priority: Literal["low", "normal", "high", "urgent"] | None = None
    fields: dict[str, Any] = Field(default_factory=dict, examples=[{"order_number": "A-4471", "refund_amount": 39.9}])
    tags: list[str] = Field(default_factory=list)
    due_at: datetime | None = None
    department_id: int | None = None
    owner_user_id: int | None = Field(None, description="defaults to whoever opens it")


class CaseChanges(Body):
    title: str | None = None
    priority: Literal["low", "normal", "high", "urgent"] | None = None
    tags: list[str] | None = None
    due_at: datetime | None = None
    fields: dict[str, Any] | None = Field(None, description="merged; a field given as null is cleared")


class TransitionIn(Body):
    status: str
    note: str | None = None


class AssignIn(Body):
    owner_user_id: int | None = Field(None, description="left out: unchanged; null: nobody")
    department_id: int | None = Field(None, description="left out: unchanged; a change is a recorded hand-off")
    reason: str | None = None


class EscalateIn(Body):
    to_department_id: int
    reason: str = Field(examples=["Serve l'ufficio rimborsi"])


class LinkIn(Body):
    kind: Literal["conversation", "message", "email", "call"]
    ref_id: int


class TaskIn(Body):
    title: str
    department_id: int | None = None
    assignee_user_id: int | None = None
    due_at: datetime | None = None
    checklist: list[Any] = Field(default_factory=list, examples=[[{"text": "Verify the IBAN", "done": False}]])
    depends_on: list[int] = Field(default_factory=list)


class TaskChanges(Body):
    title: str | None = None
    due_at: datetime | None = None
    checklist: list[Any] | None = None
    assignee_user_id: int | None = None


class TaskTransitionIn(Body):
    status: Literal["open", "in_progress", "blocked", "done", "cancelled"]


class DependencyIn(Body):
    depends_on_task_id: int


def _given(body: BaseModel) -> dict[str, Any]:
    """Only what the client sent (an explicit null clears; a left-out key is unchanged)."""
    return {k: getattr(body, k) for k in body.model_fields_set}


# -- case types --------------------------------------------------------------------------------------------------

@router.get("/case-types")
def list_case_types(module: CasesDep, include_inactive: bool = False) -> list[dict[str, Any]]:
    return module.types.list_types(include_inactive=include_inactive)


@router.get("/case-types/{case_type_id}")
def get_case_type(module: CasesDep, case_type_id: int) -> dict[str, Any]:
    return module.types.get_type(case_type_id)


@router.post("/case-types", status_code=201)
def create_case_type(module: CasesDep, principal: CurrentPrincipal, body: CaseTypeIn) -> dict[str, Any]:
    """Administrators: {key, name, workflow, fields, default_priority, sla} (docs/cases.md)."""
    return module.types.do_create_type(principal, body.model_dump(exclude={"active"}))


@router.put("/case-types/{case_type_id}")
def update_case_type(module: CasesDep, principal: CurrentPrincipal, case_type_id: int,
                     body: CaseTypeChange) -> dict[str, Any]:
    """The whole definition again; `active: true` reactivates a deactivated type."""
    return module.types.do_update_type(principal, case_type_id, body.model_dump(exclude={"key"}))


@router.delete("/case-types/{case_type_id}")
def deactivate_case_type(module: CasesDep, principal: CurrentPrincipal, case_type_id: int) -> dict[str, Any]:
    return module.types.do_deactivate_type(principal, case_type_id)


# -- cases -------------------------------------------------------------------------------------------------------

@router.get("/cases")
def list_cases(module: CasesDep, principal: CurrentPrincipal, department_id: int | None = None,
               status: Annotated[list[str] | None, Query()] = None, case_type: str | None = None,
               owner_user_id: int | None = None, contact_id: int | None = None, open: bool | None = None,
               q: Annotated[str | None, Query(max_length=100)] = None, cursor: str | None = None,
               limit: Annotated[int, Query(ge=1, le=200)] = 50) -> dict[str, Any]:
    """Newest first; `next` is the cursor of the following page."""
    return module.views.list_cases(principal, department_id=department_id, status=status or (),
                                   case_type=case_type, owner_user_id=owner_user_id, contact_id=contact_id,
                                   open_only=open, q=q, cursor=cursor, limit=limit)


@router.post("/cases", status_code=201)
def create_case(module: CasesDep, principal: CurrentPrincipal, body: CaseIn) -> dict[str, Any]:
    given = _given(body)
    owner = {"owner_user_id": body.owner_user_id} if "owner_user_id" in given else {}
    case = module.cases.do_create_case(
        principal, case_type=body.case_type, title=body.title, contact_id=body.contact_id,
        conversation_id=body.conversation_id, message_ids=body.message_ids, priority=body.priority,
        fields=body.fields, tags=body.tags, due_at=body.due_at, department_id=body.department_id, **owner)
    return module.views.get_case(principal, int(case["id"]))


@router.get("/cases/by-number/{number}")
def get_case_by_number(module: CasesDep, principal: CurrentPrincipal, number: str) -> dict[str, Any]:
    return module.views.get_case_by_number(principal, number)


@router.get("/cases/{case_id}")
def get_case(module: CasesDep, principal: CurrentPrincipal, case_id: int) -> dict[str, Any]:
    """The case with links, tasks, hand-off history and SLA timers."""
    return module.views.get_case(principal, case_id)


@router.patch("/cases/{case_id}")
def update_case(module: CasesDep, principal: CurrentPrincipal, case_id: int, body: CaseChanges) -> dict[str, Any]:
    module.cases.do_update(principal, case_id, _given(body))
    return module.views.get_case(principal, case_id)


@router.post("/cases/{case_id}/transition")
def transition_case(module: CasesDep, principal: CurrentPrincipal, case_id: int,
                    body: TransitionIn) -> dict[str, Any]:
    """409 `case.transition_not_allowed` (details from/to) when the type's workflow does not allow it."""
    module.cases.do_transition(principal, case_id, body.status, body.note)
    return module.views.get_case(principal, case_id)


@router.post("/cases/{case_id}/assign")
def assign_case(module: CasesDep, principal: CurrentPrincipal, case_id: int, body: AssignIn) -> dict[str, Any]:
    given = _given(body)
    module.cases.do_assign(principal, case_id, reason=body.reason,
                           **{k: given[k] for k in ("owner_user_id", "department_id") if k in given})
    return module.views.get_case(principal, case_id)


@router.post("/cases/{case_id}/escalate")
def escalate_case(module: CasesDep, principal: CurrentPrincipal, case_id: int, body: EscalateIn) -> dict[str, Any]:
    module.cases.do_escalate_case(principal, case_id, body.to_department_id, body.reason)
    return module.views.get_case(principal, case_id)


@router.post("/cases/{case_id}/links", status_code=201)
def link_case(module: CasesDep, principal: CurrentPrincipal, case_id: int, body: LinkIn) -> dict[str, Any]:
    return module.cases.do_link(principal, case_id, body.kind, body.ref_id)


@router.delete("/cases/{case_id}/links/{kind}/{ref_id}", status_code=204)
def unlink_case(module: CasesDep, principal: CurrentPrincipal, case_id: int, kind: str, ref_id: int) -> Response:
    module.cases.do_unlink(principal, case_id, kind, ref_id)
    return Response(status_code=204)


@router.post("/cases/{case_id}/tasks", status_code=201)
def add_task(module: CasesDep, principal: CurrentPrincipal, case_id: int, body: TaskIn) -> dict[str, Any]:
    task = module.tasks.do_add_task(principal, case_id, title=body.title, department_id=body.department_id,
                                    assignee_user_id=body.assignee_user_id, due_at=body.due_at,
                                    checklist=body.checklist, depends_on=body.depends_on)
    return module.views.get_task(principal, int(task["id"]))


# -- tasks and work lists ----------------------------------------------------------------------------------------

@router.get("/tasks")
def list_tasks(module: CasesDep, principal: CurrentPrincipal, assignee: Literal["me"] | None = None,
               assignee_user_id: int | None = None, department_id: int | None = None,
               status: Annotated[list[str] | None, Query()] = None, case_id: int | None = None,
               cursor: str | None = None, limit: Annotated[int, Query(ge=1, le=200)] = 50) -> dict[str, Any]:
    """Tasks of the cases you see; `assignee=me` for your own. Newest first; `next` continues."""
    if assignee == "me":
        assignee_user_id = principal.user_id if principal.user_id is not None else -1
    return module.views.list_tasks(principal, assignee_user_id=assignee_user_id, department_id=department_id,
                                   status=status or (), case_id=case_id, cursor=cursor, limit=limit)


@router.get("/tasks/{task_id}")
def get_task(module: CasesDep, principal: CurrentPrincipal, task_id: int) -> dict[str, Any]:
    return module.views.get_task(principal, task_id)


@router.patch("/tasks/{task_id}")
def update_task(module: CasesDep, principal: CurrentPrincipal, task_id: int, body: TaskChanges) -> dict[str, Any]:
    module.tasks.do_update_task(principal, task_id, _given(body))
    return module.views.get_task(principal, task_id)


@router.post("/tasks/{task_id}/transition")
def transition_task(module: CasesDep, principal: CurrentPrincipal, task_id: int,
                    body: TaskTransitionIn) -> dict[str, Any]:
    """409 `task.dependencies_pending` while a task it depends on is not done."""
    module.tasks.do_transition_task(principal, task_id, body.status)
    return module.views.get_task(principal, task_id)


@router.post("/tasks/{task_id}/escalate")
def escalate_task(module: CasesDep, principal: CurrentPrincipal, task_id: int, body: EscalateIn) -> dict[str, Any]:
    module.tasks.do_escalate_task(principal, task_id, body.to_department_id, body.reason)
    return module.views.get_task(principal, task_id)


@router.post("/tasks/{task_id}/dependencies", status_code=201)
def add_dependency(module: CasesDep, principal: CurrentPrincipal, task_id: int,
                   body: DependencyIn) -> dict[str, Any]:
    """409 `task.dependency_cycle` when the other task already waits for this one."""
    module.tasks.do_add_dependency(principal, task_id, body.depends_on_task_id)
    return module.views.get_task(principal, task_id)


@router.delete("/tasks/{task_id}/dependencies/{depends_on_task_id}", status_code=204)
def remove_dependency(module: CasesDep, principal: CurrentPrincipal, task_id: int,
                      depends_on_task_id: int) -> Response:
    module.tasks.do_remove_dependency(principal, task_id, depends_on_task_id)
    return Response(status_code=204)


@router.get("/departments/{department_id}/work")
def department_work(module: CasesDep, principal: CurrentPrincipal, department_id: int, cursor: str | None = None,
                    limit: Annotated[int, Query(ge=1, le=200)] = 50) -> dict[str, Any]:
    """The department's open cases and tasks, earliest due (or SLA due) first; `next` continues."""
    return module.views.department_work(principal, department_id, cursor=cursor, limit=limit)

"""Template management API: list and read for everyone signed in; drafts, lint, submission, sync and
deletion for supervisors and administrators (403 otherwise). Thin: app/templates.py checks and acts.

A definition is Meta's create-template JSON ({name, language, category, parameter_format?, components});
saving a draft answers with the linter's problems ({field, code, message}) beside the template."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query
from pydantic import BaseModel

from centralino.app.templates import TemplateService, check_may_manage, problem_dicts
from centralino.domain.template_lint import lint
from centralino.errors import InvalidInput, NotFound
from centralino.storage import templates as template_repo
from centralino.web.api import Svc
from centralino.web.principal import CurrentPrincipal, current_principal

router = APIRouter(prefix="/api/v1", dependencies=[Depends(current_principal)], tags=["templates"])


class Problem(BaseModel):
    field: str
    code: str
    message: str


class TemplateOut(BaseModel):
    id: int
    account_id: str
    name: str
    language: str
    category: str
    parameter_format: str
    components: list[dict[str, Any]]
    status: str  # draft | Meta's status lower-cased: pending, approved, rejected, paused, disabled …
    status_reason: str | None
    status_at: datetime | None
    quality: str | None
    provider_id: str | None
    submitted_at: datetime | None
    created_at: datetime
    updated_at: datetime


class HistoryOut(BaseModel):
    kind: str  # created | edited | submitted | status | quality | category | synced | deleted
    status: str | None
    detail: dict[str, Any]
    actor: str
    at: datetime


class LanguageOut(BaseModel):
    id: int
    language: str
    status: str


class TemplateDetail(TemplateOut):
    history: list[HistoryOut]
    languages: list[LanguageOut]  # every language of this template (same account and name)


class TemplateSaved(BaseModel):
    template: TemplateOut
    problems: list[Problem]


class TemplatePage(BaseModel):
    items: list[TemplateOut]
    next_cursor: str | None


class SyncOut(BaseModel):
    accounts: int
    pages: int
    created: int
    updated: int
    unchanged: int


EXAMPLE = {"order_shipped": {"summary": "A utility template with a header variable and a URL button", "value": {
    "name": "order_shipped", "language": "it", "category": "utility", "components": [
        {"type": "HEADER", "format": "TEXT", "text": "Ordine {{1}}", "example": {"header_text": ["4711"]}},
        {"type": "BODY", "text": "Ciao {{1}}, il tuo ordine {{2}} è partito e arriva domani.",
         "example": {"body_text": [["Giulia", "4711"]]}},
        {"type": "FOOTER", "text": "Negozio Centralino"},
        {"type": "BUTTONS", "buttons": [{"type": "URL", "text": "Traccia", "url": "https://example.com/t/{{1}}",
                                         "example": ["https://example.com/t/4711"]}]}]}}}


def _service(svc: Svc) -> TemplateService:
    assert svc.templates is not None, "build_services wires the template service"
    return svc.templates


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidInput("the body is a JSON object", code="invalid_input", status=422)
    return body


@router.get("/templates", response_model=TemplatePage)
def list_templates(
    svc: Svc, status: str | None = None, category: str | None = None,
    q: Annotated[str | None, Query(max_length=200, description="part of the name")] = None,
    language: str | None = None, account_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50, cursor: str | None = None,
) -> dict[str, Any]:
    """Templates by name and language; `status` takes a comma list (approved,paused)."""
    where = template_repo.TemplateFilter(account_id=account_id, status=status, category=category,
                                         language=language, q=q)
    with svc.engine.connect() as conn:
        items, next_cursor = template_repo.list_page(conn, where, limit=limit, cursor=cursor)
    return {"items": items, "next_cursor": next_cursor}


def template_detail(svc: Svc, template_id: int) -> dict[str, Any]:
    with svc.engine.connect() as conn:
        row = template_repo.get(conn, template_id)
        if row is None:
            raise NotFound(f"no template {template_id}", field="template_id")
        row["history"] = template_repo.history(conn, template_id)
        row["languages"] = [{"id": r["id"], "language": r["language"], "status": r["status"]}
                            for r in template_repo.languages_of(conn, row["account_id"], row["name"])]
    return row


@router.get("/templates/{template_id}", response_model=TemplateDetail)
def get_template(svc: Svc, template_id: int) -> dict[str, Any]:
    """One template with its history (oldest first) and its other languages."""
    return template_detail(svc, template_id)


@router.post("/templates/lint", response_model=list[Problem])
def lint_template(principal: CurrentPrincipal,
                  body: Annotated[Any, Body(openapi_examples=EXAMPLE)]) -> list[dict[str, str]]:
    """Meta's format rules checked locally, nothing saved: every problem with its field."""
    check_may_manage(principal)
    return problem_dicts(list(lint(_object(body))))


@router.post("/templates", status_code=201, response_model=TemplateSaved)
def create_template(svc: Svc, principal: CurrentPrincipal,
                    body: Annotated[Any, Body(openapi_examples=EXAMPLE)]) -> dict[str, Any]:
    """Save a draft (never sent to Meta until submitted), with the linter's problems. `account_id` (or
    `channel_id`) names the WhatsApp Business Account when there are several."""
    row, problems = _service(svc).do_create_draft(principal, _object(body))
    return {"template": row, "problems": problem_dicts(problems)}


@router.patch("/templates/{template_id}", response_model=TemplateSaved)
def edit_template(svc: Svc, principal: CurrentPrincipal, template_id: int, body: Annotated[Any, Body()]) -> dict[
        str, Any]:
    """Change a draft's (or a rejected template's) category, parameter_format or components."""
    row, problems = _service(svc).do_edit_draft(principal, template_id, _object(body))
    return {"template": row, "problems": problem_dicts(problems)}


@router.post("/templates/{template_id}/submit", response_model=TemplateOut)
def submit_template(svc: Svc, principal: CurrentPrincipal, template_id: int) -> dict[str, Any]:
    """Submit to Meta for review: `pending` until the verdict's webhook (approved, or rejected with the
    reason). 422 `template.lint_failed` with `details.problems` when the linter objects."""
    return _service(svc).do_submit(principal, template_id)


@router.post("/templates/sync", response_model=SyncOut)
def sync_templates(svc: Svc, principal: CurrentPrincipal,
                   account_id: Annotated[str | None, Body(embed=True)] = None) -> dict[str, Any]:
    """Read every template of the account (default: every account) from Meta, page by page."""
    report = _service(svc).do_sync(principal, account_id)
    return report.__dict__


@router.delete("/templates/{template_id}")
def delete_template(svc: Svc, principal: CurrentPrincipal, template_id: int,
                    all_languages: bool = False) -> dict[str, Any]:
    """A draft is forgotten; a submitted template is deleted at Meta (this language, or all of the name)."""
    return {"deleted": _service(svc).do_delete(principal, template_id, all_languages=all_languages)}

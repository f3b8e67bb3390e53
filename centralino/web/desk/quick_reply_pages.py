"""The desktop's quick-reply pages: the management page (/desk/quick-replies) and the composer's picker
fragment (the usable quick replies matching what follows "/", rendered for this conversation)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from centralino.domain.access import Role
from centralino.errors import NotFound
from centralino.storage import users as user_repo
from centralino.storage.tables import departments
from centralino.web.desk.pages import SECURITY_HEADERS, _to_sign_in, page_principal, render
from centralino.web.principal import services

router = APIRouter(prefix="/desk", include_in_schema=False)


@router.get("/quick-replies", response_class=HTMLResponse)
def quick_replies_page(request: Request, q: Annotated[str | None, Query(max_length=100)] = None,
                       cursor: str | None = None) -> Response:
    principal = page_principal(request)
    if principal is None:
        return _to_sign_in(request)
    svc = services(request)
    items, next_cursor = svc.desk.quick_replies.page(principal, q=q, limit=50, cursor=cursor)
    with svc.engine.connect() as conn:
        rows = conn.execute(departments.select().order_by(departments.c.name)).mappings().all()
        people = {int(u["id"]): u["display_name"] for u in user_repo.list_users(conn)}
    shared_departments = [dict(d) for d in rows if principal.is_admin or d["id"] in principal.department_ids]
    for item in items:
        item["editable"] = (item["owner_user_id"] == principal.user_id if item["owner_user_id"] is not None
                            else principal.is_admin or (principal.role is Role.SUPERVISOR and (
                                item["department_id"] is None or item["department_id"] in principal.department_ids)))
        item["owner_name"] = people.get(int(item["owner_user_id"] or 0))
    may_share = principal.role in (Role.SUPERVISOR, Role.ADMIN)
    return render(request, "quick_replies.html", principal=principal, items=items, next_cursor=next_cursor,
                  q=q or "", may_share=may_share, departments=shared_departments, script="quick_replies.js")


@router.get("/conversations/{conversation_id}/quick-replies", response_class=HTMLResponse)
def quick_reply_picker(request: Request, conversation_id: int,
                       q: Annotated[str | None, Query(max_length=100)] = None) -> Response:
    """The picker's list: each item carries its rendered text (plain text in a data attribute, escaped)."""
    principal = page_principal(request)
    if principal is None:
        return HTMLResponse("", status_code=401, headers=SECURITY_HEADERS)
    try:
        items = services(request).desk.quick_replies.for_conversation(principal, conversation_id, q)
    except NotFound:
        return HTMLResponse("", status_code=404, headers=SECURITY_HEADERS)
    return render(request, "_quick_reply_picker.html", principal=principal, items=items)

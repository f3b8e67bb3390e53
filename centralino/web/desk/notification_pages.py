"""The desktop's notifications log (/desk/notifications): what the business's systems sent through the
notifications API, newest first, filterable, with each message's tick. Supervisors and administrators."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from centralino.domain.access import Role
from centralino.domain.enums import DeliveryStatus
from centralino.storage import notifications as repo
from centralino.web.desk.pages import _to_sign_in, page_principal, render
from centralino.web.desk.render import TICKS
from centralino.web.principal import services

router = APIRouter(prefix="/desk", include_in_schema=False)
PAGE = 50
STATUSES = [s.value for s in DeliveryStatus if s.value in TICKS]


@router.get("/notifications")
def notifications_page(request: Request, status: Annotated[str | None, Query(max_length=32)] = None,
                       use_case: Annotated[str | None, Query(max_length=64)] = None,
                       recipient: Annotated[str | None, Query(max_length=32)] = None,
                       cursor: Annotated[int | None, Query(ge=1)] = None) -> Response:
    principal = page_principal(request)
    if principal is None:
        return _to_sign_in(request)
    if principal.role not in (Role.SUPERVISOR, Role.ADMIN):
        return render(request, "not_found.html", status=404, principal=principal, script=None)
    status = status if status in STATUSES else None
    with services(request).engine.connect() as conn:
        rows = repo.page(conn, status=status, use_case=use_case or None,
                         recipient=recipient.strip().lstrip("+") if recipient else None, before_id=cursor, limit=PAGE)
    items = [{**dict(r), "tick": TICKS.get(str(r["status"]))} for r in rows]
    filters = {"status": status or "", "use_case": use_case or "", "recipient": recipient or ""}
    return render(request, "notifications.html", principal=principal, items=items, statuses=STATUSES,
                  filters=filters, next_cursor=items[-1]["id"] if len(items) == PAGE else None, script=None)

"""The desktop's reports page (/desk/reports): the figures for a chosen range of days, with filters and the
CSV download (the same report as GET /api/v1/reports). Supervisors and administrators."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import select

from centralino.app.reports import ReportQuery
from centralino.domain.access import Role
from centralino.errors import InvalidInput
from centralino.storage.tables import channels
from centralino.storage.tables_routing import routing_queues
from centralino.web.desk.pages import _to_sign_in, page_principal, render
from centralino.web.principal import services

router = APIRouter(prefix="/desk", include_in_schema=False)


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@router.get("/reports")
def reports_page(request: Request, from_: Annotated[str | None, Query(alias="from", max_length=10)] = None,
                 to: Annotated[str | None, Query(max_length=10)] = None,
                 channel_id: Annotated[int | None, Query(ge=1)] = None,
                 queue_id: Annotated[int | None, Query(ge=1)] = None) -> Response:
    principal = page_principal(request)
    if principal is None:
        return _to_sign_in(request)
    svc = services(request)
    if principal.role not in (Role.SUPERVISOR, Role.ADMIN) or svc.service_levels is None:
        return render(request, "not_found.html", status=404, principal=principal, script=None)
    reports = svc.service_levels.reports
    today = datetime.now(reports.zone).date()
    last = _day(to) or today
    first = _day(from_) or last - timedelta(days=6)
    query = ReportQuery(first, last, channel_id, queue_id)
    error = None
    try:
        data = reports.report(principal, query)
    except InvalidInput as exc:
        error, data = exc.message, None
    with svc.engine.connect() as conn:
        channel_list = [dict(r) for r in conn.execute(select(channels.c.id, channels.c.name)
                                                      .order_by(channels.c.name)).mappings()]
        queue_list = [dict(r) for r in conn.execute(select(routing_queues.c.id, routing_queues.c.name)
                                                    .order_by(routing_queues.c.name)).mappings()]
    filters = {"from": first.isoformat(), "to": last.isoformat(), "channel_id": channel_id or "",
               "queue_id": queue_id or ""}
    return render(request, "reports.html", principal=principal, data=data, error=error, filters=filters,
                  channels=channel_list, queues=queue_list, script=None)

"""Reports (JSON and CSV) and the service-level settings: business hours per queue and SLA policies
(docs/service-levels.md). Supervisors and administrators; the use cases check."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Response
from fastapi.responses import StreamingResponse

from centralino.app.reports import ReportQuery, check_reads_reports
from centralino.app.service_levels import ServiceLevels
from centralino.errors import InvalidInput, NotFound
from centralino.web.api import Svc
from centralino.web.principal import CurrentPrincipal, current_principal

router = APIRouter(prefix="/api/v1", dependencies=[Depends(current_principal)], tags=["service levels"])


def levels(svc: Svc) -> ServiceLevels:
    if svc.service_levels is None:
        raise NotFound("service levels are not available in this process")
    return svc.service_levels


Levels = Annotated[ServiceLevels, Depends(levels)]


def report_query(from_: Annotated[str, Query(alias="from")], to: str, channel_id: int | None = None,
                 queue_id: int | None = None, agent_id: int | None = None) -> ReportQuery:
    return ReportQuery(_day(from_, "from"), _day(to, "to"), channel_id, queue_id, agent_id)


def _day(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{field} is a date like 2026-11-25", field=field, code="reports.invalid_range") from None


Query_ = Annotated[ReportQuery, Depends(report_query)]


@router.get("/reports")
def report(service: Levels, principal: CurrentPrincipal, query: Query_) -> dict[str, Any]:
    return service.reports.report(principal, query)


@router.get("/reports.csv")
def report_csv(service: Levels, principal: CurrentPrincipal, query: Query_) -> StreamingResponse:
    check_reads_reports(principal)
    body = service.reports.csv(principal, query)
    name = f"report-{query.first_day.isoformat()}-{query.last_day.isoformat()}.csv"
    return StreamingResponse(body, media_type="text/csv",
                             headers={"Content-Disposition": f'attachment; filename="{name}"'})


# --- business hours and SLA policies -----------------------------------------------------------------------

@router.get("/queues/{queue_id}/hours")
def get_hours(service: Levels, principal: CurrentPrincipal, queue_id: int) -> dict[str, Any]:
    check_reads_reports(principal)
    found = service.admin.hours(queue_id)
    if found is None:
        return {"queue_id": queue_id, "calendar": None, "out_of_hours": "keep", "auto_reply": {}, "always_open": True}
    return _out(found)


@router.put("/queues/{queue_id}/hours")
def put_hours(service: Levels, principal: CurrentPrincipal, queue_id: int,
              body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
    return _out(service.admin.do_set_hours(principal, queue_id, body))


@router.get("/sla-policies")
def list_policies(service: Levels, principal: CurrentPrincipal) -> list[dict[str, Any]]:
    check_reads_reports(principal)
    return [_out(p) for p in service.admin.policies()]


@router.post("/sla-policies", status_code=201)
def create_policy(service: Levels, principal: CurrentPrincipal,
                  body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
    policy_id = service.admin.do_save_policy(principal, body)
    return _policy(service, policy_id)


@router.put("/sla-policies/{policy_id}")
def update_policy(service: Levels, principal: CurrentPrincipal, policy_id: int,
                  body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
    service.admin.do_save_policy(principal, body, policy_id)
    return _policy(service, policy_id)


@router.delete("/sla-policies/{policy_id}", status_code=204)
def delete_policy(service: Levels, principal: CurrentPrincipal, policy_id: int) -> Response:
    service.admin.do_delete_policy(principal, policy_id)
    return Response(status_code=204)


def _policy(service: ServiceLevels, policy_id: int) -> dict[str, Any]:
    return next(_out(p) for p in service.admin.policies() if p["id"] == policy_id)


def _out(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}

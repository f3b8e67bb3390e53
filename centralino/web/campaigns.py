"""Campaign routes: CRUD, plan, start/schedule, pause, resume, cancel, retry-failed, progress, recipients,
funnel CSV (docs/campaigns.md). Supervisors and administrators; the use cases in app/campaigns.py check."""

from __future__ import annotations

import itertools
import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, File, Form, Query, UploadFile
from fastapi.responses import StreamingResponse

from centralino.app.campaigns import CampaignService, check_may_run_campaigns
from centralino.errors import InvalidInput, NotFound
from centralino.storage import campaigns as repo
from centralino.web.api import Svc
from centralino.web.principal import CurrentPrincipal, current_principal

router = APIRouter(prefix="/api/v1/campaigns", dependencies=[Depends(current_principal)], tags=["campaigns"])
MAX_CSV_BYTES = 20 * 1024 * 1024

CREATE_EXAMPLE = {"name": "Saldi di primavera", "channel_id": 1, "template_id": 3,
                  "audience": {"tags": ["vip"], "attributes": {"city": "Milano"}, "consent": "allowed"},
                  "parameters": {"1": {"field": "display_name", "default": "cliente"}, "2": {"text": "SPRING24"}},
                  "rate_per_s": 40, "daily_tier": "10k", "on_tier_limit": "wait",
                  "start_at": "2026-12-01T09:00:00+01:00"}


def campaigns(svc: Svc, principal: CurrentPrincipal) -> CampaignService:
    check_may_run_campaigns(principal)
    if svc.campaigns is None:
        raise NotFound("campaigns are not available in this process")
    return svc.campaigns


Campaigns = Annotated[CampaignService, Depends(campaigns)]


def _out(campaign: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in campaign.items()
            if k != "template_components"}


@router.get("")
def list_campaigns(svc: Svc, service: Campaigns) -> list[dict[str, Any]]:
    with svc.engine.connect() as conn:
        return [_out(c) for c in repo.list_campaigns(conn)]


@router.post("", status_code=201)
def create_campaign(service: Campaigns, principal: CurrentPrincipal,
                    body: Annotated[dict[str, Any], Body(examples=[CREATE_EXAMPLE])]) -> dict[str, Any]:
    """A draft on a segment: audience {tags, attributes, consent: any|allowed|opted_in}, parameters (template
    variable → {text} | {field: display_name|language|phone} | {attribute}, optional default). Plan it next."""
    return _out(service.do_create(principal, body))


@router.post("/csv", status_code=201)
def create_from_csv(service: Campaigns, principal: CurrentPrincipal,
                    file: Annotated[UploadFile, File(description="CSV: a phone column, one column per variable")],
                    definition: Annotated[str, Form(description="the campaign as JSON (no audience)")],
                    ) -> dict[str, Any]:
    """A draft planned from a CSV at once: contacts are created for unknown numbers; `plan_report` lists the
    rejected rows and why."""
    try:
        body = json.loads(definition)
    except ValueError as exc:
        raise InvalidInput("definition must be a JSON object", field="definition", code="campaign.bad_json",
                           status=422) from exc
    if not isinstance(body, dict):
        raise InvalidInput("definition must be a JSON object", field="definition", code="campaign.bad_json",
                           status=422)
    data = file.file.read(MAX_CSV_BYTES + 1)
    if len(data) > MAX_CSV_BYTES:
        raise InvalidInput("the CSV file is larger than 20 MB", field="file", code="campaign.csv_too_big",
                           status=413)
    return _out(service.do_create_from_csv(principal, body, data, file.filename))


@router.get("/{campaign_id}")
def get_campaign(service: Campaigns, campaign_id: int) -> dict[str, Any]:
    return _out(service.get(campaign_id))


@router.post("/{campaign_id}/plan")
def plan(service: Campaigns, principal: CurrentPrincipal, campaign_id: int) -> dict[str, Any]:
    return _out(service.do_plan(principal, campaign_id))


@router.post("/{campaign_id}/start")
def start(service: Campaigns, principal: CurrentPrincipal, campaign_id: int,
          body: Annotated[dict[str, Any] | None, Body()] = None) -> dict[str, Any]:
    """Start now, or schedule: {"start_at": "2026-12-01T09:00:00+01:00"}."""
    return _out(service.do_start(principal, campaign_id, (body or {}).get("start_at")))


@router.post("/{campaign_id}/pause")
def pause(service: Campaigns, principal: CurrentPrincipal, campaign_id: int) -> dict[str, Any]:
    return _out(service.do_pause(principal, campaign_id))


@router.post("/{campaign_id}/resume")
def resume(service: Campaigns, principal: CurrentPrincipal, campaign_id: int) -> dict[str, Any]:
    return _out(service.do_resume(principal, campaign_id))


@router.post("/{campaign_id}/cancel")
def cancel(service: Campaigns, principal: CurrentPrincipal, campaign_id: int) -> dict[str, Any]:
    return _out(service.do_cancel(principal, campaign_id))


@router.post("/{campaign_id}/retry-failed")
def retry_failed(service: Campaigns, principal: CurrentPrincipal, campaign_id: int) -> dict[str, Any]:
    return _out(service.do_retry_failed(principal, campaign_id))


@router.get("/{campaign_id}/progress")
def progress(service: Campaigns, campaign_id: int) -> dict[str, Any]:
    """Counts per state, the rate over the last 10 s, the percentage done and the time left."""
    return service.progress(campaign_id)


@router.get("/{campaign_id}/recipients")
def recipients(service: Campaigns, campaign_id: int, state: str | None = None,
               after_id: Annotated[int, Query(ge=0)] = 0,
               limit: Annotated[int, Query(ge=1, le=500)] = 100) -> dict[str, Any]:
    """One page (keyset: pass the last id as after_id), optionally of one state."""
    rows = [_out(r) for r in service.recipients(campaign_id, state, after_id, limit)]
    return {"items": rows, "next_after_id": rows[-1]["id"] if len(rows) == limit else None}


@router.get("/{campaign_id}/funnel.csv")
def funnel(service: Campaigns, campaign_id: int) -> StreamingResponse:
    chunks = service.funnel_csv(campaign_id)
    first = next(chunks)  # a missing campaign fails here, before the response starts
    return StreamingResponse(itertools.chain([first], chunks), media_type="text/csv",
                             headers={"Content-Disposition": f'attachment; filename="campaign-{campaign_id}.csv"'})

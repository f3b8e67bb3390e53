"""The desktop's campaign pages (supervisors and administrators): the list, the new-campaign form (template,
audience segment or CSV upload, schedule, rate) and the campaign page with live progress (static/campaigns.js
polls the progress API every second), pause/resume/cancel/retry and the funnel download.

Pages answer only to the session cookie; the actions go to the campaign API (web/campaigns.py) with the
session's CSRF token. Everything shown is rendered by autoescaped templates or set with textContent.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from centralino.app.campaign_feed import template_variables
from centralino.domain.access import Principal, Role
from centralino.domain.campaigns import FUNNEL, TIERS
from centralino.storage import campaigns as repo
from centralino.storage import templates as template_repo
from centralino.web.desk.pages import _not_found, _to_sign_in, page_principal, render
from centralino.web.principal import services

router = APIRouter(prefix="/desk", include_in_schema=False)


def _allowed(principal: Principal) -> bool:
    return principal.role in (Role.SUPERVISOR, Role.ADMIN)


@router.get("/campaigns")
def campaigns_page(request: Request) -> Response:
    principal = page_principal(request)
    if principal is None:
        return _to_sign_in(request)
    if not _allowed(principal):
        return _not_found(request, principal)
    with services(request).engine.connect() as conn:
        rows = repo.list_campaigns(conn)
    return render(request, "campaign_list.html", principal=principal, rows=rows, script=None)


@router.get("/campaigns/new")
def new_campaign_page(request: Request) -> Response:
    principal = page_principal(request)
    if principal is None:
        return _to_sign_in(request)
    if not _allowed(principal):
        return _not_found(request, principal)
    svc = services(request)
    channels = [c for c in svc.directory.all() if c.kind == "whatsapp"]
    accounts = {c.account_id for c in channels}
    with svc.engine.connect() as conn:
        templates: list[dict[str, Any]] = []
        for account in sorted(a for a in accounts if a):
            page, _ = template_repo.list_page(conn, template_repo.TemplateFilter(account_id=account,
                                                                                 status="approved"), limit=200)
            templates += page
    options = [{"id": t["id"], "label": f"{t['name']} · {t['language']} · {t['category']}",
                "variables": ",".join(template_variables(t["components"] or []))} for t in templates]
    return render(request, "campaign_new.html", principal=principal, channels=channels, templates=options,
                  tiers=list(TIERS), default_tier=svc.settings.campaign_default_tier, script="campaigns.js")


@router.get("/campaigns/{campaign_id}")
def campaign_page(request: Request, campaign_id: int) -> Response:
    principal = page_principal(request)
    if principal is None:
        return _to_sign_in(request)
    svc = services(request)
    if not _allowed(principal) or svc.campaigns is None:
        return _not_found(request, principal)
    with svc.engine.connect() as conn:
        campaign = repo.get(conn, campaign_id)
    if campaign is None:
        return _not_found(request, principal)
    progress = svc.campaigns.progress(campaign_id)
    return render(request, "campaign_page.html", principal=principal, campaign=campaign, progress=progress,
                  states=[s.value for s in FUNNEL], script="campaigns.js")

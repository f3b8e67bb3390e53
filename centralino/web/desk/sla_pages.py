"""Service-level settings pages for supervisors and administrators (/desk/routing/sla): SLA policies (targets
per queue and priority, warning percentage, escalation actions) and each queue's business hours, holidays
and out-of-hours behaviour. Like routing_pages.py, the forms show the stored JSON as text;
static/sla_config.js turns them back into the service-level API's JSON (/api/v1/sla-policies,
/api/v1/queues/{id}/hours), which validates once and names the field of a 422 next to that field."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from centralino.storage import routing as repo
from centralino.web.desk.pages import _to_sign_in, page_principal, render
from centralino.web.desk.supervisor_pages import may_supervise
from centralino.web.principal import services

router = APIRouter(prefix="/desk/routing", include_in_schema=False)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _escalation_lines(steps: list[dict[str, Any]]) -> str:
    return "\n".join(" ".join([str(s.get("on")), str(s.get("action"))]
                              + ([str(s["by"])] if s.get("action") == "raise_priority" and s.get("by") else []))
                     for s in steps)


def _hours_view(stored: dict[str, Any] | None) -> dict[str, Any]:
    calendar = (stored or {}).get("calendar") or {}
    hours = calendar.get("hours") or {}
    return {
        "configured": stored is not None,
        "time_zone": calendar.get("time_zone", "Europe/Rome"),
        "hours_text": "\n".join(f"{day} " + " ".join(f"{a}-{b}" for a, b in hours[day])
                                for day in WEEKDAYS if hours.get(day)),
        "holidays": calendar.get("holidays") or "",
        "closed_dates": ", ".join(calendar.get("closed_dates") or []),
        "open_dates": ", ".join(calendar.get("open_dates") or []),
        "out_of_hours": (stored or {}).get("out_of_hours", "keep"),
        "auto_reply_text": "\n".join(f"{k}: {v}" for k, v in ((stored or {}).get("auto_reply") or {}).items()),
    }


@router.get("/sla")
def sla_page(request: Request) -> Response:
    principal = page_principal(request)
    if principal is None:
        return _to_sign_in(request)
    levels = services(request).service_levels
    if not may_supervise(principal) or levels is None:
        return render(request, "not_found.html", status=404, principal=principal, script=None)
    with services(request).engine.connect() as conn:
        queues = [dict(q) for q in repo.queues(conn)
                  if principal.is_admin or q["department_id"] in principal.department_ids]
    names = {int(q["id"]): q["name"] for q in queues}
    # a supervisor sees the policies of their queues and those for every queue (queue_id null)
    policies = [dict(p) for p in levels.admin.policies() if p["queue_id"] is None or p["queue_id"] in names]
    for p in policies:
        p["queue"] = names.get(p["queue_id"]) if p["queue_id"] is not None else None
        p["escalation_text"] = _escalation_lines(p["escalation"] or [])
    for q in queues:
        q["hours"] = _hours_view(levels.admin.hours(int(q["id"])))
    return render(request, "routing_sla.html", principal=principal, queues=queues, policies=policies,
                  script="sla_config.js")

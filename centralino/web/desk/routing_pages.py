"""Routing configuration pages for supervisors and administrators: agents' skills and capacity per channel
(/desk/routing/agents) and queues with their rules (/desk/routing/queues). The pages show structured forms
over the JSON rule format; static/routing_config.js turns them into the routing API's JSON (PUT/POST
/api/v1/routing/…), so validation happens there once and its errors (422 naming the field) are shown next to
that field."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from centralino.storage import routing as repo
from centralino.storage.tables import channels, departments
from centralino.storage.tables_routing import agent_skills, routing_rules
from centralino.web.desk.pages import _to_sign_in, page_principal, render
from centralino.web.desk.supervisor_pages import agents_in_view, may_supervise
from centralino.web.principal import services

router = APIRouter(prefix="/desk/routing", include_in_schema=False)


def _lines(entries: list[dict[str, Any]], name: str, value: str) -> str:
    return "\n".join(f"{e[name]} {e[value]}" for e in entries)


def _relaxation_lines(steps: list[dict[str, Any]]) -> str:
    out = []
    for step in steps:
        words = [str(step["after_s"])]
        if step.get("min_level") is not None:
            words.append(f"min_level {step['min_level']}")
        words += [k for k in ("any_department_agent", "overflow") if step.get(k)]
        out.append(" ".join(words))
    return "\n".join(out)


def _conditions_view(conditions: dict[str, Any]) -> dict[str, str]:
    view = {k: ", ".join(str(v) for v in conditions.get(k, []))
            for k in ("channel_kind", "language", "tags_any", "intent", "keywords_any", "channel_id")}
    view["attributes"] = "\n".join(f"{k}={v}" for k, v in (conditions.get("attributes") or {}).items())
    return view


@router.get("/agents")
def agents_page(request: Request) -> Response:
    principal = page_principal(request)
    if principal is None:
        return _to_sign_in(request)
    if not may_supervise(principal) or services(request).routing is None:
        return render(request, "not_found.html", status=404, principal=principal, script=None)
    with services(request).engine.connect() as conn:
        people = agents_in_view(conn, principal)
        skills: dict[int, list[dict[str, Any]]] = {}
        for r in conn.execute(select(agent_skills).where(agent_skills.c.user_id.in_([p["id"] for p in people]))
                              .order_by(agent_skills.c.skill)).mappings():
            skills.setdefault(int(r["user_id"]), []).append(dict(r))
    for p in people:
        p["skills_text"] = _lines(skills.get(int(p["id"]), []), "skill", "level")
        p["capacity_text"] = ", ".join(f"{load['kind']}={load['max']}" for load in p["load"])
    return render(request, "routing_agents.html", principal=principal, agents=people, script="routing_config.js")


@router.get("/queues")
def queues_page(request: Request) -> Response:
    principal = page_principal(request)
    if principal is None:
        return _to_sign_in(request)
    if not may_supervise(principal) or services(request).routing is None:
        return render(request, "not_found.html", status=404, principal=principal, script=None)
    with services(request).engine.connect() as conn:
        queues = [dict(q) for q in repo.queues(conn)
                  if principal.is_admin or q["department_id"] in principal.department_ids]
        names = {int(q["id"]): q["name"] for q in queues}
        rules = [dict(r) for r in conn.execute(
            select(routing_rules).where(routing_rules.c.active.is_(True),
                                        routing_rules.c.queue_id.in_(list(names)))
            .order_by(routing_rules.c.position, routing_rules.c.id)).mappings()]
        dept_stmt = select(departments.c.id, departments.c.name).order_by(departments.c.name)
        if not principal.is_admin:
            dept_stmt = dept_stmt.where(departments.c.id.in_(sorted(principal.department_ids)))
        depts = [dict(r) for r in conn.execute(dept_stmt).mappings()]
        channel_list = [dict(r) for r in conn.execute(select(channels.c.id, channels.c.name)
                                                      .order_by(channels.c.name)).mappings()]
    for q in queues:
        q["skills_text"] = _lines(q["required_skills"] or [], "skill", "min_level")
        q["relaxation_text"] = _relaxation_lines(q["relaxation"] or [])
    for r in rules:
        r["queue"] = names.get(int(r["queue_id"]), "")
        r["cond"] = _conditions_view(r["conditions"] or {})
    return render(request, "routing_queues.html", principal=principal, queues=queues, rules=rules,
                  departments=depts, channels=channel_list, script="routing_config.js")

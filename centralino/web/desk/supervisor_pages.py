"""The supervisor's live view (/desk/supervisor): per queue the waiting count, longest wait, agents by state and
SLA timers at risk; per agent presence and load per channel against capacity; the live items with take over,
reassign and whisper (a private note). Supervisors see their departments' queues and people, administrators
all. The page re-reads the fragment /desk/supervisor/live every few seconds (static/supervisor.js); the
actions go through the JSON API (assignee, notes), so the same checks apply."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import Connection, func, select

from centralino.domain.access import Principal, Role
from centralino.storage import routing as repo
from centralino.storage.tables import contacts, department_members, users
from centralino.storage.tables_routing import agent_capacity, agent_presence, routing_items
from centralino.web.desk.pages import _to_sign_in, page_principal, render
from centralino.web.principal import services

router = APIRouter(prefix="/desk", include_in_schema=False)
STATES = ("online", "busy", "away", "offline")
ITEMS_SHOWN = 200


def may_supervise(principal: Principal | None) -> bool:
    return principal is not None and principal.role in (Role.SUPERVISOR, Role.ADMIN)


def _now(request: Request) -> datetime:
    """The routing service's clock (the tests move it), else the wall clock."""
    routing = services(request).routing
    return routing.clock() if routing is not None else datetime.now(UTC)


def _wait(since: datetime | None, now: datetime) -> str:
    if since is None:
        return ""
    seconds = max(0, int((now - since).total_seconds()))
    return f"{seconds // 60}m {seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def _sla_at_risk(conn: Connection, now: datetime) -> dict[int, int] | None:
    """Running SLA timers past their warning point, per queue; None without the service-levels tables."""
    try:
        from centralino.storage.tables_service_levels import sla_timers
    except ImportError:  # pragma: no cover - service levels not installed
        return None
    t = sla_timers.c
    stmt = (select(t.queue_id, func.count()).where(t.state == "running", t.warn_at <= now, t.queue_id.is_not(None))
            .group_by(t.queue_id))
    return {int(q): int(n) for q, n in conn.execute(stmt)}


def agents_in_view(conn: Connection, principal: Principal) -> list[dict[str, Any]]:
    """Active users the principal supervises (their departments' members; everyone for an administrator)."""
    stmt = select(users.c.id, users.c.display_name, users.c.role).where(users.c.active.is_(True))
    if not principal.is_admin:
        members = select(department_members.c.user_id).where(
            department_members.c.department_id.in_(sorted(principal.department_ids)))
        stmt = stmt.where(users.c.id.in_(members))
    people = [dict(r) for r in conn.execute(stmt.order_by(users.c.display_name, users.c.id)).mappings()]
    ids = [p["id"] for p in people]
    presence = {int(r.user_id): r for r in conn.execute(
        select(agent_presence).where(agent_presence.c.user_id.in_(ids)))}
    load: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in conn.execute(select(agent_capacity).where(agent_capacity.c.user_id.in_(ids))
                          .order_by(agent_capacity.c.channel_kind)):
        load[int(r.user_id)].append({"kind": r.channel_kind, "active": int(r.active), "max": int(r.max_active)})
    departments: dict[int, set[int]] = defaultdict(set)
    for r in conn.execute(select(department_members).where(department_members.c.user_id.in_(ids))):
        departments[int(r.user_id)].add(int(r.department_id))
    for p in people:
        row = presence.get(int(p["id"]))
        p.update(state=row.state if row else "offline", reason=row.reason if row else None,
                 since=row.since if row else None, load=load[int(p["id"])], departments=departments[int(p["id"])])
    return people


def live_view(conn: Connection, principal: Principal, now: datetime) -> dict[str, Any]:
    people = agents_in_view(conn, principal)
    counts = repo.waiting_counts(conn)
    at_risk = _sla_at_risk(conn, now)
    queues = []
    for q in repo.queues(conn):
        if not (principal.is_admin or q["department_id"] in principal.department_ids):
            continue
        waiting, oldest = counts.get(int(q["id"]), (0, None))
        by_state = Counter(p["state"] for p in people
                           if q["department_id"] is None or q["department_id"] in p["departments"])
        queues.append({"id": q["id"], "name": q["name"], "waiting": waiting, "longest_wait": _wait(oldest, now),
                       "states": [(s, by_state.get(s, 0)) for s in STATES],
                       "at_risk": None if at_risk is None else at_risk.get(int(q["id"]), 0)})
    names = {int(p["id"]): p["display_name"] for p in people}
    visible = [int(q["id"]) for q in queues]
    queue_names = {int(q["id"]): q["name"] for q in queues}
    ri = routing_items.c
    rows = conn.execute(
        select(ri.id, ri.conversation_id, ri.queue_id, ri.state, ri.channel_kind, ri.priority, ri.enqueued_at,
               ri.assigned_to, contacts.c.display_name.label("contact"))
        .join(contacts, contacts.c.id == ri.contact_id)
        .where(ri.state.in_(list(repo.LIVE)), ri.queue_id.in_(visible))
        .order_by(ri.state.desc(), ri.priority.desc(), ri.enqueued_at).limit(ITEMS_SHOWN)).mappings()
    items = [dict(r) | {"queue": queue_names.get(int(r["queue_id"]), ""), "wait": _wait(r["enqueued_at"], now),
                        "agent": names.get(int(r["assigned_to"])) if r["assigned_to"] is not None else None}
             for r in rows]
    return {"queues": queues, "agents": people, "items": items, "sla": at_risk is not None}


@router.get("/supervisor")
def supervisor_page(request: Request) -> Response:
    principal = page_principal(request)
    if principal is None:
        return _to_sign_in(request)
    if not may_supervise(principal):
        return render(request, "not_found.html", status=404, principal=principal, script=None)
    with services(request).engine.connect() as conn:
        view = live_view(conn, principal, _now(request))
    return render(request, "supervisor.html", principal=principal, view=view, script="supervisor.js")


@router.get("/supervisor/live")
def supervisor_fragment(request: Request) -> Response:
    principal = page_principal(request)
    if not may_supervise(principal):
        return Response(status_code=404)
    assert principal is not None
    with services(request).engine.connect() as conn:
        view = live_view(conn, principal, _now(request))
    return render(request, "_supervisor_live.html", principal=principal, view=view)

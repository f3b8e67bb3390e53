"""Routing routes (docs/routing.md): agents' skills, capacity and presence, queues and rules (validated on save:
422 naming the field), queue items, declining an offer. Thin: the use cases in app/routing_admin.py check."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query
from sqlalchemy import select

from centralino.app.routing_admin import RoutingAdmin, check_configures
from centralino.errors import InvalidInput, NotFound
from centralino.storage import routing as repo
from centralino.storage.tables import users
from centralino.storage.tables_routing import agent_capacity, agent_presence, agent_skills, routing_rules
from centralino.web.api import Svc
from centralino.web.principal import CurrentPrincipal, current_principal

router = APIRouter(prefix="/api/v1/routing", dependencies=[Depends(current_principal)], tags=["routing"])

QUEUE_EXAMPLE = {"name": "mortgages", "department_id": 1, "priority": 5,
                 "required_skills": [{"skill": "language:it", "min_level": 3},
                                     {"skill": "product:mortgages", "min_level": 4}],
                 "relaxation": [{"after_s": 60, "min_level": 2}, {"after_s": 180, "any_department_agent": True},
                                {"after_s": 300, "overflow": True}],
                 "overflow_queue_id": 2, "offer_timeout_s": 120}
RULE_EXAMPLE = {"name": "VIP mortgages", "position": 10, "queue_id": 1, "priority": 10,
                "conditions": {"channel_kind": ["whatsapp"], "tags_any": ["vip"], "keywords_any": ["mutuo"]}}


def routing(svc: Svc) -> RoutingAdmin:
    if svc.routing is None:
        raise NotFound("routing is not available in this process")
    return svc.routing


Routing = Annotated[RoutingAdmin, Depends(routing)]


@contextmanager
def unprocessable() -> Iterator[None]:
    """Configuration that fails validation is 422, naming the field."""
    try:
        yield
    except InvalidInput as err:
        raise InvalidInput(err.message, field=err.field, code=err.code, status=422) from None


def _iso(row: Any) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in dict(row).items()}


def _agent(conn: Any, user_id: int) -> dict[str, Any]:
    presence = conn.execute(select(agent_presence).where(agent_presence.c.user_id == user_id)).mappings().first()
    return {
        "user_id": user_id,
        "presence": _iso(presence) if presence else {"state": "offline", "reason": None, "since": None},
        "skills": [{"skill": r.skill, "level": r.level} for r in conn.execute(
            select(agent_skills).where(agent_skills.c.user_id == user_id).order_by(agent_skills.c.skill))],
        "capacity": {r.channel_kind: {"max": r.max_active, "active": r.active} for r in conn.execute(
            select(agent_capacity).where(agent_capacity.c.user_id == user_id))},
    }


@router.get("/agents")
def list_agents(svc: Svc, principal: CurrentPrincipal) -> list[dict[str, Any]]:
    """Every active user's presence, skills and capacity/load (supervisors and administrators)."""
    check_configures(principal)
    with svc.engine.connect() as conn:
        ids = conn.execute(select(users.c.id).where(users.c.active.is_(True)).order_by(users.c.id)).scalars()
        return [_agent(conn, int(i)) for i in ids]


@router.get("/agents/me")
def my_routing(svc: Svc, principal: CurrentPrincipal) -> dict[str, Any]:
    if principal.user_id is None:
        raise NotFound("no user")
    with svc.engine.connect() as conn:
        return _agent(conn, principal.user_id)


@router.put("/agents/{user_id}/presence")
def set_presence(svc: Svc, service: Routing, principal: CurrentPrincipal, user_id: int,
                 body: Annotated[dict[str, Any], Body(examples=[{"state": "away", "reason": "lunch"}])]
                 ) -> dict[str, Any]:
    """online | busy | away | offline. An agent sets their own; a supervisor anyone in their departments."""
    service.do_set_presence(principal, user_id, str(body.get("state", "")), body.get("reason"))
    with svc.engine.connect() as conn:
        return _agent(conn, user_id)


@router.put("/agents/{user_id}/skills")
def set_skills(svc: Svc, service: Routing, principal: CurrentPrincipal, user_id: int,
               body: Annotated[dict[str, Any], Body(examples=[{"skills": [{"skill": "language:it", "level": 5}]}])]
               ) -> dict[str, Any]:
    with unprocessable():
        service.do_set_skills(principal, user_id, body.get("skills"))  # type: ignore[arg-type]
    with svc.engine.connect() as conn:
        return _agent(conn, user_id)


@router.put("/agents/{user_id}/capacity")
def set_capacity(svc: Svc, service: Routing, principal: CurrentPrincipal, user_id: int,
                 body: Annotated[dict[str, Any], Body(examples=[{"capacity": {"whatsapp": 5, "email": 10}}])]
                 ) -> dict[str, Any]:
    with unprocessable():
        service.do_set_capacity(principal, user_id, body.get("capacity"))  # type: ignore[arg-type]
    with svc.engine.connect() as conn:
        return _agent(conn, user_id)


@router.get("/queues")
def list_queues(svc: Svc, principal: CurrentPrincipal) -> list[dict[str, Any]]:
    """Queues with their waiting count and oldest waiting item."""
    check_configures(principal)
    with svc.engine.connect() as conn:
        counts = repo.waiting_counts(conn)
        out = []
        for q in repo.queues(conn, active_only=False):
            if not (principal.is_admin or q["department_id"] in principal.department_ids):
                continue
            waiting, oldest = counts.get(int(q["id"]), (0, None))
            out.append(_iso(q) | {"waiting": waiting, "oldest_enqueued_at": oldest.isoformat() if oldest else None})
        return out


@router.post("/queues", status_code=201)
def create_queue(svc: Svc, service: Routing, principal: CurrentPrincipal,
                 body: Annotated[dict[str, Any], Body(examples=[QUEUE_EXAMPLE])]) -> dict[str, Any]:
    with unprocessable():
        queue_id = service.do_save_queue(principal, body)
    with svc.engine.connect() as conn:
        return _iso(service.queue(conn, principal, queue_id))


@router.get("/queues/{queue_id}")
def get_queue(svc: Svc, service: Routing, principal: CurrentPrincipal, queue_id: int) -> dict[str, Any]:
    check_configures(principal)
    with svc.engine.connect() as conn:
        return _iso(service.queue(conn, principal, queue_id))


@router.put("/queues/{queue_id}")
def update_queue(svc: Svc, service: Routing, principal: CurrentPrincipal, queue_id: int,
                 body: Annotated[dict[str, Any], Body(examples=[QUEUE_EXAMPLE])]) -> dict[str, Any]:
    with unprocessable():
        service.do_save_queue(principal, body, queue_id)
    with svc.engine.connect() as conn:
        return _iso(service.queue(conn, principal, queue_id))


@router.delete("/queues/{queue_id}", status_code=204)
def delete_queue(service: Routing, principal: CurrentPrincipal, queue_id: int) -> None:
    service.do_delete_queue(principal, queue_id)


@router.get("/queues/{queue_id}/items")
def queue_items(svc: Svc, service: Routing, principal: CurrentPrincipal, queue_id: int,
                state: Annotated[list[str] | None, Query()] = None,
                limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[dict[str, Any]]:
    """Live items (waiting first, by priority then waiting time); ?state=waiting for the waiting only."""
    check_configures(principal)
    with svc.engine.connect() as conn:
        service.queue(conn, principal, queue_id)
        return [_iso(r) for r in repo.items(conn, queue_id, state or list(repo.LIVE), limit)]


@router.get("/rules")
def list_rules(svc: Svc, principal: CurrentPrincipal) -> list[dict[str, Any]]:
    check_configures(principal)
    with svc.engine.connect() as conn:
        stmt = select(routing_rules).where(routing_rules.c.active.is_(True))
        return [_iso(r) for r in conn.execute(stmt.order_by(routing_rules.c.position, routing_rules.c.id)).mappings()]


@router.post("/rules", status_code=201)
def create_rule(service: Routing, principal: CurrentPrincipal,
                body: Annotated[dict[str, Any], Body(examples=[RULE_EXAMPLE])]) -> dict[str, Any]:
    with unprocessable():
        return {"id": service.do_save_rule(principal, body)}


@router.put("/rules/{rule_id}")
def update_rule(service: Routing, principal: CurrentPrincipal, rule_id: int,
                body: Annotated[dict[str, Any], Body(examples=[RULE_EXAMPLE])]) -> dict[str, Any]:
    with unprocessable():
        return {"id": service.do_save_rule(principal, body, rule_id)}


@router.delete("/rules/{rule_id}", status_code=204)
def delete_rule(service: Routing, principal: CurrentPrincipal, rule_id: int) -> None:
    service.do_delete_rule(principal, rule_id)


@router.post("/conversations/{conversation_id}/decline", status_code=204)
def decline(service: Routing, principal: CurrentPrincipal, conversation_id: int) -> None:
    """The agent it is offered to declines it: it goes back to the queue and is never offered to them again."""
    service.do_decline(principal, conversation_id)

"""Setting up routing: agents' presence (the agent for themselves, a supervisor for their departments' people,
an administrator for anyone), skills and capacity (supervisors and administrators), queues and rules
(validated on save, domain/routing_rules.py), and an agent declining an offer. docs/routing.md."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from centralino.app.routing import RoutingService
from centralino.app.unit_of_work import unit_of_work
from centralino.domain.access import Principal, Role
from centralino.domain.routing import RELEASING_STATES, PresenceState
from centralino.domain.routing_rules import check_level, check_queue, check_rule, normalise_skill
from centralino.errors import Conflict, Forbidden, InvalidInput, NotFound
from centralino.storage import routing as repo
from centralino.storage.tables import department_members, departments, users
from centralino.storage.tables_routing import (
    agent_presence,
    agent_presence_history,
    agent_skills,
    routing_items,
    routing_queues,
    routing_rules,
)

CHANNEL_KINDS_MAX = 20


def _utcnow() -> datetime:
    return datetime.now(UTC)


def check_configures(principal: Principal) -> None:
    if principal.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise Forbidden("only supervisors and administrators configure routing", code="routing.forbidden")


def check_manages_agent(conn: Connection, principal: Principal, user_id: int, *, self_ok: bool) -> None:
    """Self (when `self_ok`), a supervisor of one of the user's departments, or an administrator."""
    if conn.execute(select(users.c.id).where(users.c.id == user_id)).scalar() is None:
        raise NotFound(f"no user {user_id}")
    if principal.is_admin or (self_ok and principal.user_id == user_id):
        return
    if principal.role is Role.SUPERVISOR:
        theirs = set(conn.execute(select(department_members.c.department_id)
                                  .where(department_members.c.user_id == user_id)).scalars())
        if theirs & principal.department_ids:
            return
    raise Forbidden("you may not change this agent's routing settings", code="routing.forbidden")


class RoutingAdmin:
    def __init__(self, engine: Any, bus: Any, service: RoutingService, default_capacity: Mapping[str, int], *,
                 clock: Callable[[], datetime] = _utcnow) -> None:
        self.engine = engine
        self.bus = bus
        self.service = service
        self.default_capacity = dict(default_capacity)
        self.clock = clock

    # -- presence ----------------------------------------------------------------------------------------

    def do_set_presence(self, principal: Principal, user_id: int, state: str, reason: str | None = None) -> None:
        parsed = PresenceState.parse(state)
        if parsed is None:
            raise InvalidInput("state is online, busy, away or offline", field="state")
        if reason is not None and len(reason) > 200:
            raise InvalidInput("a reason has at most 200 characters", field="reason")
        now = self.clock()
        with unit_of_work(self.engine, self.bus) as uow:
            conn = uow.conn
            check_manages_agent(conn, principal, user_id, self_ok=True)
            current = conn.execute(select(agent_presence).where(agent_presence.c.user_id == user_id)
                                   .with_for_update()).mappings().first()
            previous = current["state"] if current else PresenceState.OFFLINE.value
            if current is not None and previous == parsed.value and current["reason"] == reason:
                return
            values = {"state": parsed.value, "reason": reason, "since": now, "set_by": principal.user_id}
            if current is None:
                conn.execute(insert(agent_presence).values(user_id=user_id, idle_since=now, **values))
            else:
                conn.execute(update(agent_presence).where(agent_presence.c.user_id == user_id).values(**values))
            h = agent_presence_history.c
            conn.execute(update(agent_presence_history).where(h.user_id == user_id, h.ended_at.is_(None))
                         .values(ended_at=now))
            conn.execute(insert(agent_presence_history).values(user_id=user_id, started_at=now, **{
                k: v for k, v in values.items() if k != "since"}))
            if parsed is PresenceState.ONLINE and self.default_capacity and not repo.capacity_of(conn, user_id):
                repo.set_capacity(conn, user_id, self.default_capacity)
            requeued = 0
            if parsed in RELEASING_STATES:
                # un-answered work goes back to the queue; answered work stays theirs until a supervisor moves it
                for item in repo.unanswered_of(conn, user_id):
                    self.service.requeue(uow, item, f"agent_{parsed.value}", exclude=False)
                    requeued += 1
            uow.emit("agent.presence_changed", user_id=user_id, state=parsed.value, previous=previous,
                     reason=reason, actor=principal.actor, requeued=requeued)

    # -- skills and capacity -------------------------------------------------------------------------------

    def do_set_skills(self, principal: Principal, user_id: int, skills: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Replace the agent's skills: [{"skill": "language:it", "level": 4}, …]."""
        check_configures(principal)
        if not isinstance(skills, list) or len(skills) > 100:
            raise InvalidInput("skills is a list of at most 100 {skill, level}", field="skills")
        parsed: dict[str, int] = {}
        for i, entry in enumerate(skills):
            if not isinstance(entry, dict):
                raise InvalidInput("each skill is {skill, level}", field=f"skills[{i}]")
            name = normalise_skill(entry.get("skill"), f"skills[{i}].skill")
            if name in parsed:
                raise InvalidInput(f"{name} is given twice", field=f"skills[{i}].skill")
            parsed[name] = check_level(entry.get("level"), f"skills[{i}].level")
        with unit_of_work(self.engine, self.bus) as uow:
            check_manages_agent(uow.conn, principal, user_id, self_ok=False)
            uow.conn.execute(delete(agent_skills).where(agent_skills.c.user_id == user_id))
            if parsed:
                uow.conn.execute(insert(agent_skills), [{"user_id": user_id, "skill": k, "level": v}
                                                        for k, v in parsed.items()])
            uow.emit("agent.skills_changed", user_id=user_id, actor=principal.actor)
        return [{"skill": k, "level": v} for k, v in sorted(parsed.items())]

    def do_set_capacity(self, principal: Principal, user_id: int, limits: dict[str, Any]) -> None:
        """Replace the agent's capacity per channel kind: {"whatsapp": 5, "voice": 1, "email": 10}."""
        check_configures(principal)
        if not isinstance(limits, dict) or len(limits) > CHANNEL_KINDS_MAX:
            raise InvalidInput("capacity is an object of channel kind: count", field="capacity")
        for kind, value in limits.items():
            if not isinstance(kind, str) or not kind or len(kind) > 32:
                raise InvalidInput("a channel kind has 1 to 32 characters", field="capacity")
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
                raise InvalidInput("a capacity is a whole number from 0 to 100", field=f"capacity.{kind}")
        with unit_of_work(self.engine, self.bus) as uow:
            check_manages_agent(uow.conn, principal, user_id, self_ok=False)
            repo.set_capacity(uow.conn, user_id, {k.lower(): int(v) for k, v in limits.items()})
            uow.emit("agent.capacity_changed", user_id=user_id, actor=principal.actor)

    # -- queues and rules ----------------------------------------------------------------------------------

    def _check_queue_refs(self, conn: Connection, principal: Principal, fields: dict[str, Any]) -> None:
        dept = fields["department_id"]
        if dept is not None and conn.execute(select(departments.c.id).where(departments.c.id == dept)).scalar() is None:
            raise InvalidInput(f"no department {dept}", field="department_id")
        if not principal.is_admin and (dept is None or dept not in principal.department_ids):
            raise Forbidden("supervisors manage their own departments' queues", field="department_id",
                            code="routing.forbidden")
        overflow = fields["overflow_queue_id"]
        if overflow is not None and conn.execute(
                select(routing_queues.c.id).where(routing_queues.c.id == overflow)).scalar() is None:
            raise InvalidInput(f"no queue {overflow}", field="overflow_queue_id")

    def do_save_queue(self, principal: Principal, data: dict[str, Any], queue_id: int | None = None) -> int:
        check_configures(principal)
        fields = check_queue(data, queue_id=queue_id)
        now = self.clock()
        with unit_of_work(self.engine, self.bus) as uow:
            conn = uow.conn
            self._check_queue_refs(conn, principal, fields)
            clash = conn.execute(select(routing_queues.c.id).where(routing_queues.c.name == fields["name"])).scalar()
            if clash is not None and clash != queue_id:
                raise Conflict(f"a queue named {fields['name']} exists", field="name", code="routing.queue_exists")
            if queue_id is None:
                queue_id = int(conn.execute(insert(routing_queues).values(created_at=now, updated_at=now, **fields)
                                            .returning(routing_queues.c.id)).scalar_one())
            else:
                self.queue(conn, principal, queue_id)
                conn.execute(update(routing_queues).where(routing_queues.c.id == queue_id)
                             .values(updated_at=now, **fields))
            uow.emit("routing.queue_saved", queue_id=queue_id, actor=principal.actor)
            return queue_id

    def queue(self, conn: Connection, principal: Principal, queue_id: int) -> Any:
        row = conn.execute(select(routing_queues).where(routing_queues.c.id == queue_id)).mappings().first()
        if row is None or not (principal.is_admin or row["department_id"] in principal.department_ids):
            raise NotFound(f"no queue {queue_id}")
        return row

    def do_delete_queue(self, principal: Principal, queue_id: int) -> None:
        """Deactivate (its items and history stay); refused while items are live in it."""
        check_configures(principal)
        with unit_of_work(self.engine, self.bus) as uow:
            self.queue(uow.conn, principal, queue_id)
            live = uow.conn.execute(select(routing_items.c.id).where(
                routing_items.c.queue_id == queue_id, routing_items.c.state.in_(repo.LIVE)).limit(1)).scalar()
            if live is not None:
                raise Conflict("the queue still has work in it", code="routing.queue_not_empty")
            uow.conn.execute(update(routing_queues).where(routing_queues.c.id == queue_id)
                             .values(active=False, updated_at=self.clock()))
            uow.emit("routing.queue_saved", queue_id=queue_id, actor=principal.actor)

    def do_save_rule(self, principal: Principal, data: dict[str, Any], rule_id: int | None = None) -> int:
        check_configures(principal)
        fields = check_rule(data)
        now = self.clock()
        with unit_of_work(self.engine, self.bus) as uow:
            try:
                self.queue(uow.conn, principal, fields["queue_id"])
            except NotFound:
                raise InvalidInput(f"no queue {fields['queue_id']}", field="queue_id") from None
            if rule_id is None:
                rule_id = int(uow.conn.execute(insert(routing_rules).values(created_at=now, updated_at=now, **fields)
                                               .returning(routing_rules.c.id)).scalar_one())
            else:
                done = uow.conn.execute(update(routing_rules).where(routing_rules.c.id == rule_id)
                                        .values(updated_at=now, **fields)).rowcount
                if not done:
                    raise NotFound(f"no rule {rule_id}")
            uow.emit("routing.rule_saved", rule_id=rule_id, actor=principal.actor)
            return rule_id

    def do_delete_rule(self, principal: Principal, rule_id: int) -> None:
        check_configures(principal)
        with unit_of_work(self.engine, self.bus) as uow:
            done = uow.conn.execute(update(routing_rules).where(routing_rules.c.id == rule_id)
                                    .values(active=False, updated_at=self.clock())).rowcount
            if not done:
                raise NotFound(f"no rule {rule_id}")

    # -- the agent's answer to an offer ----------------------------------------------------------------------

    def do_decline(self, principal: Principal, conversation_id: int) -> None:
        """The agent offered this conversation declines it: back to the queue, never offered to them again."""
        with unit_of_work(self.engine, self.bus) as uow:
            item = repo.live_item(uow.conn, conversation_id, lock=True)
            if item is None or item["state"] != "offered" or item["assigned_to"] != principal.user_id:
                raise Conflict("nothing is offered to you in this conversation", code="routing.no_offer")
            self.service.requeue(uow, item, "declined", exclude=True)


def install_routing(settings: Any, engine: Any, bus: Any) -> RoutingAdmin:
    service = RoutingService(engine, bus, batch=settings.routing_batch)
    service.install()
    return RoutingAdmin(engine, bus, service, settings.routing_default_capacity)

"""Supervisors define business hours per queue, out-of-hours behaviour and SLA policies (validated on save,
stored as data; bad input changes nothing and names the field)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, select, update

from centralino.app.unit_of_work import unit_of_work
from centralino.domain.access import Principal, Role
from centralino.domain.business_hours import CalendarError, calendar_from_dict, calendar_to_dict
from centralino.domain.sla import (
    OutOfHours,
    SlaError,
    escalation_to_dict,
    parse_escalation,
    parse_targets,
    parse_warn_percent,
)
from centralino.errors import Conflict, Forbidden, InvalidInput, NotFound
from centralino.events.bus import EventBus
from centralino.storage.tables_routing import routing_queues
from centralino.storage.tables_service_levels import queue_hours, sla_policies, sla_timers


def _utcnow() -> datetime:
    return datetime.now(UTC)


def check_supervises(principal: Principal) -> None:
    if principal.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise Forbidden("service levels are set by supervisors and administrators", code="service_levels.forbidden")


class ServiceLevelAdmin:
    def __init__(self, engine: Engine, bus: EventBus | None, *, clock: Callable[[], datetime] = _utcnow,
                 on_change: Callable[[], None] | None = None) -> None:
        self.engine = engine
        self.bus = bus
        self.clock = clock
        self.on_change = on_change  # this process's listeners look again at once

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    # --- business hours ------------------------------------------------------------------------------------

    def do_set_hours(self, principal: Principal, queue_id: int, data: dict[str, Any]) -> dict[str, Any]:
        """Replace the queue's calendar and out-of-hours behaviour; the stored form."""
        check_supervises(principal)
        try:
            calendar = calendar_from_dict(dict(data.get("calendar") or {}))
        except CalendarError as exc:
            raise InvalidInput(str(exc), field=f"calendar.{exc.field}", code="hours.invalid") from None
        try:
            action = OutOfHours(data.get("out_of_hours", OutOfHours.KEEP.value))
        except ValueError:
            raise InvalidInput("out_of_hours is auto_reply, bot or keep", field="out_of_hours",
                               code="hours.invalid") from None
        texts = data.get("auto_reply") or {}
        if not isinstance(texts, dict) or not all(isinstance(k, str) and isinstance(v, str) and 0 < len(v) <= 4096
                                                  for k, v in texts.items()):
            raise InvalidInput("auto_reply maps a language (it, en…) to a text of up to 4096 characters",
                               field="auto_reply", code="hours.invalid")
        if action is OutOfHours.AUTO_REPLY and not texts:
            raise InvalidInput("an auto-reply needs a text in at least one language", field="auto_reply",
                               code="hours.invalid")
        row = {"calendar": calendar_to_dict(calendar), "out_of_hours": action.value, "auto_reply": texts,
               "updated_at": self.clock()}
        with unit_of_work(self.engine, self.bus) as uow:
            self._queue(uow.conn, queue_id)
            uow.conn.execute(delete(queue_hours).where(queue_hours.c.queue_id == queue_id))
            uow.conn.execute(queue_hours.insert().values(queue_id=queue_id, **row))
            uow.emit("service_levels.hours_saved", queue_id=queue_id, actor=principal.actor)
        self._changed()
        return {"queue_id": queue_id, **row}

    def hours(self, queue_id: int) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(queue_hours).where(queue_hours.c.queue_id == queue_id)).mappings().first()
        return None if row is None else dict(row)

    # --- SLA policies --------------------------------------------------------------------------------------

    def do_save_policy(self, principal: Principal, data: dict[str, Any], policy_id: int | None = None) -> int:
        check_supervises(principal)
        name = data.get("name")
        if not isinstance(name, str) or not 0 < len(name.strip()) <= 100:
            raise InvalidInput("name is 1-100 characters", field="name", code="sla.invalid")
        try:
            targets = parse_targets(data)
            warn = parse_warn_percent(data.get("warn_percent", 80))
            escalation = parse_escalation(data.get("escalation", []))
        except SlaError as exc:
            raise InvalidInput(str(exc), field=exc.field, code="sla.invalid") from None
        priority = data.get("priority")
        if priority is not None and (not isinstance(priority, int) or isinstance(priority, bool)):
            raise InvalidInput("priority is a whole number or null (any)", field="priority", code="sla.invalid")
        queue_id = data.get("queue_id")
        now = self.clock()
        values = {"name": name.strip(), "queue_id": queue_id, "priority": priority,
                  **{f"{k.value}_s": int(v.total_seconds()) for k, v in targets.items()},
                  **{f"{k}_s": None for k in ("first_response", "next_response", "resolution")
                     if f"{k}_s" not in {f"{t.value}_s" for t in targets}},
                  "warn_percent": warn, "escalation": escalation_to_dict(escalation),
                  "active": bool(data.get("active", True)), "updated_at": now}
        with unit_of_work(self.engine, self.bus) as uow:
            if queue_id is not None:
                if not isinstance(queue_id, int) or isinstance(queue_id, bool):
                    raise InvalidInput("queue_id is a queue's id or null (every queue)", field="queue_id",
                                       code="sla.invalid")
                self._queue(uow.conn, queue_id)
            p = sla_policies.c
            clash = uow.conn.execute(select(p.id).where(p.name == values["name"])).scalar()
            if clash is not None and clash != policy_id:
                raise Conflict(f"a policy named {values['name']!r} exists", field="name", code="sla.name_taken")
            if policy_id is None:
                policy_id = int(uow.conn.execute(sla_policies.insert().values(created_at=now, **values)
                                                 .returning(p.id)).scalar_one())
            elif uow.conn.execute(update(sla_policies).where(p.id == policy_id).values(**values)).rowcount != 1:
                raise NotFound(f"no SLA policy {policy_id}", field="policy_id")
            uow.emit("service_levels.policy_saved", policy_id=policy_id, actor=principal.actor)
        self._changed()
        return policy_id

    def do_delete_policy(self, principal: Principal, policy_id: int) -> None:
        """A policy that timed conversations is deactivated (its timers stay for the reports); else deleted."""
        check_supervises(principal)
        with unit_of_work(self.engine, self.bus) as uow:
            p = sla_policies.c
            if uow.conn.execute(select(p.id).where(p.id == policy_id)).first() is None:
                raise NotFound(f"no SLA policy {policy_id}", field="policy_id")
            used = uow.conn.execute(select(sla_timers.c.id).where(sla_timers.c.policy_id == policy_id).limit(1)).first()
            if used is not None:
                uow.conn.execute(update(sla_policies).where(p.id == policy_id).values(active=False))
            else:
                uow.conn.execute(delete(sla_policies).where(p.id == policy_id))
            uow.emit("service_levels.policy_deleted", policy_id=policy_id, actor=principal.actor)
        self._changed()

    def policies(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(select(sla_policies).order_by(sla_policies.c.id)).mappings()]

    @staticmethod
    def _queue(conn: Connection, queue_id: int) -> None:
        if conn.execute(select(routing_queues.c.id).where(routing_queues.c.id == queue_id)).first() is None:
            raise NotFound(f"no queue {queue_id}", field="queue_id")

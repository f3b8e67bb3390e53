"""A small routed contact center for routing tests: a channel, a department, agents with skills, queues and
rules, customers writing in through the real inbound pipeline, and a clock the tests move."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from centralino.app.routing_admin import RoutingAdmin
from centralino.demo_access import SETUP
from centralino.domain.access import Role
from centralino.services import Services
from centralino.storage.tables import contact_identities, conversations
from centralino.storage.tables_routing import agent_capacity, routing_items
from tests.factories import text_delivery, whatsapp_channel
from tests.helpers import store

_numbers = itertools.count(1)


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime(2026, 11, 25, 9, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Center:
    services: Services
    clock: Clock
    channel_id: int
    department_id: int

    @property
    def routing(self) -> RoutingAdmin:
        assert self.services.routing is not None
        return self.services.routing

    def agent(self, name: str, skills: dict[str, int], *, capacity: int = 2, online: bool = True,
              role: Role = Role.AGENT) -> int:
        user = self.services.admin.do_create_user(SETUP, email=f"{name}@example.com", display_name=name, role=role,
                                                  password=None, department_ids=[self.department_id])
        uid = int(user["id"])
        self.routing.do_set_skills(SETUP, uid, [{"skill": k, "level": v} for k, v in skills.items()])
        self.routing.do_set_capacity(SETUP, uid, {"whatsapp": capacity})
        if online:
            self.routing.do_set_presence(SETUP, uid, "online")
        return uid

    def queue(self, name: str, **data: Any) -> int:
        return self.routing.do_save_queue(SETUP, {"name": name, "department_id": self.department_id, **data})

    def rule(self, queue_id: int, position: int = 0, **conditions: Any) -> int:
        return self.routing.do_save_rule(SETUP, {"name": f"to {queue_id}", "queue_id": queue_id,
                                                 "position": position, "conditions": conditions})

    def customer_writes(self, body: str, wa_id: str | None = None) -> int:
        """A customer message through the real pipeline; its conversation's id."""
        wa_id = wa_id or f"39347{next(_numbers):07d}"
        store(self.services, text_delivery(wa_id, body, int(self.clock.now.timestamp()), f"wamid.{wa_id}.{body}"))
        self.services.delivery_worker.drain()
        with self.services.engine.connect() as conn:
            return int(conn.execute(select(conversations.c.id).join(
                contact_identities, contact_identities.c.contact_id == conversations.c.contact_id)
                .where(contact_identities.c.value == wa_id)).scalar_one())

    def route(self) -> int:
        return self.routing.service.do_route_once()

    def item(self, conversation_id: int) -> dict[str, Any]:
        with self.services.engine.connect() as conn:
            row = conn.execute(select(routing_items).where(routing_items.c.conversation_id == conversation_id)
                               .order_by(routing_items.c.id.desc())).mappings().first()
        assert row is not None
        return dict(row)

    def assignee(self, conversation_id: int) -> int | None:
        with self.services.engine.connect() as conn:
            value = conn.execute(select(conversations.c.assignee_user_id)
                                 .where(conversations.c.id == conversation_id)).scalar()
        return None if value is None else int(value)

    def load(self, user_id: int) -> int:
        with self.services.engine.connect() as conn:
            return int(conn.execute(select(agent_capacity.c.active).where(
                agent_capacity.c.user_id == user_id, agent_capacity.c.channel_kind == "whatsapp")).scalar_one())


def build_center(services: Services) -> Center:
    clock = Clock()
    assert services.routing is not None
    services.routing.clock = clock
    services.routing.service.clock = clock
    channel_id = whatsapp_channel(services)
    department = int(services.admin.do_create_department(SETUP, "Care", channel_ids=[channel_id])["id"])
    return Center(services, clock, channel_id, department)

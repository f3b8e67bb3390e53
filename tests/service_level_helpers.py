"""A routed contact center with business hours, SLA policies and a clock the tests move (service levels)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from centralino.app.service_levels import ServiceLevels
from centralino.app.sla_timers import SlaClock
from centralino.demo_access import SETUP
from centralino.domain.outbound import Text
from centralino.services import Services
from centralino.simulator import payloads
from centralino.storage.tables import contact_identities, contacts, messages
from tests.factories import PNID, WABA
from tests.helpers import store
from tests.routing_helpers import Center, build_center

ROME = ZoneInfo("Europe/Rome")
OFFICE = {"time_zone": "Europe/Rome",
          "hours": {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}}


def rome(*args: int) -> datetime:
    return datetime(*args, tzinfo=ROME)  # type: ignore[misc]


class Desk:
    """build_center plus the service-level pieces on the same clock."""

    def __init__(self, services: Services) -> None:
        self.center: Center = build_center(services)
        self.services = services
        self.clock = self.center.clock
        levels = self.levels
        levels.clock = self.clock
        levels.admin.clock = self.clock
        if levels.csat is not None:
            levels.csat.clock = self.clock
        services.outbound.clock = self.clock
        self.sla = SlaClock(services.engine, services.bus, clock=self.clock)

    @property
    def levels(self) -> ServiceLevels:
        assert self.services.service_levels is not None
        return self.services.service_levels

    def at(self, when: datetime) -> None:
        self.clock.now = when

    def queue(self, name: str = "general", hours: dict[str, Any] | None = None, **ooh: Any) -> int:
        queue_id = self.center.queue(name)
        self.center.rule(queue_id)
        if hours is not None:
            self.levels.admin.do_set_hours(SETUP, queue_id, {"calendar": hours, **ooh})
        return queue_id

    def policy(self, **data: Any) -> int:
        return self.levels.admin.do_save_policy(SETUP, {"name": f"p{len(self.levels.admin.policies())}", **data})

    def customer_writes(self, body: str, wa_id: str = "393470000001") -> int:
        self.clock.advance(0)  # the message's time is the clock's
        return self.center.customer_writes(body, wa_id)

    def agent_replies(self, conversation_id: int, agent_id: int, body: str = "Eccomi") -> int:
        return self.services.outbound.do_send(conversation_id, Text(body), origin=f"agent:{agent_id}").message_id

    def customer_taps(self, wa_id: str, reply: dict[str, Any], context_message_id: int, *,
                      kind: str = "list_reply") -> None:
        ts = int(self.clock.now.timestamp())
        with self.services.engine.begin() as conn:  # the survey went out: give it Meta's id
            conn.execute(messages.update().where(messages.c.id == context_message_id)
                         .values(external_id=f"wamid.out.{context_message_id}"))
        contact = payloads.contact(wa_id, "Cliente")
        if kind == "button":
            message = payloads.template_button(wa_id, reply["payload"], reply["text"], PNID,
                                               f"wamid.out.{context_message_id}", ts)
        else:
            message = payloads.interactive_reply(wa_id, kind, reply, PNID, f"wamid.out.{context_message_id}", ts)
        store(self.services, payloads.encode(payloads.envelope(WABA, PNID, "15550783881", contacts=[contact],
                                                               messages=[message])))
        self.services.delivery_worker.drain()

    def set_language(self, wa_id: str, language: str) -> None:
        with self.services.engine.begin() as conn:
            cid = conn.execute(select(contact_identities.c.contact_id)
                               .where(contact_identities.c.value == wa_id)).scalar_one()
            conn.execute(contacts.update().where(contacts.c.id == cid).values(language=language))

"""A small organisation for access tests: two channels, two departments, people and conversations."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from centralino.config import Settings
from centralino.demo_access import SETUP
from centralino.domain.access import Role
from centralino.services import Services
from centralino.storage.tables import contact_identities, conversations
from tests.factories import PNID, PNID_2, WABA, WABA_2, both_channels, text_delivery
from tests.helpers import store

PASSWORD = "correct horse battery"


def cheap_hashing(settings: Settings) -> Settings:
    """argon2 at its minimum cost: the tests sign in a lot; the parameters are not what they test."""
    return settings.model_copy(update={"password_hash_time_cost": 1, "password_hash_memory_kib": 1024})


@dataclass(frozen=True)
class Org:
    care_channel: int
    sales_channel: int
    care: int  # department serving care_channel
    sales: int  # department serving sales_channel
    admin: int
    supervisor: int  # of care
    agent_care: int
    agent_sales: int
    care_conversation: int  # on care_channel
    sales_conversation: int  # on sales_channel
    assigned_conversation: int  # on sales_channel, assigned to agent_care

    def email(self, who: str) -> str:
        return f"{who}@example.com"


def _conversation(services: Services, wa_id: str) -> int:
    with services.engine.connect() as conn:
        return int(conn.execute(select(conversations.c.id).join(
            contact_identities, contact_identities.c.contact_id == conversations.c.contact_id)
            .where(contact_identities.c.value == wa_id)).scalar_one())


def build_org(services: Services) -> Org:
    care_channel, sales_channel = both_channels(services)
    now = int(time.time())
    store(services,
          text_delivery("393470000001", "assistenza", now, "wamid.CARE", pnid=PNID, waba=WABA),
          text_delivery("447700000002", "sales", now, "wamid.SALES", pnid=PNID_2, waba=WABA_2),
          text_delivery("447700000003", "assigned", now, "wamid.ASSIGNED", pnid=PNID_2, waba=WABA_2))
    services.delivery_worker.drain()
    admin = services.admin
    care = int(admin.do_create_department(SETUP, "Care", channel_ids=[care_channel])["id"])
    sales = int(admin.do_create_department(SETUP, "Sales", channel_ids=[sales_channel])["id"])
    ids = {}
    for who, role, departments in (("admin", Role.ADMIN, []), ("supervisor", Role.SUPERVISOR, [care]),
                                   ("agent_care", Role.AGENT, [care]), ("agent_sales", Role.AGENT, [sales])):
        ids[who] = int(admin.do_create_user(SETUP, email=f"{who}@example.com", display_name=who, role=role,
                                            password=PASSWORD, department_ids=departments)["id"])
    assigned = _conversation(services, "447700000003")
    with services.engine.begin() as conn:
        conn.execute(update(conversations).where(conversations.c.id == assigned)
                     .values(assignee_user_id=ids["agent_care"]))
    return Org(care_channel, sales_channel, care, sales, ids["admin"], ids["supervisor"], ids["agent_care"],
               ids["agent_sales"], _conversation(services, "393470000001"), _conversation(services, "447700000002"),
               assigned)


def sign_in(client: Any, who: str) -> dict[str, str]:
    """Sign `who`@example.com in over the API (any earlier session of the client dropped); the CSRF header."""
    client.cookies.clear()
    answer = client.post("/api/v1/auth/sign-in", json={"email": f"{who}@example.com", "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"X-CSRF-Token": answer.json()["csrf_token"]}

"""The demo's routing seed: queue, rule, skills, capacity, hours and SLA policy once (a restart seeds nothing
twice), and a WhatsApp customer's conversation reaches the demo agent once she is online."""

from __future__ import annotations

from sqlalchemy import func, select

from centralino.demo_access import DEMO_USERS, SETUP, ensure_demo_users
from centralino.demo_routing import QUEUE, ensure_demo_routing
from centralino.storage import users as user_repo
from centralino.storage.tables_routing import agent_capacity, agent_skills, routing_queues, routing_rules
from centralino.storage.tables_service_levels import queue_hours, sla_policies, sla_timers
from tests.routing_helpers import build_center


def test_seeds_once_and_routes_whatsapp_to_the_demo_agent(services):
    center = build_center(services)  # a WhatsApp channel the customers write to, on a clock
    ensure_demo_users(services)
    assert ensure_demo_routing(services) is True
    assert ensure_demo_routing(services) is False  # a restart
    giulia_email = next(u.email for u in DEMO_USERS if u.email.startswith("giulia"))
    with services.engine.connect() as conn:
        giulia = int(user_repo.user_by_email(conn, giulia_email)["id"])
        queue_id = int(conn.execute(select(routing_queues.c.id).where(routing_queues.c.name == QUEUE)).scalar_one())
        for table in (routing_queues, routing_rules, queue_hours, sla_policies):
            assert conn.execute(select(func.count()).select_from(table)).scalar_one() == 1, table.name
        skills = dict(conn.execute(select(agent_skills.c.skill, agent_skills.c.level)
                                   .where(agent_skills.c.user_id == giulia)).all())
        capacity = conn.execute(select(agent_capacity.c.max_active).where(agent_capacity.c.user_id == giulia,
                                                                   agent_capacity.c.channel_kind == "whatsapp")).scalar()
        policy = conn.execute(select(sla_policies)).mappings().one()
    assert skills == {"language:it": 5, "language:en": 3} and capacity == 5
    assert (policy["queue_id"], policy["first_response_s"], policy["resolution_s"]) == (queue_id, 300, 28800)

    conversation = center.customer_writes("Buongiorno, dov'è il mio ordine?")
    assert center.item(conversation)["queue_id"] == queue_id
    assert center.item(conversation)["state"] == "waiting"
    services.routing.do_set_presence(SETUP, giulia, "online")
    center.route()
    assert center.item(conversation)["state"] == "offered" and center.assignee(conversation) == giulia
    with services.engine.connect() as conn:
        kinds = {r.kind for r in conn.execute(select(sla_timers.c.kind).where(
            sla_timers.c.conversation_id == conversation))}
    assert {"first_response", "resolution"} <= kinds

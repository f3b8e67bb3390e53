"""The demo's routing and service levels (docs/routing.md, docs/service-levels.md): queue "Assistenza
WhatsApp" of the customer-care department takes every WhatsApp conversation, the demo agents have language
skills and room for five WhatsApp chats, the queue is always open, and an SLA policy times it (first response
5 minutes, resolution 8 hours). Seeded before the customers write, through the same admin use cases as the
desk's pages; a restarted demo finds the queue by name and seeds nothing twice."""

from __future__ import annotations

from sqlalchemy import select

from centralino.demo_access import CUSTOMER_CARE, DEMO_USERS, SETUP
from centralino.domain.access import Role
from centralino.services import Services
from centralino.storage import users as user_repo
from centralino.storage.tables_routing import routing_queues

QUEUE = "Assistenza WhatsApp"
SKILLS = {"it": [{"skill": "language:it", "level": 5}, {"skill": "language:en", "level": 3}],
          "en": [{"skill": "language:en", "level": 5}, {"skill": "language:it", "level": 2}]}
ALWAYS_OPEN = {"time_zone": "Europe/Rome",
               "hours": {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}
POLICY = {"name": "Demo WhatsApp", "priority": None, "first_response_s": 300, "next_response_s": None,
          "resolution_s": 8 * 3600, "warn_percent": 80, "escalation": [{"on": "warning", "action": "alert_supervisor"}]}


def ensure_demo_routing(services: Services) -> bool:
    """Seed the queue, rule, skills, capacity, hours and SLA policy unless the queue exists; False if it did."""
    if services.routing is None:
        return False
    with services.engine.connect() as conn:
        if conn.execute(select(routing_queues.c.id).where(routing_queues.c.name == QUEUE)).first() is not None:
            return False
        department = user_repo.department_by_name(conn, CUSTOMER_CARE)
        agents = {u.language.value: user_repo.user_by_email(conn, u.email) for u in DEMO_USERS if u.role is Role.AGENT}
    if department is None:
        return False
    # a high position: rules added later in the desk (position 0) are looked at first
    queue_id = services.routing.do_save_queue(SETUP, {"name": QUEUE, "department_id": department,
                                                      "offer_timeout_s": 3600})
    services.routing.do_save_rule(SETUP, {"name": "WhatsApp", "queue_id": queue_id, "position": 1000,
                                          "conditions": {"channel_kind": ["whatsapp"]}})
    for language, user in agents.items():
        if user is not None:
            services.routing.do_set_skills(SETUP, int(user["id"]), SKILLS[language])
            services.routing.do_set_capacity(SETUP, int(user["id"]), {"whatsapp": 5})
    if services.service_levels is not None:
        services.service_levels.admin.do_set_hours(SETUP, queue_id, {"calendar": ALWAYS_OPEN, "out_of_hours": "keep"})
        services.service_levels.admin.do_save_policy(SETUP, {**POLICY, "queue_id": queue_id})
    return True

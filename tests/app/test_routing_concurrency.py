"""No double assignment under concurrency: three real router PROCESSES on one PostgreSQL database route 500
items to 50 agents at once. Every item is given once, no agent goes over capacity, and the load counters
agree with the items."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter

import pytest
from sqlalchemy import select

from centralino.config import Settings
from centralino.demo_access import SETUP
from centralino.domain.access import Role
from centralino.services import build_services
from centralino.storage.tables import conversations, events
from centralino.storage.tables_routing import agent_capacity, routing_items
from tests.factories import text_delivery, whatsapp_channel
from tests.helpers import store

pytestmark = pytest.mark.postgres

ROUTER = """
import sys, time
from centralino.config import Settings
from centralino.services import build_services
services = build_services(Settings(_env_file=None, database_url=sys.argv[1], run_workers=False,
                                   migrate_on_start=False), migrate=False)
services.routing.service.batch = 40  # small rounds: the processes interleave many times
start = float(sys.argv[2])
while time.time() < start:
    time.sleep(0.005)
idle = total = 0
while idle < 5:
    done = services.routing.service.do_route_once()
    total += done
    idle = idle + 1 if done == 0 else 0
print(total)
services.dispose()
"""


@pytest.fixture
def pg_services(pg_database, tmp_path):
    from tests.conftest import _truncate_pg

    _truncate_pg(pg_database)
    svc = build_services(Settings(_env_file=None, database_url=pg_database, media_dir=tmp_path / "media",  # type: ignore[call-arg]
                                  run_workers=False, migrate_on_start=False), migrate=False)
    yield svc
    svc.dispose()


def test_three_router_processes_never_assign_an_item_twice(pg_services):
    services = pg_services
    assert services.routing is not None
    channel = whatsapp_channel(services)
    department = int(services.admin.do_create_department(SETUP, "Care", channel_ids=[channel])["id"])
    queue = services.routing.do_save_queue(SETUP, {"name": "all", "department_id": department})
    services.routing.do_save_rule(SETUP, {"name": "all", "queue_id": queue, "conditions": {}})
    agents = []
    for i in range(50):
        uid = int(services.admin.do_create_user(SETUP, email=f"a{i}@example.com", display_name=f"a{i}",
                                                 role=Role.AGENT, password=None, department_ids=[department])["id"])
        services.routing.do_set_capacity(SETUP, uid, {"whatsapp": 8})
        services.routing.do_set_presence(SETUP, uid, "online")
        agents.append(uid)
    now = int(time.time())
    store(services, *(text_delivery(f"39347{i:07d}", "ciao", now, f"wamid.c{i}") for i in range(500)))
    services.delivery_worker.drain()
    with services.engine.connect() as conn:
        assert len(conn.execute(select(routing_items.c.id).where(routing_items.c.state == "waiting")).all()) == 500

    start = time.time() + 2.0  # all three start routing at the same moment
    url = services.settings.database_url
    procs = [subprocess.Popen([sys.executable, "-c", ROUTER, url, str(start)], stdout=subprocess.PIPE, text=True)
             for _ in range(3)]
    outputs = [p.communicate(timeout=240)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0]
    per_process = [int(out.strip().splitlines()[-1]) for out in outputs]
    assert sum(per_process) == 400
    print("assigned per router process:", per_process)

    with services.engine.connect() as conn:
        items = conn.execute(select(routing_items)).mappings().all()
        assigned_events = [e["payload"] for e in conn.execute(
            select(events.c.payload).where(events.c.type == "routing.item_assigned")).mappings()]
        load = {int(r.user_id): (int(r.active), int(r.max_active)) for r in conn.execute(select(agent_capacity))}
        assignees = dict(conn.execute(select(conversations.c.id, conversations.c.assignee_user_id)).all())
    offered = [i for i in items if i["state"] == "offered"]
    assert len(offered) == 400  # 50 agents x 8 slots: every slot filled, the other 100 wait
    assert sum(1 for i in items if i["state"] == "waiting") == 100
    per_item = Counter(p["item_id"] for p in assigned_events)
    assert len(per_item) == 400 and max(per_item.values()) == 1  # never given twice
    per_agent = Counter(i["assigned_to"] for i in offered)
    assert max(per_agent.values()) <= 8
    assert all(load[a] == (per_agent[a], 8) for a in agents)  # the counters agree with the items
    assert all(assignees[i["conversation_id"]] == i["assigned_to"] for i in offered)
    assert all(assignees[i["conversation_id"]] is None for i in items if i["state"] == "waiting")

"""Phase 3 of bench.routing: the real RoutingService on a fresh PostgreSQL database, several router processes
at once; assignments/s end to end and double assignments counted from what was stored."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from random import Random
from typing import Any

from sqlalchemy import create_engine, insert, select, text, update

from centralino.domain.routing import AgentState
from centralino.domain.routing_rules import QueueSpec
from centralino.storage.db import make_engine, upgrade
from centralino.storage.tables import (
    channels,
    contacts,
    conversations,
    department_members,
    departments,
    events,
    users,
)
from centralino.storage.tables_routing import (
    agent_capacity,
    agent_presence,
    agent_skills,
    routing_items,
    routing_queues,
)

ROUTER = """
import sys, time, json
from centralino.config import Settings
from centralino.services import build_services
services = build_services(Settings(_env_file=None, database_url=sys.argv[1], run_workers=False,
                                   migrate_on_start=False), migrate=False)
start = float(sys.argv[2])
while time.time() < start:
    time.sleep(0.002)
began = time.time()
idle = total = 0
last = began
while idle < 3:
    done = services.routing.service.do_route_once()
    total += done
    if done:
        last = time.time()
    idle = idle + 1 if done == 0 else 0
print(json.dumps({"assigned": total, "began": began, "last": last}))
services.dispose()
"""


def _seed(url: str, agents: list[AgentState], queues: dict[int, QueueSpec], items: int, rng: Random) -> None:
    now = datetime.now(UTC)
    engine = make_engine(url)
    with engine.begin() as conn:
        channel = conn.execute(insert(channels).values(
            kind="whatsapp", name="bench", address="1", config={}, created_at=now).returning(channels.c.id)).scalar()
        dept_ids = {d: conn.execute(insert(departments).values(name=f"d{d}", created_at=now, updated_at=now)
                                    .returning(departments.c.id)).scalar() for d in range(1, 6)}
        user_ids = {}
        for a in agents:
            user_ids[a.user_id] = conn.execute(insert(users).values(
                email=f"agent{a.user_id}@bench.test", display_name=f"agent {a.user_id}", role="agent", active=True,
                language="it", created_at=now, updated_at=now).returning(users.c.id)).scalar()
        conn.execute(insert(department_members), [{"department_id": dept_ids[d], "user_id": user_ids[a.user_id]}
                                                  for a in agents for d in a.departments])
        conn.execute(insert(agent_skills), [{"user_id": user_ids[a.user_id], "skill": k, "level": v}
                                            for a in agents for k, v in a.skills.items()])
        conn.execute(insert(agent_capacity), [{"user_id": user_ids[a.user_id], "channel_kind": "whatsapp",
                                               "max_active": a.capacity["whatsapp"], "active": 0} for a in agents])
        conn.execute(insert(agent_presence), [{"user_id": user_ids[a.user_id], "state": "online", "since": now,
                                               "idle_since": now} for a in agents])
        queue_ids = {}
        for q in queues.values():
            queue_ids[q.id] = conn.execute(insert(routing_queues).values(
                name=q.name, department_id=dept_ids[q.department_id] if q.department_id else None,
                priority=q.priority, offer_timeout_s=q.offer_timeout_s, active=True, created_at=now, updated_at=now,
                required_skills=[{"skill": s.skill, "min_level": s.min_level} for s in q.required],
                relaxation=[{k: v for k, v in vars(s).items() if v not in (None, False)} | {"after_s": s.after_s}
                            for s in q.relaxation]).returning(routing_queues.c.id)).scalar()
        for q in queues.values():
            if q.overflow_queue_id:
                conn.execute(update(routing_queues).where(routing_queues.c.id == queue_ids[q.id])
                             .values(overflow_queue_id=queue_ids[q.overflow_queue_id]))
        leaf = [q for q in queues.values() if q.required and q.relaxation]
        contact_ids = [r.id for r in conn.execute(insert(contacts).returning(contacts.c.id),
                                                  [{"created_at": now, "updated_at": now, "attributes": {}}
                                                   for _ in range(items)])]
        conv_ids = [r.id for r in conn.execute(insert(conversations).returning(conversations.c.id), [
            {"contact_id": c, "channel_id": channel, "status": "open", "created_at": now} for c in contact_ids])]
        rows = []
        for contact_id, conv_id in zip(contact_ids, conv_ids, strict=True):
            q = rng.choice(leaf)
            entered = now - timedelta(seconds=rng.randint(0, 299))
            rows.append({"conversation_id": conv_id, "open_conversation_id": conv_id, "queue_id": queue_ids[q.id],
                         "channel_kind": "whatsapp", "contact_id": contact_id, "priority": q.priority,
                         "enqueued_at": entered, "queue_entered_at": entered, "state": "waiting",
                         "owner_kind": "queue", "excluded_user_ids": [], "attempts": 0})
        conn.execute(insert(routing_items), rows)
    engine.dispose()


def _check(url: str) -> dict[str, Any]:
    engine = make_engine(url)
    with engine.connect() as conn:
        assigned = Counter(p["item_id"] for (p,) in conn.execute(
            select(events.c.payload).where(events.c.type == "routing.item_assigned")))
        offered = conn.execute(select(routing_items.c.id, routing_items.c.assigned_to, routing_items.c.conversation_id)
                               .where(routing_items.c.state == "offered")).all()
        load = {int(r.user_id): (int(r.active), int(r.max_active)) for r in conn.execute(select(agent_capacity))}
        assignees = dict(conn.execute(select(conversations.c.id, conversations.c.assignee_user_id)).all())
    engine.dispose()
    per_agent = Counter(int(r.assigned_to) for r in offered)
    return {
        "double_assignments": sum(n - 1 for n in assigned.values() if n > 1),
        "agents_over_capacity": sum(1 for active, cap in load.values() if active > cap),
        "load_counter_mismatches": sum(1 for uid, (active, _) in load.items() if active != per_agent.get(uid, 0)),
        "assignee_mismatches": sum(1 for r in offered if assignees.get(r.conversation_id) != r.assigned_to),
        "items_assigned": len(offered),
    }


def run_db_phase(admin_url: str, agents: list[AgentState], queues: dict[int, QueueSpec], items: int,
                 processes: int, rng: Random) -> dict[str, Any]:
    name = f"bench_routing_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    try:
        upgrade(url)
        _seed(url, agents, queues, items, rng)
        start = time.time() + 3.0
        procs = [subprocess.Popen([sys.executable, "-c", ROUTER, url, str(start)], stdout=subprocess.PIPE, text=True)
                 for _ in range(processes)]
        import json

        outs = [json.loads(p.communicate(timeout=600)[0].strip().splitlines()[-1]) for p in procs]
        total = sum(o["assigned"] for o in outs)
        elapsed = max(o["last"] for o in outs) - min(o["began"] for o in outs)
        checked = _check(url)
        return {"assignments_per_s": round(total / elapsed, 1) if elapsed > 0 else None, "db_assigned": total,
                "db_waiting_items": items, "db_processes": processes, "db_elapsed_s": round(elapsed, 3),
                "db_assigned_per_process": [o["assigned"] for o in outs], **checked}
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

"""Routing benchmark: a simulated day, then the real router on PostgreSQL.

    python -m bench.routing [--quick]

1. The day (in memory, the router's own domain code: centralino.domain.routing): 500 agents in 5 departments
   with language and product skills (levels 1-5) and WhatsApp capacity 3-5, 20 queues (each a language + a
   product with minimum levels, relaxing after 60 s to level 2, after 180 s to any department agent, after
   300 s overflowing to the department's general queue), 50,000 conversations arriving 08:00-20:00 on a
   curve with a morning and an afternoon peak; agents handle each for a random time (log-normal, median 15
   min) and release it. A routing round runs every 5 simulated seconds over every waiting item. Measured: the
   decision latency (one item: its requirement at its waiting time + choosing the agent + its share of the
   round's index build), assignments, skill_match_ratio (assigned to an agent meeting the item's requirement
   at its relaxation level at that moment), wait times, and the same day routed by naive round robin (the
   next agent with a free slot, skills ignored) as the baseline.
2. Decision latency at the target's point: 500 agents with free slots and 2,000 waiting items.
3. The real router (app/routing.py RoutingService, SKIP LOCKED + conditional capacity slots) on a fresh
   PostgreSQL database: 500 agents, 20 queues, 5,000 waiting items routed by --processes router processes at
   once; assignments/s end to end (database included) and double assignments counted from the stored events.

--quick: a tenth of the day (5,000 conversations over 1.2 h, same intensity) and 1,000 items in phase 3.
The last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import platform
import random
import statistics
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from centralino.domain.routing import AgentState, Router, WaitingItem, meets, order, requirement_at
from centralino.domain.routing_rules import QueueSpec, RelaxationStep, SkillRequirement

LANGS = ("it", "en", "de", "fr", "es")
PRODUCTS = ("mortgages", "cards", "loans", "insurance", "savings", "trading", "pensions", "accounts")
DEPARTMENTS = 5
START = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
ROUND_S = 5.0  # simulated seconds between routing rounds (work arriving meanwhile waits for the next one)
TARGETS = {"decision_p99_ms": 20.0, "assignments_per_s": 500.0, "double_assignments": 0}


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def build_world(rng: random.Random, agents_n: int = 500) -> tuple[list[AgentState], dict[int, QueueSpec]]:
    queues: dict[int, QueueSpec] = {}
    qid = 1
    for dept in range(1, DEPARTMENTS + 1):
        general = qid + 3
        for k in range(3):
            lang = LANGS[(dept + k) % len(LANGS)] if k else "it"
            product = PRODUCTS[(dept * 3 + k) % len(PRODUCTS)]
            queues[qid] = QueueSpec(
                qid, f"d{dept}-{lang}-{product}", dept, 10 - k,
                (SkillRequirement(f"language:{lang}", rng.randint(2, 4)),
                 SkillRequirement(f"product:{product}", rng.randint(2, 4))),
                (RelaxationStep(60, min_level=2), RelaxationStep(180, any_department_agent=True),
                 RelaxationStep(300, overflow=True)), general, 120)
            qid += 1
        queues[qid] = QueueSpec(qid, f"d{dept}-general", dept, 0, (SkillRequirement("language:it", 1),), (),
                                None, 120)
        qid += 1
    agents = []
    for uid in range(1, agents_n + 1):
        # agents are trained for their departments' queues (uneven levels), plus a stray skill or two
        depts = frozenset(rng.sample(range(1, DEPARTMENTS + 1), rng.choice((1, 1, 1, 2))))
        skills = {"language:it": rng.randint(2, 5)}
        for q in queues.values():
            if q.department_id in depts:
                for req in q.required:
                    skills[req.skill] = max(skills.get(req.skill, 0), rng.choice((1, 2, 3, 3, 4, 4, 5)))
        for product in rng.sample(PRODUCTS, 1):
            skills.setdefault(f"product:{product}", rng.randint(1, 3))
        agents.append(AgentState(uid, skills, depts, {"whatsapp": rng.randint(3, 5)}, {"whatsapp": 0},
                                 START - timedelta(minutes=rng.randint(0, 60))))
    return agents, queues


def arrival_times(rng: random.Random, total: int, day_s: float) -> list[float]:
    """Arrivals on a two-peak intraday curve (10:30 and 15:00 on a 12 h day), scaled to `day_s`."""
    times: list[float] = []
    while len(times) < total:
        u = rng.random()
        if u < 0.4:
            t = rng.gauss(0.21, 0.07)  # morning peak (~10:30)
        elif u < 0.8:
            t = rng.gauss(0.58, 0.08)  # afternoon peak (~15:00)
        else:
            t = rng.random()  # the rest of the day
        if 0.0 <= t < 1.0:
            times.append(t * day_s)
    return sorted(times)


@dataclass
class DayResult:
    assignments: int = 0
    skill_matched: int = 0
    full_matched: int = 0
    decisions_ms: list[float] = field(default_factory=list)
    decisions_ms_at_2000: list[float] = field(default_factory=list)
    waits_s: list[float] = field(default_factory=list)
    max_waiting: int = 0
    double_assignments: int = 0
    over_capacity: int = 0
    overflowed: int = 0
    wall_s: float = 0.0


def simulate_day(rng: random.Random, agents: list[AgentState], queues: dict[int, QueueSpec], total: int,
                 day_s: float, *, baseline: bool) -> DayResult:
    """Route one day; `baseline`: naive round robin instead of the router."""
    arrivals = deque(arrival_times(rng, total, day_s))
    handle = [rng.lognormvariate(math.log(900), 0.6) for _ in range(total)]
    leaf = [q for q in queues.values() if q.required and q.relaxation]
    item_queue = [rng.choice(leaf).id for _ in range(total)]
    active = {a.user_id: 0 for a in agents}
    capacity = {a.user_id: a.capacity["whatsapp"] for a in agents}
    by_id = {a.user_id: a for a in agents}
    last_work = {a.user_id: a.idle_since or START for a in agents}
    waiting: dict[int, WaitingItem] = {}
    enqueued: dict[int, datetime] = {}
    releases: list[tuple[float, int, int]] = []  # (time, agent, item)
    owner: dict[int, int] = {}
    rr = 0
    router = Router(agents)  # kept across rounds: releases are applied to it, as a long-lived router would
    out = DayResult()
    next_id = 0
    began = time.perf_counter()
    t = 0.0
    while arrivals or waiting or releases:
        now = START + timedelta(seconds=t)
        while arrivals and arrivals[0] <= t:
            arrivals.popleft()
            queue = queues[item_queue[next_id]]
            waiting[next_id] = WaitingItem(next_id, queue.id, "whatsapp", queue.priority, now)
            enqueued[next_id] = now
            next_id += 1
        while releases and releases[0][0] <= t:
            _, agent_id, item_id = heapq.heappop(releases)
            active[agent_id] -= 1
            del owner[item_id]
            last_work[agent_id] = now
            router.release(agent_id, "whatsapp", now)
        out.max_waiting = max(out.max_waiting, len(waiting))
        if waiting:
            n_waiting = len(waiting)
            if baseline:
                picks, rr = _round_robin(list(waiting.values()), agents, active, capacity, rr, queues, now)
                timings: list[float] = []
            else:
                router.new_round()
                picks, timings = _route(list(waiting.values()), router, queues, now, waiting, out)
            for ms in timings:
                out.decisions_ms.append(ms)
                if n_waiting >= 2000:
                    out.decisions_ms_at_2000.append(ms)
            for item_id, agent_id, req in picks:
                item = waiting.pop(item_id)
                if item_id in owner:
                    out.double_assignments += 1
                owner[item_id] = agent_id
                active[agent_id] += 1
                if active[agent_id] > capacity[agent_id]:
                    out.over_capacity += 1
                last_work[agent_id] = now
                out.assignments += 1
                out.skill_matched += _meets(by_id[agent_id], req)
                full = requirement_at(queues[item.queue_id], 0)
                out.full_matched += _meets(by_id[agent_id], full)
                out.waits_s.append((now - enqueued[item_id]).total_seconds())
                heapq.heappush(releases, (t + handle[item_id], agent_id, item_id))
        t += ROUND_S
    out.wall_s = time.perf_counter() - began
    return out


def _meets(agent: AgentState, req: object) -> bool:
    from centralino.domain.routing import Requirement

    assert isinstance(req, Requirement)
    if req.department_id is not None and req.department_id not in agent.departments:
        return False
    return meets(agent.skills, req.skills)


def _route(items: list[WaitingItem], agents: list[AgentState] | Router, queues: dict[int, QueueSpec], now: datetime,
           waiting: dict[int, WaitingItem], out: DayResult) -> tuple[list[tuple[int, int, object]], list[float]]:
    """choose() unrolled so each decision is timed (with its share of building the agent index, when built
    here, and of ordering the items); overflow moves items as app/routing.py does."""
    t0 = time.perf_counter()
    router = agents if isinstance(agents, Router) else Router(agents)
    ordered = order(items)
    build_ms = (time.perf_counter() - t0) * 1000 / max(1, len(ordered))
    picks: list[tuple[int, int, object]] = []
    timings: list[float] = []
    for item in ordered:
        t1 = time.perf_counter()
        queue = queues[item.queue_id]
        req = requirement_at(queue, (now - item.waiting_since).total_seconds())
        if req.overflow and queue.overflow_queue_id is not None:
            waiting[item.id] = WaitingItem(item.id, queue.overflow_queue_id, item.channel_kind, item.priority, now)
            out.overflowed += 1
            continue
        agent_id = router.pick(item, req)
        timings.append((time.perf_counter() - t1) * 1000 + build_ms)
        if agent_id is not None:
            picks.append((item.id, agent_id, req))
    return picks, timings


def _round_robin(items: list[WaitingItem], agents: list[AgentState], active: dict[int, int],
                 capacity: dict[int, int], rr: int, queues: dict[int, QueueSpec],
                 now: datetime) -> tuple[list[tuple[int, int, object]], int]:
    picks: list[tuple[int, int, object]] = []
    n = len(agents)
    taken = dict(active)
    for item in sorted(items, key=lambda i: (i.waiting_since, i.id)):
        for step in range(n):
            agent = agents[(rr + step) % n]
            if taken[agent.user_id] < capacity[agent.user_id]:
                taken[agent.user_id] += 1
                rr = (rr + step + 1) % n
                req = requirement_at(queues[item.queue_id], (now - item.waiting_since).total_seconds())
                picks.append((item.id, agent.user_id, req))
                break
        else:
            break  # every agent is full
    return picks, rr


def decision_latency_at_2000(rng: random.Random, agents: list[AgentState], queues: dict[int, QueueSpec],
                             rounds: int) -> list[float]:
    """500 agents with free slots, 2,000 waiting items of every queue and waiting time: per-decision ms."""
    leaf = [q for q in queues.values() if q.required and q.relaxation]
    timings: list[float] = []
    for r in range(rounds):
        now = START + timedelta(hours=3, seconds=r)
        items = [WaitingItem(i, rng.choice(leaf).id, "whatsapp", rng.randint(0, 10),
                             now - timedelta(seconds=rng.randint(0, 299))) for i in range(2000)]
        snapshot = [AgentState(a.user_id, a.skills, a.departments, a.capacity, {"whatsapp": rng.randint(0, 2)},
                               a.idle_since) for a in agents]
        _, per = _route(items, snapshot, queues, now, {}, DayResult())
        timings.extend(per)
    return timings


def summarise(day: DayResult) -> dict[str, float]:
    return {
        "assignments": day.assignments,
        "skill_match_ratio": round(day.skill_matched / max(1, day.assignments), 4),
        "full_skill_match_ratio": round(day.full_matched / max(1, day.assignments), 4),
        "wait_p50_s": percentile(day.waits_s, 0.5), "wait_p90_s": percentile(day.waits_s, 0.9),
        "wait_mean_s": round(statistics.fmean(day.waits_s), 1) if day.waits_s else 0.0,
        "max_waiting": day.max_waiting, "double_assignments": day.double_assignments,
        "over_capacity": day.over_capacity, "wall_s": round(day.wall_s, 1),
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.routing", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--processes", type=int, default=2, help="router processes in phase 3")
    p.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    p.add_argument("--skip-db", action="store_true")
    a = p.parse_args(argv)
    total, day_s, db_items = (5_000, 43_200 / 10, 1_000) if a.quick else (50_000, 43_200.0, 5_000)
    rng = random.Random(a.seed)
    agents, queues = build_world(rng)
    print(f"routing bench: {len(agents)} agents, {len(queues)} queues, {total} conversations over "
          f"{day_s / 3600:.1f} h ({platform.python_implementation()} {platform.python_version()})", flush=True)
    routed = simulate_day(random.Random(a.seed + 1), agents, queues, total, day_s, baseline=False)
    ours = summarise(routed)
    print("  router:      ", json.dumps(ours), flush=True)
    base = summarise(simulate_day(random.Random(a.seed + 1), agents, queues, total, day_s, baseline=True))
    print("  round robin: ", json.dumps(base), flush=True)
    at_2000 = decision_latency_at_2000(random.Random(a.seed + 2), agents, queues, 3 if a.quick else 10)
    print(f"  decisions with 2,000 waiting: {len(at_2000)}, p50 {percentile(at_2000, 0.5):.3f} ms, "
          f"p99 {percentile(at_2000, 0.99):.3f} ms", flush=True)
    result: dict[str, object] = {
        "decision_p50_ms": round(percentile(at_2000, 0.5), 4),
        "decision_p99_ms": round(percentile(at_2000, 0.99), 4),
        "day_decision_p50_ms": round(percentile(routed.decisions_ms, 0.5), 4),
        "day_decision_p99_ms": round(percentile(routed.decisions_ms, 0.99), 4),
        "day_decisions_at_2000_waiting": len(routed.decisions_ms_at_2000),
        "skill_match_ratio": ours["skill_match_ratio"],
        "full_skill_match_ratio": ours["full_skill_match_ratio"],
        "baseline_skill_match_ratio": base["skill_match_ratio"],
        "baseline_full_skill_match_ratio": base["full_skill_match_ratio"],
        "full_skill_match_vs_baseline": round(
            ours["full_skill_match_ratio"] / max(1e-9, base["full_skill_match_ratio"]), 3),
        "wait_p90_s": ours["wait_p90_s"], "baseline_wait_p90_s": base["wait_p90_s"],
        "day_assignments": ours["assignments"], "day_max_waiting": ours["max_waiting"],
        "sim_double_assignments": ours["double_assignments"], "sim_over_capacity": ours["over_capacity"],
        "conversations": total, "agents": len(agents), "queues": len(queues), "quick": a.quick,
    }
    if not a.skip_db:
        from bench.routing_db import run_db_phase

        db = run_db_phase(a.pg_url, agents, queues, db_items, a.processes, random.Random(a.seed + 3))
        print("  postgres:    ", json.dumps(db), flush=True)
        result |= db
    else:
        result |= {"assignments_per_s": None, "double_assignments": routed.double_assignments}
    result["targets_met"] = {
        "decision_p99_ms<20": result["decision_p99_ms"] < TARGETS["decision_p99_ms"],  # type: ignore[operator]
        "assignments_per_s>=500": (result["assignments_per_s"] or 0) >= TARGETS["assignments_per_s"],  # type: ignore[operator]
        "double_assignments==0": result["double_assignments"] == 0,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()

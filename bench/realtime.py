"""Realtime benchmark: webhook acknowledged -> message visible in connected desk sessions.

    python -m bench.realtime [--quick]

Production shape: a fresh PostgreSQL database, one `centralino serve` web process and one `centralino worker`
process whose events reach the web process's streams through Redis (`--redis-url`; docs/desk.md); the worker
hears stored webhooks through PostgreSQL NOTIFY. `--single`: one `centralino serve` with the embedded workers
instead. The cores used by each process are reported. A WhatsApp channel, a department serving it, N agents in it,
created through the admin use cases. Each agent signs in (`POST /api/v1/auth/sign-in`, the session
cookie) and holds `GET /desk/events` open, reconnecting 1 s after each 25 s stream ends, like the page.

Load: signed one-message deliveries from distinct customers POSTed open-loop at --rate to the webhook;
the time each 200 arrives is the acknowledgement. Per agent, the time the `message.received` event
naming the message arrives (ack->event). A sample of agents also fetches the fragment the conversation
page fetches on that event (`/desk/conversations/{id}/messages/{mid}`), for every --fragment-every'th
message, each by one sample agent (as if it had that conversation open): ack->fragment. Misses: a
message acknowledged while an agent's stream was connected (and stayed connected 1 s after) that never
reached it; messages that fell in a reconnect gap are counted apart (the page re-reads its view after
reconnecting). The load with all agents outlasts a stream (25 s), so every agent reconnects at least once.

Baseline in the same run: the same load with 1 agent connected (`p99_ratio` = p99 with N / with 1).
The client is one asyncio process (raw streams for the event streams, httpx for sign-in and fragments).
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvloop
from sqlalchemy import select

from bench import common
from bench.ingest import (
    CpuMeter,
    Proc,
    Runner,
    code_version,
    fmt_cpu,
    free_port,
    peak_rss_mb,
    proc_cpu_s,
    say,
    server_env,
)
from bench.loadgen import _connect, _exchange
from centralino.config import Mode, Settings
from centralino.demo_access import SETUP
from centralino.domain.access import Role
from centralino.services import build_services
from centralino.storage import channels as channel_repo
from centralino.storage.db import make_engine
from centralino.storage.tables import messages

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
PASSWORD = "bench-agent-password"
RECEIVED = re.compile(rb'"type":"message\.received","conversation_id":(\d+),"message_id":(\d+)')
WAMID = re.compile(r"wamid\.BENCH\w+?(\d{12})$")
TARGET_P99_MS = 300.0
# signing in is not what is measured: a cheap hash keeps 200 sign-ins short
HASH_ENV = {"CENTRALINO_PASSWORD_HASH_TIME_COST": "1", "CENTRALINO_PASSWORD_HASH_MEMORY_KIB": "1024"}


@dataclass
class Agent:
    email: str
    cookie: str = ""
    fetch_slot: int | None = None  # sample agents: which of the fetched messages this one fetches
    events: dict[int, float] = field(default_factory=dict)  # message id -> arrival time
    fragments: dict[int, float] = field(default_factory=dict)
    connected: list[list[float]] = field(default_factory=list)  # [first byte, end] per stream
    streams: int = 0
    errors: int = 0


class Client:
    """The agents' browsers and the webhook sender, in this process."""

    def __init__(self, port: int, agents: list[Agent], sample: int, fragment_every: int) -> None:
        self.port = port
        self.agents = agents
        self.sample = sample
        self.every = fragment_every
        self.stop = asyncio.Event()
        self.http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30,
                                      limits=httpx.Limits(max_connections=64))
        self.fetches: set[asyncio.Task[None]] = set()

    async def sign_in(self, agent: Agent) -> None:
        r = await self.http.post("/api/v1/auth/sign-in", json={"email": agent.email, "password": PASSWORD})
        r.raise_for_status()
        agent.cookie = r.cookies["centralino_session"]

    async def stream_forever(self, agent: Agent) -> None:
        while not self.stop.is_set():
            try:
                await self.stream_once(agent)
            except (OSError, asyncio.IncompleteReadError):
                agent.errors += 1
            if not self.stop.is_set():
                await asyncio.sleep(1.0)  # the page's `retry: 1000`

    async def stream_once(self, agent: Agent) -> None:
        reader, writer = await _connect("127.0.0.1", self.port)
        interval: list[float] = []
        try:
            writer.write(f"GET /desk/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
                         f"Cookie: centralino_session={agent.cookie}\r\nConnection: close\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            if head[9:12] != b"200":
                raise OSError(f"stream answered {head[:12]!r}")
            agent.streams += 1
            buf = b""
            while not self.stop.is_set():
                chunk = await reader.read(65536)
                now = time.perf_counter()
                if not interval:
                    interval = [now, now]
                    agent.connected.append(interval)
                interval[1] = now
                if not chunk:
                    return
                buf += chunk
                cut = buf.rfind(b"\n\n") + 2
                if cut < 2:
                    continue
                for cid, mid in RECEIVED.findall(buf, 0, cut):
                    m = int(mid)
                    agent.events.setdefault(m, now)
                    if agent.fetch_slot is not None and m % self.every == 0 \
                            and m // self.every % self.sample == agent.fetch_slot:
                        task = asyncio.create_task(self.fetch(agent, int(cid), m))
                        self.fetches.add(task)
                        task.add_done_callback(self.fetches.discard)
                buf = buf[cut:]
        finally:
            if interval:
                interval[1] = time.perf_counter()
            writer.close()

    async def fetch(self, agent: Agent, cid: int, mid: int) -> None:
        try:
            r = await self.http.get(f"/desk/conversations/{cid}/messages/{mid}",
                                    headers={"Cookie": f"centralino_session={agent.cookie}"})
            if r.status_code == 200:
                agent.fragments[mid] = time.perf_counter()
            else:
                agent.errors += 1
        except httpx.HTTPError:
            agent.errors += 1

    async def send(self, requests: list[bytes], rate: float, acks: dict[int, float], first: int,
                   connections: int = 16) -> int:
        """Open loop: delivery i is due at start + i/rate, on one of `connections` keep-alive
        connections; `acks[first + i]` is the time its 200 arrived. Returns the non-200 count."""
        start = time.perf_counter() + 0.05
        failures = 0

        async def one(k: int) -> None:
            nonlocal failures
            reader, writer = await _connect("127.0.0.1", self.port)
            try:
                for i in range(k, len(requests), connections):
                    delay = start + i / rate - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    if await _exchange(reader, writer, requests[i]) == 200:
                        acks[first + i] = time.perf_counter()
                    else:
                        failures += 1
            finally:
                writer.close()

        await asyncio.gather(*(one(k) for k in range(connections)))
        return failures


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def latency_stats(values: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values]
    return {"p50_ms": round(pct(ms, 0.5), 1), "p99_ms": round(pct(ms, 0.99), 1),
            "max_ms": round(max(ms), 1) if ms else float("nan"), "n": len(ms)}


class RealtimeBench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.workdir = Path(tempfile.mkdtemp(prefix="centralino-bench-rt-"))
        self.runner = Runner(self.workdir)
        self.db_name = f"bench_rt_{os.getpid()}"
        self.url = f"postgresql://postgres@127.0.0.1:5432/{self.db_name}"
        self.port = free_port()
        self.web: Proc | None = None
        self.worker: Proc | None = None
        self.seq = 0  # deliveries sent so far (their wamid index)

    def pg_admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(sql)

    def setup(self) -> list[Agent]:
        self.pg_admin(f"CREATE DATABASE {self.db_name}")
        settings = Settings(_env_file=None, database_url=self.url, mode=Mode.DEV,  # type: ignore[call-arg]
                            media_dir=self.workdir / "media", run_workers=False,
                            password_hash_time_cost=1, password_hash_memory_kib=1024)
        services = build_services(settings, migrate=True)
        try:
            with services.engine.begin() as conn:
                channel_id = channel_repo.create(
                    conn, services.box, kind="whatsapp", name="Bench realtime", address=common.PNID,
                    account_id=common.WABA, display_address=common.DISPLAY,
                    config={"graph_base_url": "http://127.0.0.1:9", "graph_version": "v23.0"},
                    secrets={"app_secret": common.APP_SECRET, "verify_token": common.VERIFY_TOKEN,
                             "access_token": common.ACCESS_TOKEN})
            department = int(services.admin.do_create_department(SETUP, "Bench", channel_ids=[channel_id])["id"])
            agents = []
            for i in range(self.args.agents):
                email = f"agent{i:03d}@bench.centralino.dev"
                services.admin.do_create_user(SETUP, email=email, display_name=f"Agent {i}", role=Role.AGENT,
                                              password=PASSWORD, department_ids=[department])
                agents.append(Agent(email, fetch_slot=i if i < self.args.sample else None))
        finally:
            services.dispose()
        env = {**server_env(self.url, self.workdir), **HASH_ENV}
        if self.args.single:
            env["CENTRALINO_RUN_WORKERS"] = "true"
        else:  # production's shape: the workers in their own process, their events reach the web through Redis
            env.update(CENTRALINO_RUN_WORKERS="false", CENTRALINO_REDIS_URL=self.args.redis_url)
            self.worker = self.runner.spawn("worker", ["-m", "centralino.cli", "worker"], env)
        self.web = self.runner.spawn("web", ["-m", "centralino.cli", "serve", "--port", str(self.port)], env)
        deadline = time.monotonic() + 60
        while True:
            if self.web.popen.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"serve did not come up:\n{self.web.tail()}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2).status_code == 200:
                    return agents
            except httpx.HTTPError:
                pass
            time.sleep(0.1)

    async def phase(self, agents: list[Agent], seconds: float, sample: int) -> dict[str, Any]:
        """Connect `agents`, send `seconds` of load, measure; the streams stay open 2 s after the last ack."""
        a = self.args
        client = Client(self.port, agents, sample, a.fragment_every)
        await asyncio.gather(*(client.sign_in(agent) for agent in agents))
        streams = [asyncio.create_task(client.stream_forever(agent)) for agent in agents]
        # the streams open spread over the first seconds, so their 25 s ends are spread like real browsers'
        await asyncio.sleep(2.0)
        count = int(seconds * a.rate)
        requests = common.ack_requests(count, start=self.seq, senders=10_000_000, tag="RT")
        acks: dict[int, float] = {}
        assert self.web is not None
        meter = CpuMeter(self.web.popen.pid)
        worker_cpu0, t0 = self._worker_cpu_s(), time.perf_counter()
        failures = await client.send(requests, a.rate, acks, self.seq)
        await asyncio.sleep(2.0)
        cpu = meter.stop()
        cpu["worker"] = round((self._worker_cpu_s() - worker_cpu0) / (time.perf_counter() - t0), 2)
        cpu["other"] = round(max(0.0, cpu["other"] - cpu["worker"]), 2)
        client.stop.set()
        await asyncio.sleep(0.5)
        for task in streams:
            task.cancel()
        await asyncio.gather(*streams, return_exceptions=True)
        unfinished = 0
        if client.fetches:  # fragments still queued 2 s after the last ack get 5 s more, then count as late
            _, late = await asyncio.wait(list(client.fetches), timeout=5.0)
            unfinished = len(late)
            for task in late:
                task.cancel()
        await client.http.aclose()
        self.seq += count
        return {**self.measure(agents, acks, failures, cpu), "fragments_unfinished": unfinished}

    def _worker_cpu_s(self) -> float:
        return proc_cpu_s(self.worker.popen.pid) if self.worker is not None else 0.0

    def measure(self, agents: list[Agent], acks: dict[int, float], failures: int,
                cpu: dict[str, float]) -> dict[str, Any]:
        engine = make_engine(self.url)
        try:
            with engine.connect() as conn:
                rows = conn.execute(select(messages.c.id, messages.c.external_id)).all()
        finally:
            engine.dispose()
        index_of = {int(mid): int(m.group(1)) for mid, ext in rows if ext and (m := WAMID.match(ext))}
        stored = {i: mid for mid, i in index_of.items() if i in acks}
        to_event, to_fragment = [], []
        expected = missed = in_gap = 0
        for agent in agents:
            for i, mid in stored.items():
                t_ack = acks[i]
                arrived = agent.events.get(mid)
                if arrived is not None:
                    to_event.append(arrived - t_ack)
                    if mid in agent.fragments:
                        to_fragment.append(agent.fragments[mid] - t_ack)
                elif any(s <= t_ack and t_ack + 1.0 <= e for s, e in agent.connected):
                    missed += 1
                else:
                    in_gap += 1
                expected += 1
        received = len(to_event)
        say(f"  {len(agents)} agents: {len(acks)} acknowledged ({failures} not 200), {len(stored)} stored; "
            f"events {received}/{expected} (missed while connected {missed}, in reconnect gaps {in_gap})")
        ev, fr = latency_stats(to_event), latency_stats(to_fragment)
        say(f"    ack->event    p50 {ev['p50_ms']} ms  p99 {ev['p99_ms']} ms  max {ev['max_ms']} ms  (n={ev['n']})")
        say(f"    ack->fragment p50 {fr['p50_ms']} ms  p99 {fr['p99_ms']} ms  max {fr['max_ms']} ms  (n={fr['n']})")
        say(fmt_cpu(cpu) + (f"; worker process {cpu['worker']:.2f}" if self.worker is not None else ""))
        return {"agents": len(agents), "acknowledged": len(acks), "not_200": failures, "stored": len(stored),
                "events_expected": expected, "events_received": received, "events_missed_connected": missed,
                "events_missed_in_gaps": in_gap, "ack_to_event": ev, "ack_to_fragment": fr,
                "streams_opened": sum(a.streams for a in agents), "client_errors": sum(a.errors for a in agents),
                "cpu_cores": cpu}

    def run(self) -> dict[str, Any]:
        a = self.args
        say(f"machine: {os.cpu_count()} cores; {a.agents} agents, {a.rate:.0f} deliveries/s")
        t0 = time.perf_counter()
        agents = self.setup()
        say(f"database, {a.agents} agents and `centralino serve` ready in {time.perf_counter() - t0:.1f}s")
        assert self.web is not None
        say(f"== baseline: 1 agent, {a.baseline_s:.0f} s")
        base = uvloop.run(self.phase([Agent("agent000@bench.centralino.dev", fetch_slot=0)], a.baseline_s, 1))
        say(f"== {a.agents} agents ({a.sample} fetching fragments), {a.duration:.0f} s")
        full = uvloop.run(self.phase(agents, a.duration, a.sample))
        rss = round(peak_rss_mb(self.web.popen.pid), 1)
        ev = full["ack_to_event"]
        return {
            "p50_ms": ev["p50_ms"], "p99_ms": ev["p99_ms"], "max_ms": ev["max_ms"],
            "fragment_p50_ms": full["ack_to_fragment"]["p50_ms"], "fragment_p99_ms": full["ack_to_fragment"]["p99_ms"],
            "agents": a.agents, "inbound_per_s": a.rate,
            "baseline_1agent_p50_ms": base["ack_to_event"]["p50_ms"],
            "baseline_1agent_p99_ms": base["ack_to_event"]["p99_ms"],
            "p99_ratio_to_1agent": round(ev["p99_ms"] / base["ack_to_event"]["p99_ms"], 2),
            "events_missed_connected": full["events_missed_connected"],
            "server_cpu_cores": full["cpu_cores"]["server"], "worker_cpu_cores": full["cpu_cores"]["worker"],
            "server_peak_rss_mb": rss,
            "target_p99_under_300ms": ev["p99_ms"] < TARGET_P99_MS,
            "run": full, "baseline": base,
            "settings": {"quick": a.quick, "duration_s": a.duration, "baseline_s": a.baseline_s, "sample": a.sample,
                         "fragment_every": a.fragment_every,
                         "server": ("centralino serve (web + in-process workers), 1 process" if a.single else
                                    "centralino serve (web) + centralino worker, events relayed through Redis"),
                         "cores": os.cpu_count(), **code_version()},
        }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.realtime", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="short load phases (under a minute in all)")
    p.add_argument("--agents", type=int, default=200)
    p.add_argument("--single", action="store_true",
                   help="one process (web + embedded workers) instead of production's web + worker + Redis")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    p.add_argument("--rate", type=float, default=200.0, help="inbound deliveries per second")
    p.add_argument("--sample", type=int, default=20, help="agents that also fetch fragments")
    p.add_argument("--fragment-every", type=int, default=10,
                   help="fragments are fetched for every Nth message id, each by one sample agent (20/s at 200/s)")
    p.add_argument("--duration", type=float, help="load with all agents, seconds (60; 25 with --quick)")
    p.add_argument("--baseline-s", type=float, help="load with 1 agent, seconds (25; 5 with --quick)")
    a = p.parse_args(argv)
    a.duration = a.duration or (25.0 if a.quick else 60.0)
    a.baseline_s = a.baseline_s or (5.0 if a.quick else 25.0)
    return a


def main(argv: list[str] | None = None) -> int:
    bench = RealtimeBench(parse_args(argv))
    started = time.perf_counter()
    try:
        result = bench.run()
    except BaseException:
        say(f"failed; logs kept in {bench.workdir}")
        raise
    finally:
        bench.runner.stop_all()
        bench.pg_admin(f"DROP DATABASE IF EXISTS {bench.db_name} WITH (FORCE)")
    shutil.rmtree(bench.workdir, ignore_errors=True)
    result["settings"]["total_s"] = round(time.perf_counter() - started, 1)
    say(f"done in {result['settings']['total_s']}s")
    print(json.dumps(result, separators=(",", ":")), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

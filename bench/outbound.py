"""Outbound benchmark: the outbox drained into the Graph API simulator at configured rates.

    python -m bench.outbound [--quick]

Production shape, each its own process: the simulator (`centralino simulator`, Meta's limits on,
pair rate recorded), the web service (`centralino serve --no-workers`: webhooks and API) and one
worker (`centralino worker`: inbound processing and the sender), on a fresh PostgreSQL database.

1. Customers write first (through the simulator, so the window is open on both sides).
2. Rate runs at 80 and 1,000 messages/s configured on the channel: the whole run is queued first
   (the worker stopped), then the worker starts and drains it; the measured rate is the number of
   messages accepted by the simulator per second between the first and the last acceptance
   (`rate_precision` = measured / configured). Messages are spread round-robin over enough
   customers that the 6-second pair rule never has to hold the rate back; pair violations are
   counted by the simulator (record mode) and, from our own timestamps, per customer.
3. Kill run: a queue at 1,000/s, the worker killed with SIGKILL mid-drain, started again; then
   every message must have reached the simulator exactly once (`lost`, `doubled`).
4. Round trip: messages queued one at a time to idle customers; time from the queueing commit to
   the `delivered` status stored from the simulator's webhook (p50, p99).

The last line printed is one JSON object with every figure and the settings used.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import shutil
import signal
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select, update

from bench.ingest import CpuMeter, Proc, Runner, fmt_cpu, free_port, peak_rss_mb, server_env
from centralino.config import Mode, Settings
from centralino.domain.outbound import Text
from centralino.services import Services, build_services
from centralino.storage import channels as channel_repo
from centralino.storage.tables import channels, contact_identities, conversations, messages, outbox, status_history

PNID, WABA, DISPLAY = "108880000000001", "208880000000001", "15550002222"
APP_SECRET, ACCESS_TOKEN, VERIFY_TOKEN = "bench-out-secret", "bench-out-token", "bench-out-verify"
PAIR_INTERVAL_S = 6.0
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


def say(msg: str) -> None:
    print(msg, flush=True)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class OutboundBench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.workdir = Path(tempfile.mkdtemp(prefix="centralino-bench-out-"))
        self.runner = Runner(self.workdir)
        self.db_name = f"bench_out_{os.getpid()}"
        self.sim_port, self.web_port = free_port(), free_port()
        self.sim_url = f"http://127.0.0.1:{self.sim_port}"
        self.worker: Proc | None = None
        self.out: dict[str, Any] = {}
        self.customer_seq = 0
        self.services: Services
        self.channel_id = 0
        self.env: dict[str, str] = {}

    # --- processes --------------------------------------------------------------------------------

    def setup(self) -> None:
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {self.db_name}")
        url = f"postgresql://postgres@127.0.0.1:5432/{self.db_name}"
        self.env = {**server_env(url, self.workdir),
                    # recovery after the kill within seconds, not the production minute
                    "CENTRALINO_OUTBOX_LEASE_S": "5", "CENTRALINO_SENDER_RECONCILE_WINDOW_S": "20",
                    "CENTRALINO_DELIVERY_LEASE_S": "5", "CENTRALINO_WORKER_POLL_S": "0.2",
                    # The simulator answers in ~1 ms here, so a few sends in flight carry 1,000/s (the
                    # default 128 is for Meta's ~100 ms). Whatever is in flight when the simulator
                    # waits for a core reaches it together and counts in one second: 8 keeps that
                    # bunch inside the sender's rate margin (20/s at 1,000/s; docs/outbound.md).
                    "CENTRALINO_SENDER_CONCURRENCY": "8"}
        settings = Settings(_env_file=None, database_url=url, mode=Mode.DEV,  # type: ignore[call-arg]
                            media_dir=self.workdir / "media", run_workers=False)
        self.services = build_services(settings, migrate=True)
        with self.services.engine.begin() as conn:
            self.channel_id = channel_repo.create(
                conn, self.services.box, kind="whatsapp", name="Bench outbound", address=PNID, account_id=WABA,
                display_address=DISPLAY,
                config={"graph_base_url": self.sim_url, "graph_version": "v23.0", "messages_per_second": 80},
                secrets={"app_secret": APP_SECRET, "verify_token": VERIFY_TOKEN, "access_token": ACCESS_TOKEN})
        self.services.directory.refresh()
        sim_args = ["-m", "centralino.cli", "simulator", "--port", str(self.sim_port),
                    "--webhook-url", f"http://127.0.0.1:{self.web_port}/webhooks/whatsapp",
                    "--phone-number-id", PNID, "--waba-id", WABA, "--display-number", DISPLAY,
                    "--app-secret", APP_SECRET, "--access-token", ACCESS_TOKEN,
                    "--mps", str(self.args.sim_mps), "--status-delays", "0,0,-",
                    "--pair-interval", str(PAIR_INTERVAL_S), "--pair-mode", "record",
                    "--webhook-batch", "100"]  # Meta batches updates under load; one POST each caps near 550/s here
        self.sim = self.runner.spawn("simulator", sim_args, self.env)
        self.web = self.runner.spawn("web", ["-m", "centralino.cli", "serve", "--no-workers", "--port",
                                             str(self.web_port)], self.env)
        self._wait_http(f"{self.sim_url}/_sim/stats", self.sim)
        self._wait_http(f"http://127.0.0.1:{self.web_port}/healthz", self.web)

    def _wait_http(self, url: str, proc: Proc) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.popen.poll() is not None:
                raise SystemExit(f"{proc.name} exited with {proc.popen.returncode}:\n{proc.tail()}")
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise SystemExit(f"{proc.name} did not answer within 60 s:\n{proc.tail()}")

    def start_worker(self) -> None:
        self.worker = self.runner.spawn("worker", ["-m", "centralino.cli", "worker"], self.env)

    def stop_worker(self, kill: bool = False) -> None:
        if self.worker is None:
            return
        if kill:
            self.worker.popen.send_signal(signal.SIGKILL)
            self.worker.popen.wait(10)
        else:
            self.worker.stop()
        self.worker = None

    def teardown(self) -> None:
        self.runner.stop_all()
        self.services.dispose()
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {self.db_name} WITH (FORCE)")
        shutil.rmtree(self.workdir, ignore_errors=True)

    # --- data -------------------------------------------------------------------------------------

    def set_rate(self, rate: float) -> None:
        engine = self.services.engine
        with engine.begin() as conn:
            config = dict(conn.execute(select(channels.c.config).where(channels.c.id == self.channel_id)).scalar_one())
            config["messages_per_second"] = rate
            conn.execute(update(channels).where(channels.c.id == self.channel_id).values(config=config))

    def customers(self, n: int) -> list[int]:
        """n new customers write first; the ids of their conversations once the product has them."""
        wa_ids = [f"39300{self.customer_seq + i:07d}" for i in range(n)]
        self.customer_seq += n

        async def write_all() -> None:
            limits = httpx.Limits(max_connections=16)
            async with httpx.AsyncClient(base_url=self.sim_url, timeout=30, limits=limits) as client:
                sem = asyncio.Semaphore(16)

                async def one(wa_id: str) -> None:
                    async with sem:
                        r = await client.post(f"/_sim/customers/{wa_id}/messages",
                                              json={"type": "text", "body": "Ciao!", "name": f"Cliente {wa_id[-4:]}"})
                        r.raise_for_status()

                await asyncio.gather(*(one(w) for w in wa_ids))

        started_here = self.worker is None
        if started_here:
            self.start_worker()  # the inbound half of the worker turns their messages into conversations
        asyncio.run(write_all())
        deadline = time.monotonic() + 120
        while True:
            with self.services.engine.connect() as conn:
                rows = conn.execute(
                    select(conversations.c.id).join(contact_identities,
                                                    contact_identities.c.contact_id == conversations.c.contact_id)
                    .where(contact_identities.c.value.in_(wa_ids), conversations.c.window_expires_at.is_not(None))
                ).scalars().all()
            if len(rows) >= n:
                if started_here:
                    self.stop_worker()
                return sorted(set(rows))
            if time.monotonic() > deadline:
                tails = "\n".join(f"--- {p.name}\n{p.tail(15)}" for p in self.runner.procs)
                raise SystemExit(f"only {len(rows)} of {n} customers' conversations appeared\n{tails}")
            time.sleep(0.2)

    def enqueue(self, conversation_ids: list[int], count: int, label: str) -> list[int]:
        """Queue `count` texts round-robin over the conversations (through the send use case)."""
        outbound = self.services.outbound

        def one(i: int) -> int:
            conv = conversation_ids[i % len(conversation_ids)]
            return outbound.do_send(conv, Text(f"{label} #{i}: your parcel is on its way"), origin="bench").message_id

        with ThreadPoolExecutor(8) as pool:
            return list(pool.map(one, range(count)))

    def wait_done(self, ids: list[int], timeout: float) -> int:
        """Wait until no outbox row of these messages is still to send; how many are left."""
        deadline = time.monotonic() + timeout
        left = len(ids)
        # The run's messages are the only outbound ones between its first and last id (queued together,
        # nothing else queued meanwhile): a range, not a list of thousands of ids compiled and parsed
        # five times a second on the cores the measured processes share.
        first, last = min(ids), max(ids)
        while time.monotonic() < deadline:
            with self.services.engine.connect() as conn:
                left = int(conn.execute(select(func.count()).select_from(outbox).where(
                    outbox.c.message_id.between(first, last), outbox.c.state.not_in(["done", "failed"]))
                ).scalar_one())
            if left == 0:
                return 0
            time.sleep(0.2)
        return left

    def accepted(self, ids: list[int]) -> list[tuple[int, int, float]]:
        """(message, contact, accepted at) of the messages the provider accepted."""
        with self.services.engine.connect() as conn:
            rows = conn.execute(select(messages.c.id, messages.c.contact_id, messages.c.accepted_at)
                                .where(messages.c.id.in_(ids), messages.c.accepted_at.is_not(None))).all()
        return [(r.id, r.contact_id, r.accepted_at.timestamp()) for r in rows]

    def sim_stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = httpx.get(f"{self.sim_url}/_sim/stats", timeout=10).json()
        number: dict[str, Any] = stats.get("numbers", {}).get(PNID, {})
        return number

    # --- runs -------------------------------------------------------------------------------------

    def rate_run(self, rate: float, duration: float) -> dict[str, Any]:
        count = int(rate * duration)
        # enough customers that each waits >= the pair interval between two of its messages
        needed = min(count, math.ceil(rate * PAIR_INTERVAL_S * 1.25))
        say(f"== rate {rate:g}/s: {count} messages over {needed} customers")
        t0 = time.perf_counter()
        conv_ids = self.customers(needed)
        say(f"  {needed} customers wrote first ({time.perf_counter() - t0:.1f}s)")
        self.set_rate(rate)
        t0 = time.perf_counter()
        ids = self.enqueue(conv_ids, count, f"r{rate:g}")
        say(f"  queued {count} messages in {time.perf_counter() - t0:.1f}s")
        before = self.sim_stats()
        self.start_worker()
        assert self.worker is not None
        meter = CpuMeter(self.worker.popen.pid)
        left = self.wait_done(ids, timeout=duration * 3 + 60)
        cpu = meter.stop()
        rss = peak_rss_mb(self.worker.popen.pid)
        self.stop_worker()
        after = self.sim_stats()
        acc = self.accepted(ids)
        times = sorted(t for _, _, t in acc)
        measured = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and times[-1] > times[0] else 0.0
        # our own view of the pair rule: two acceptances for one customer closer than the interval
        by_contact: dict[int, list[float]] = {}
        for _, contact, t in acc:
            by_contact.setdefault(contact, []).append(t)
        ours = sum(1 for ts in by_contact.values() for a, b in zip(sorted(ts), sorted(ts)[1:], strict=False)
                   if b - a < PAIR_INTERVAL_S - 0.05)
        res = {"configured_per_s": rate, "messages": count, "customers": needed, "accepted": len(acc),
               "left": left, "measured_per_s": round(measured, 1), "precision": round(measured / rate, 4),
               "span_s": round(times[-1] - times[0], 2) if times else 0.0,
               "pair_violations_simulator": after.get("pair_violations", 0) - before.get("pair_violations", 0),
               "pair_violations_ours": ours,
               "rate_refusals_130429": int(after.get("refused", {}).get("130429", 0))
               - int(before.get("refused", {}).get("130429", 0)),
               "simulator_received": int(after.get("accepted", 0)) - int(before.get("accepted", 0)),
               "doubled": int(after.get("duplicates", {}).get("callback_data", 0))
               - int(before.get("duplicates", {}).get("callback_data", 0)),
               "worker_cpu_cores": cpu["server"], "worker_peak_rss_mb": round(rss, 1)}
        say(f"  measured {measured:,.1f}/s over {res['span_s']}s = precision {res['precision']:.4f}; "
            f"accepted {len(acc)}/{count}; pair violations simulator {res['pair_violations_simulator']}, "
            f"ours {ours}; 130429 refusals {res['rate_refusals_130429']}; simulator received "
            f"{res['simulator_received']}, doubled {res['doubled']}")
        say(fmt_cpu(cpu, server="worker"))
        return res

    def kill_run(self, count: int) -> dict[str, Any]:
        say(f"== kill run: {count} messages at 1,000/s, worker killed mid-drain")
        conv_ids = self.customers(min(count, 2000))
        self.set_rate(1000)
        ids = self.enqueue(conv_ids, count, "kill")
        before = self.sim_stats()
        self.start_worker()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(self.accepted(ids)) < count // 3:
            time.sleep(0.05)
        accepted_at_kill = len(self.accepted(ids))
        self.stop_worker(kill=True)
        say(f"  killed the worker with {accepted_at_kill}/{count} accepted")
        self.start_worker()
        left = self.wait_done(ids, timeout=180)
        self.stop_worker()
        after = self.sim_stats()
        reached = int(after.get("accepted", 0)) - int(before.get("accepted", 0))
        doubled = (int(after.get("duplicates", {}).get("callback_data", 0))
                   - int(before.get("duplicates", {}).get("callback_data", 0)))
        with self.services.engine.connect() as conn:
            states = dict(conn.execute(select(messages.c.status, func.count()).where(messages.c.id.in_(ids))
                                       .group_by(messages.c.status)).all())
            with_wamid = int(conn.execute(select(func.count()).select_from(messages).where(
                messages.c.id.in_(ids), messages.c.external_id.is_not(None))).scalar_one())
        lost = count - with_wamid
        res = {"messages": count, "accepted_at_kill": accepted_at_kill, "left": left, "reached_simulator": reached,
               "lost": lost, "doubled": doubled + max(0, reached - count), "statuses": states}
        say(f"  after restart: {with_wamid}/{count} with a wamid, simulator received {reached}; "
            f"lost {res['lost']}, doubled {res['doubled']}; statuses {states}")
        return res

    def round_trip(self, count: int) -> dict[str, Any]:
        say(f"== round trip: {count} messages queued one at a time, queue -> delivered")
        conv_ids = self.customers(count)
        self.set_rate(80)
        self.start_worker()
        time.sleep(2.0)  # the worker is up and idle
        ids = []
        for conv in conv_ids:
            ids.append(self.services.outbound.do_send(conv, Text("Round trip"), origin="bench").message_id)
            time.sleep(0.05)
        left = self.wait_done(ids, timeout=60)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with self.services.engine.connect() as conn:
                rows = conn.execute(
                    select(messages.c.queued_at, func.min(status_history.c.created_at))
                    .join(status_history, status_history.c.message_id == messages.c.id)
                    .where(messages.c.id.in_(ids), status_history.c.status == "delivered")
                    .group_by(messages.c.id, messages.c.queued_at)).all()
            if len(rows) == count:
                break
            time.sleep(0.2)
        self.stop_worker()
        ms = [(delivered - queued).total_seconds() * 1000 for queued, delivered in rows]
        res = {"messages": count, "delivered": len(rows), "left": left,
               "p50_ms": round(pct(ms, 0.5), 1), "p99_ms": round(pct(ms, 0.99), 1), "max_ms": round(max(ms), 1)}
        say(f"  queue -> delivered: p50 {res['p50_ms']} ms, p99 {res['p99_ms']} ms ({len(rows)}/{count} delivered)")
        return res

    def run(self) -> dict[str, Any]:
        a = self.args
        started = time.perf_counter()
        say(f"machine: {os.cpu_count()} cores, CPython {platform.python_version()}; PostgreSQL database "
            f"{self.db_name}; simulator at {a.sim_mps} mps (Meta's limit), pair rule recorded")
        self.setup()
        try:
            r80 = self.rate_run(80, a.duration)
            r1000 = self.rate_run(1000, a.duration)
            kill = self.kill_run(a.kill_messages)
            trip = self.round_trip(a.round_trip)
        finally:
            self.teardown()
        self.out = {
            "rate_precision_80": r80["precision"], "rate_precision_1000": r1000["precision"],
            "measured_per_s_80": r80["measured_per_s"], "measured_per_s_1000": r1000["measured_per_s"],
            "pair_violations": r80["pair_violations_simulator"] + r1000["pair_violations_simulator"],
            "pair_violations_ours": r80["pair_violations_ours"] + r1000["pair_violations_ours"],
            "lost": kill["lost"], "doubled": kill["doubled"] + r80["doubled"] + r1000["doubled"],
            "send_to_delivered_p50_ms": trip["p50_ms"], "send_to_delivered_p99_ms": trip["p99_ms"],
            "runs": {"rate_80": r80, "rate_1000": r1000, "kill": kill, "round_trip": trip},
            "settings": {"quick": a.quick, "duration_s": a.duration, "kill_messages": a.kill_messages,
                         "round_trip_messages": a.round_trip, "simulator_mps": a.sim_mps,
                         "pair_interval_s": PAIR_INTERVAL_S, "cores": os.cpu_count(),
                         "python": platform.python_version(), "total_s": round(time.perf_counter() - started, 1)},
        }
        return self.out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.outbound", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="short runs (under a minute in all)")
    p.add_argument("--duration", type=float, help="seconds of sending per rate run (30; 3 with --quick)")
    p.add_argument("--kill-messages", type=int, help="messages in the kill run (3000; 1500 with --quick)")
    p.add_argument("--round-trip", type=int, help="messages in the round-trip run (200; 50 with --quick)")
    p.add_argument("--sim-mps", type=int, default=1000, help="the simulator's per-number limit (Meta's top tier)")
    a = p.parse_args(argv)
    a.duration = a.duration or (3.0 if a.quick else 30.0)
    a.kill_messages = a.kill_messages or (1500 if a.quick else 3000)
    a.round_trip = a.round_trip or (50 if a.quick else 200)
    result = OutboundBench(a).run()
    print(json.dumps(result, separators=(",", ":"), default=str))


if __name__ == "__main__":
    sys.exit(main())

"""Webhook ingest benchmark: acknowledgement rate and latency, processing rate, server memory.

    python -m bench.ingest [--quick]

Starts each server as its own process (uvicorn defaults: uvloop + httptools, one process):
a bare Starlette endpoint (the baseline), then the real service on SQLite (a temporary file) and on
PostgreSQL (a fresh database, dropped afterwards), with CENTRALINO_RUN_WORKERS=false. The load
generator runs in this process on asyncio streams (HTTP/1.1 keep-alive, N connections); client and
server share the machine's cores, the same way for every target, so the ratio to bare is fair.

Per target: closed-loop requests/s (every request a distinct, signed one-message delivery) with
p50/p99, then an open-loop run at --rate requests/s (latency from each request's scheduled time).
After every run the stored webhook_deliveries must equal the 200s received. Then processing: K
messages in deliveries of 10 are acknowledged and drained by DeliveryWorker (in-process; on
PostgreSQL also by 2 worker processes), timed until none is pending.

The last line printed is one JSON object with every figure and the settings used.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import logging
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvloop
from sqlalchemy import Engine, func, select

from bench import common, loadgen
from bench.drain import drain_all
from centralino.config import Mode, Settings
from centralino.services import build_services
from centralino.storage.db import make_engine
from centralino.storage.tables import events, messages, webhook_deliveries

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
TARGETS = {"ack_ratio": 0.5, "processed_per_s_postgres": 1000.0, "ack_p99_ms": 50.0}


def say(msg: str) -> None:
    print(msg, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (fields 14 and 15 of /proc/<pid>/stat)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def machine_cpu_s() -> tuple[float, float]:
    """(busy, softirq + irq) CPU seconds of the whole machine since boot; loopback TCP is mostly
    processed in softirq, which the kernel charges to no process."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    tick = os.sysconf("SC_CLK_TCK")
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / tick, (values[5] + values[6]) / tick


def postgres_cpu_s() -> float:
    """CPU seconds of every process named `postgres` on this machine (the database server)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    total += proc_cpu_s(int(entry.name))
            except OSError:
                continue
    return total


class CpuMeter:
    """Cores used (1.0 = one core busy) over a run: the server process, this client, PostgreSQL,
    the kernel's softirq work (network), and the rest of the machine."""

    def __init__(self, server_pid: int | None) -> None:
        self.pid = server_pid
        self.t0 = time.perf_counter()
        self.start = self.sample()

    def sample(self) -> dict[str, float]:
        times = os.times()
        busy, soft = machine_cpu_s()
        return {"server": proc_cpu_s(self.pid) if self.pid else 0.0,
                "client": times.user + times.system + times.children_user + times.children_system,
                "postgres": postgres_cpu_s(), "softirq": soft, "machine": busy}

    def stop(self) -> dict[str, float]:
        wall = time.perf_counter() - self.t0
        end = self.sample()
        # a process that exits during the run takes its CPU time with it: never below zero
        out = {k: max(0.0, (end[k] - self.start[k]) / wall) for k in end}
        out["other"] = max(0.0, out["machine"] - sum(v for k, v in out.items() if k != "machine"))
        return {k: round(v, 2) for k, v in out.items()}


def fmt_cpu(cpu: dict[str, float], server: str | None = "server", client: str = "client") -> str:
    first = f"{server} {cpu['server']:.2f}, " if server else ""
    return (f"    cores busy: {first}{client} {cpu['client']:.2f}, postgres {cpu['postgres']:.2f}, "
            f"kernel softirq {cpu['softirq']:.2f}, other {cpu['other']:.2f}; "
            f"machine {cpu['machine']:.2f} of {os.cpu_count()}")


def peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGINT)
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)


@dataclass
class Runner:
    workdir: Path
    procs: list[Proc] = field(default_factory=list)

    def spawn(self, name: str, args: list[str], env: dict[str, str], *, stdin: bool = False,
              stdout: bool = False) -> Proc:
        log = self.workdir / f"{name}.log"
        popen = subprocess.Popen(
            [PY, *args], cwd=ROOT, env=env, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE if stdout else log.open("ab"), stderr=log.open("ab"))
        proc = Proc(name, popen, log)
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in self.procs:
            with contextlib.suppress(Exception):
                proc.stop()


def server_env(database_url: str | None, workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CENTRALINO_")}
    if database_url:
        env.update({
            "CENTRALINO_DATABASE_URL": database_url,
            "CENTRALINO_RUN_WORKERS": "false",
            "CENTRALINO_MODE": "dev",
            "CENTRALINO_MEDIA_DIR": str(workdir / "media"),
        })
    env["PYTHONPATH"] = str(ROOT)
    return env


def start_server(runner: Runner, name: str, database_url: str | None, port: int, *, target: str | None = None,
                 extra_env: dict[str, str] | None = None) -> Proc:
    target = target or ("bare" if database_url is None else "app")
    env = {**server_env(database_url, runner.workdir), **(extra_env or {})}
    proc = runner.spawn(f"server-{name}", ["-m", "bench._server", target, str(port)], env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise SystemExit(f"server {name} exited with {proc.popen.returncode} before it was up:\n{proc.tail()}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            if target in ("bare", "fastapi"):
                conn.request("POST", common.PATH, body=b"{}")
            else:
                conn.request("GET", "/healthz")
            status = conn.getresponse().status
            conn.close()
            if status == 200:
                return proc
        except OSError:
            pass
        time.sleep(0.1)
    proc.stop()
    raise SystemExit(f"server {name} did not answer within 60 s:\n{proc.tail()}")


class Pool:
    """Pre-built requests handed out in order; wraps (and counts it) only if exhausted."""

    def __init__(self, requests: list[bytes]) -> None:
        self.requests = requests
        self.i = 0
        self.wrapped = 0

    def next(self) -> bytes:
        if self.i >= len(self.requests):
            self.i = 0
            self.wrapped += 1
        data = self.requests[self.i]
        self.i += 1
        return data


FALLBACK_MARKERS = {"raced": "raced another worker", "kept_racing": "kept racing another worker",
                    "failed": "failed; applying event by event"}


class FallbackCounter(logging.Handler):
    """Counts the worker's batch fallbacks (a batch applied event by event instead of set-based)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.counts = dict.fromkeys(FALLBACK_MARKERS, 0)

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        for key, marker in FALLBACK_MARKERS.items():
            if marker in message:
                self.counts[key] += 1


def count(engine: Engine, table: Any, where: Any = None) -> int:
    query = select(func.count()).select_from(table)
    if where is not None:
        query = query.where(where)
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def fmt_run(label: str, res: loadgen.RunResult) -> str:
    errs = f" errors={res.errors}" if res.errors else ""
    return (f"  {label}: {res.rate:,.0f} req/s  p50 {res.pct_ms(0.5):.2f} ms  p99 {res.pct_ms(0.99):.2f} ms"
            f"  ({res.measured} in {res.measured_s:.1f}s, {res.ok} 200s total){errs}")


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.workdir = Path(tempfile.mkdtemp(prefix="centralino-bench-"))
        self.runner = Runner(self.workdir)
        self.out: dict[str, Any] = {"server_peak_rss_mb": {}, "stored_checks": []}
        self.stored_ok = True
        self.pool_wrapped = 0

    # --- acknowledgement --------------------------------------------------------------------------

    def closed(self, port: int, pool: Pool) -> loadgen.RunResult:
        a = self.args
        return uvloop.run(loadgen.closed_loop("127.0.0.1", port, pool.next, connections=a.connections,
                                              warmup_s=a.warmup, duration_s=a.duration))

    def paced(self, port: int, pool: Pool) -> loadgen.RunResult:
        a = self.args
        return uvloop.run(loadgen.paced("127.0.0.1", port, pool.next, connections=a.connections, rate=a.rate,
                                        duration_s=a.paced_duration))

    def check_stored(self, label: str, engine: Engine, expected: int) -> None:
        stored = count(engine, webhook_deliveries)
        ok = stored == expected
        self.stored_ok &= ok
        self.out["stored_checks"].append({"run": label, "stored": stored, "acked_200": expected, "ok": ok})
        say(f"  durability check {label}: {stored} stored / {expected} acknowledged -> {'OK' if ok else 'MISMATCH'}")

    def bare(self) -> float:
        say("== bare endpoint (Starlette, one POST route reading the body)")
        port = free_port()
        proc = start_server(self.runner, "bare", None, port)
        try:
            meter = CpuMeter(proc.popen.pid)
            res = self.closed(port, Pool(self.ack_pool))
            cpu = meter.stop()
            say(fmt_run("closed loop", res))
            say(fmt_cpu(cpu))
            self.out["cpu_cores_bare"] = cpu
            self.out["server_peak_rss_mb"]["bare"] = round(peak_rss_mb(proc.popen.pid), 1)
        finally:
            proc.stop()
        self.out.update(ack_per_s_bare=round(res.rate, 1), ack_p50_ms_bare=round(res.pct_ms(0.5), 2),
                        ack_p99_ms_bare=round(res.pct_ms(0.99), 2))
        return res.rate

    def durable(self, name: str, url: str) -> None:
        say(f"== centralino on {name} (CENTRALINO_RUN_WORKERS=false)")
        port = free_port()
        t0 = time.perf_counter()
        proc = start_server(self.runner, name, url, port)
        say(f"  server up in {time.perf_counter() - t0:.1f}s (migrations included)")
        engine = make_engine(url)
        try:
            pool = Pool(self.ack_pool)
            meter = CpuMeter(proc.popen.pid)
            res = self.closed(port, pool)
            cpu = meter.stop()
            say(fmt_run("closed loop", res))
            say(fmt_cpu(cpu))
            self.out[f"cpu_cores_{name}"] = cpu
            acked = res.ok
            self.check_stored(f"{name}/closed", engine, acked)
            meter = CpuMeter(proc.popen.pid)
            paced = self.paced(port, pool)
            cpu = meter.stop()
            say(fmt_run(f"paced {self.args.rate:.0f}/s", paced) + f"  max {max(paced.latencies or [0]) * 1000:.1f} ms")
            say(fmt_cpu(cpu))
            self.out[f"cpu_cores_{name}_paced"] = cpu
            acked += paced.ok
            self.check_stored(f"{name}/paced", engine, acked)
            self.pool_wrapped += pool.wrapped
            self.out["server_peak_rss_mb"][name] = round(peak_rss_mb(proc.popen.pid), 1)
            self.out.update({
                f"ack_per_s_{name}": round(res.rate, 1),
                f"ack_p50_ms_{name}_closed": round(res.pct_ms(0.5), 2),
                f"ack_p99_ms_{name}_closed": round(res.pct_ms(0.99), 2),
                f"ack_p50_ms_{name}_{self.args.rate:.0f}": round(paced.pct_ms(0.5), 2),
                f"ack_p99_ms_{name}_{self.args.rate:.0f}": round(paced.pct_ms(0.99), 2),
                f"ack_errors_{name}": {**res.errors, **{f"paced_{k}": v for k, v in paced.errors.items()}},
            })
            self.process(name, url, port, engine)
            self.out["server_peak_rss_mb"][name] = round(peak_rss_mb(proc.popen.pid), 1)
        finally:
            proc.stop()
            engine.dispose()

    # --- processing -------------------------------------------------------------------------------

    def store_batch(self, name: str, port: int, engine: Engine, tag: str, sender_base: int) -> int:
        a = self.args
        deliveries = int(a.messages // a.per_delivery)
        requests = common.batch_requests(deliveries, a.per_delivery, sender_base=sender_base, senders=a.senders,
                                         tag=tag)
        before = count(engine, webhook_deliveries)
        res = uvloop.run(loadgen.send_all("127.0.0.1", port, requests))
        if res.ok != deliveries:
            raise SystemExit(f"storing the processing batch: {res.ok}/{deliveries} acknowledged, errors {res.errors}")
        self.check_stored(f"{name}/batch-{tag}", engine, before + deliveries)
        return deliveries

    def measure(self, label: str, engine: Engine, run: Any) -> dict[str, Any]:
        m0, e0 = count(engine, messages), count(engine, events)
        t0 = time.perf_counter()
        meter = CpuMeter(None)
        run()
        elapsed = time.perf_counter() - t0
        cpu = meter.stop()
        msgs, evs = count(engine, messages) - m0, count(engine, events) - e0
        pending = count(engine, webhook_deliveries, webhook_deliveries.c.state == "pending")
        failed = count(engine, webhook_deliveries, webhook_deliveries.c.state == "failed")
        expected = self.args.messages // self.args.per_delivery * self.args.per_delivery
        stats = {"messages": msgs, "expected_messages": expected, "domain_events": evs, "elapsed_s": round(elapsed, 2),
                 "messages_per_s": round(msgs / elapsed, 1), "pending_left": pending, "failed": failed,
                 "cpu_cores": {"workers": cpu["client"], "postgres": cpu["postgres"], "machine": cpu["machine"]}}
        complete = msgs == expected and not pending and not failed
        say(f"  processing {label}: {msgs} messages ({evs} domain events) in {elapsed:.2f}s = "
            f"{msgs / elapsed:,.0f} messages/s"
            + ("" if complete else f"  !! expected {expected}, pending {pending}, failed {failed}")
            + "\n" + fmt_cpu(cpu, server=None, client="worker(s)"))
        return stats

    def process(self, name: str, url: str, port: int, engine: Engine) -> None:
        with engine.begin() as conn:  # the one-message deliveries of the ack runs are not part of this
            conn.execute(webhook_deliveries.delete())
        settings = Settings(database_url=url, run_workers=False, mode=Mode.DEV, media_dir=self.workdir / "media")
        self.store_batch(name, port, engine, f"{name.upper()}A", sender_base=1_000_000)
        services = build_services(settings, migrate=False)
        services.directory.refresh()
        counter = FallbackCounter()
        worker_log = logging.getLogger("centralino.workers.inbound")
        worker_log.addHandler(counter)
        worker_log.setLevel(logging.INFO)
        try:
            one = self.measure("1 worker (in-process drain)", engine,
                               lambda: drain_all(services, timeout_s=self.args.process_timeout))
        finally:
            worker_log.removeHandler(counter)
            services.dispose()
        one["batch_fallbacks"] = counter.counts
        if any(counter.counts.values()):
            say(f"    batch races and fallbacks: {counter.counts}")
        self.out[f"processing_{name}_1worker"] = one
        self.out[f"processed_per_s_{name}_1worker"] = one["messages_per_s"]
        best = one["messages_per_s"]
        if name == "postgres" and self.args.workers > 1:
            self.store_batch(name, port, engine, f"{name.upper()}B", sender_base=2_000_000)
            env = server_env(url, self.workdir)
            n = self.args.workers
            procs = [self.runner.spawn(f"worker-{name}-{i}", ["-m", "bench._worker", str(self.args.process_timeout)],
                                       env, stdin=True, stdout=True) for i in range(n)]
            for p in procs:
                line = p.popen.stdout.readline() if p.popen.stdout else b""
                if line.strip() != b"ready":
                    raise SystemExit(f"worker {p.name} did not start: {line!r}\n{p.tail()}")

            def go() -> None:
                for p in procs:
                    assert p.popen.stdin is not None
                    p.popen.stdin.write(b"go\n")
                    p.popen.stdin.flush()
                for p in procs:
                    p.popen.wait(self.args.process_timeout + 30)

            many = self.measure(f"{n} worker processes", engine, go)
            logs = [p.log.read_text(errors="replace") for p in procs]
            errors = sum(text.count("Traceback") for text in logs)
            many["worker_tracebacks"] = errors
            many["batch_fallbacks"] = {k: sum(text.count(m) for text in logs) for k, m in FALLBACK_MARKERS.items()}
            if any(many["batch_fallbacks"].values()):
                say(f"    batch races and fallbacks: {many['batch_fallbacks']}")
            if errors:
                say(f"  !! {errors} tracebacks in the worker logs (e.g. {procs[0].log})")
            self.out[f"processing_{name}_{n}workers"] = many
            self.out[f"processed_per_s_{name}_{n}workers"] = many["messages_per_s"]
            best = max(best, many["messages_per_s"])
        self.out[f"processed_per_s_{name}"] = best

    # --- PostgreSQL database ------------------------------------------------------------------------

    def pg_admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.args.pg_admin_url, autocommit=True) as conn:
            conn.execute(sql)

    def run(self) -> dict[str, Any]:
        a = self.args
        say(f"machine: {os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}, "
            f"{platform.system()} {platform.release()}")
        t0 = time.perf_counter()
        self.ack_pool = common.ack_requests(a.pool)
        say(f"built {len(self.ack_pool):,} signed one-message deliveries in {time.perf_counter() - t0:.1f}s")
        bare_rate = self.bare()
        need = int(bare_rate * (a.warmup + a.duration) * 0.6 + a.rate * a.paced_duration) + 1000
        if need > len(self.ack_pool):
            t0 = time.perf_counter()
            self.ack_pool += common.ack_requests(need - len(self.ack_pool), start=len(self.ack_pool))
            say(f"pool extended to {len(self.ack_pool):,} deliveries in {time.perf_counter() - t0:.1f}s")

        db_file = self.workdir / "bench.db"
        self.durable("sqlite", f"sqlite:///{db_file}")

        db_name = f"bench_ingest_{os.getpid()}"
        self.pg_admin(f"CREATE DATABASE {db_name}")
        try:
            self.durable("postgres", a.pg_url.rstrip("/") + "/" + db_name)
        finally:
            self.pg_admin(f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")

        rate = f"{a.rate:.0f}"
        o = self.out
        bare = o["ack_per_s_bare"] or float("nan")
        result = {
            "ack_ratio": round(o["ack_per_s_postgres"] / bare, 3),
            "ack_ratio_sqlite": round(o["ack_per_s_sqlite"] / bare, 3),
            "ack_per_s_bare": o["ack_per_s_bare"],
            "ack_per_s_sqlite": o["ack_per_s_sqlite"],
            "ack_per_s_postgres": o["ack_per_s_postgres"],
            "processed_per_s_postgres": o["processed_per_s_postgres"],
            "processed_per_s_sqlite": o["processed_per_s_sqlite"],
            "ack_p50_ms": o[f"ack_p50_ms_postgres_{rate}"],
            "ack_p99_ms": o[f"ack_p99_ms_postgres_{rate}"],
            f"ack_p99_ms_sqlite_{rate}": o[f"ack_p99_ms_sqlite_{rate}"],
            f"ack_p50_ms_sqlite_{rate}": o[f"ack_p50_ms_sqlite_{rate}"],
            "server_peak_rss_mb": o["server_peak_rss_mb"],
            "stored_ok": self.stored_ok,
            **{k: v for k, v in o.items() if k not in ("server_peak_rss_mb",)},
        }
        result["targets"] = {
            "ack_ratio>=0.5": result["ack_ratio"] >= TARGETS["ack_ratio"],
            "processed_per_s_postgres>=1000": result["processed_per_s_postgres"] >= TARGETS["processed_per_s_postgres"],
            "ack_p99_ms<50@500/s": result["ack_p99_ms"] < TARGETS["ack_p99_ms"],
        }
        result["settings"] = {
            "quick": a.quick, "connections": a.connections, "warmup_s": a.warmup, "duration_s": a.duration,
            "paced_rate": a.rate, "paced_duration_s": a.paced_duration, "processing_messages": a.messages,
            "messages_per_delivery": a.per_delivery, "senders": a.senders, "workers": a.workers,
            "pool": len(self.ack_pool), "pool_wrapped": self.pool_wrapped, "cores": os.cpu_count(),
            "server": "uvicorn (uvloop, httptools), 1 process, log_level=warning",
            "ingest_batch_max": Settings.model_fields["ingest_batch_max"].default,
            "ingest_batch_wait_ms": Settings.model_fields["ingest_batch_wait_ms"].default,
            "worker_batch": Settings.model_fields["worker_batch"].default,
            "python": platform.python_version(),
            **code_version(),
            "label": a.label,
        }
        return result


def code_version() -> dict[str, Any]:
    """The commit benchmarked, and whether the application code differs from it (other people may be
    editing the working tree while a benchmark runs)."""
    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=True, timeout=10).stdout.strip()
        status = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "centralino"],
                                capture_output=True, text=True, check=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "app_code_modified": None}
    return {"commit": commit, "app_code_modified": bool(status.strip())}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="short runs (under a minute in all)")
    p.add_argument("--label", help="free text recorded in the settings (e.g. which code was benchmarked)")
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--duration", type=float, help="closed-loop measurement, seconds (10; 3 with --quick)")
    p.add_argument("--warmup", type=float, help="seconds before measuring (2; 0.5 with --quick)")
    p.add_argument("--rate", type=float, default=500.0, help="paced run, requests/s")
    p.add_argument("--paced-duration", type=float, help="paced run, seconds (10; 3 with --quick)")
    p.add_argument("--messages", type=int, help="messages per processing run (5000; 1500 with --quick)")
    p.add_argument("--per-delivery", type=int, default=10)
    p.add_argument("--senders", type=int, default=1000, help="distinct senders in a processing run")
    p.add_argument("--workers", type=int, default=2, help="worker processes for the second PostgreSQL run")
    p.add_argument("--pool", type=int, default=20_000, help="initial number of pre-built deliveries")
    p.add_argument("--process-timeout", type=float, default=240.0)
    p.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432"))
    p.add_argument("--pg-admin-url", default=os.environ.get("BENCH_PG_ADMIN_URL",
                                                            "postgresql://postgres@127.0.0.1:5432/test"))
    a = p.parse_args(argv)
    a.duration = a.duration or (3.0 if a.quick else 10.0)
    a.warmup = a.warmup if a.warmup is not None else (0.5 if a.quick else 2.0)
    a.paced_duration = a.paced_duration or (3.0 if a.quick else 10.0)
    a.messages = a.messages or (1500 if a.quick else 5000)
    return a


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    bench = Bench(args)
    started = time.perf_counter()
    try:
        result = bench.run()
    except BaseException:
        bench.runner.stop_all()
        say(f"failed; server and worker logs kept in {bench.workdir}")
        raise
    bench.runner.stop_all()
    shutil.rmtree(bench.workdir, ignore_errors=True)
    result["settings"]["total_s"] = round(time.perf_counter() - started, 1)
    say(f"done in {result['settings']['total_s']}s; targets: {result['targets']}")
    print(json.dumps(result, separators=(",", ":")), flush=True)
    return 0 if result["stored_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())

"""Where the server's time goes under webhook load: `python -m bench.profile_server [sqlite|postgres|bare]`.

Starts the server like bench.ingest does, samples it with py-spy (`--py-spy PATH`; install it with
`pip install py-spy`, into the venv or elsewhere) while the closed-loop load runs, and prints the
functions with the most samples (self and inclusive) and a breakdown by package, per thread.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import uvloop

from bench import common, loadgen
from bench.ingest import Bench, CpuMeter, Pool, fmt_cpu, fmt_run, free_port, parse_args, start_server

AREAS = [
    ("psycopg", "psycopg"), ("sqlalchemy", "sqlalchemy"), ("sqlite3", "sqlite3"), ("uvicorn", "uvicorn"),
    ("starlette", "starlette"), ("fastapi", "fastapi"), ("centralino", "centralino"), ("hmac", "hmac/hashlib"),
    ("hashlib", "hmac/hashlib"), ("asyncio", "asyncio"), ("concurrent", "threads (to_thread)"),
    ("threading", "threads (to_thread)"), ("uvloop", "uvloop"), ("h11", "h11"),
]


def area(frame: str) -> str:
    m = re.search(r"\(([^)]*)\)$", frame)
    path = m.group(1) if m else frame
    for needle, name in AREAS:
        if f"{needle}/" in path or path.startswith(needle) or f"/{needle}." in path:
            return name
    return "other: " + path.split(":")[0].rsplit("/", 1)[-1]


def report(raw: Path, top: int) -> None:
    self_n: collections.Counter[str] = collections.Counter()
    incl: collections.Counter[str] = collections.Counter()
    by_area: collections.Counter[str] = collections.Counter()
    by_thread: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, n_text = line.rpartition(" ")
        if not stack:
            continue
        n = int(n_text)
        frames = stack.split(";")
        thread, frames = frames[0], frames[1:]
        total += n
        by_thread[thread] += n
        if frames:
            self_n[frames[-1]] += n
            by_area[area(frames[-1])] += n
        for f in set(frames):
            incl[f] += n
    print(f"\n{total} samples (GIL-holding threads only)")
    print("by thread:")
    for name, n in by_thread.most_common(8):
        print(f"  {n / total:6.1%}  {name}")
    print("self time by package:")
    for name, n in by_area.most_common(20):
        print(f"  {n / total:6.1%}  {name}")
    print("self time, top functions:")
    for name, n in self_n.most_common(top):
        print(f"  {n / total:6.1%}  {name}")
    print("inclusive time, top functions:")
    for name, n in incl.most_common(top):
        print(f"  {n / total:6.1%}  {name}")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("target", choices=["sqlite", "postgres", "bare"], nargs="?", default="postgres")
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--top", type=int, default=30)
    p.add_argument("--py-spy", default=shutil.which("py-spy") or "/tmp/pyspy/bin/py-spy")  # noqa: S108
    a = p.parse_args()
    bench = Bench(parse_args(["--quick"]))
    db_name = f"bench_pspy_{os.getpid()}"
    url = None
    if a.target == "sqlite":
        url = f"sqlite:///{bench.workdir}/prof.db"
    elif a.target == "postgres":
        bench.pg_admin(f"CREATE DATABASE {db_name}")
        url = f"{bench.args.pg_url}/{db_name}"
    try:
        port = free_port()
        proc = start_server(bench.runner, a.target, url, port)
        pool = Pool(common.ack_requests(int(30_000 * a.seconds) if a.target == "bare" else int(8000 * a.seconds)))
        raw = bench.workdir / "pyspy.txt"
        spy = subprocess.Popen([a.py_spy, "record", "-p", str(proc.popen.pid), "-d", str(int(a.seconds)), "-r", "200",
                                "-f", "raw", "-o", str(raw), "--gil", "-t", "--nonblocking", "-F"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(0.3)
        meter = CpuMeter(proc.popen.pid)
        res = uvloop.run(loadgen.closed_loop("127.0.0.1", port, pool.next, connections=a.connections, warmup_s=0.2,
                                             duration_s=a.seconds))
        cpu = meter.stop()
        print(fmt_run(f"{a.target} closed loop under py-spy", res))
        print(fmt_cpu(cpu))
        _, err = spy.communicate(timeout=60)
        if not raw.exists():
            raise SystemExit(f"py-spy wrote nothing: {err.decode(errors='replace')}")
        report(raw, a.top)
    finally:
        bench.runner.stop_all()
        if a.target == "postgres":
            bench.pg_admin(f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")
        shutil.rmtree(bench.workdir, ignore_errors=True)


if __name__ == "__main__":
    main()

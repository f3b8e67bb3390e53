"""Which layer costs what on the acknowledgement path: `python -m bench.ablation [--duration S]`.

Closed-loop runs (same client as bench.ingest) against: the bare Starlette endpoint; a bare
FastAPI app (its middleware stack around the same trivial route); the real service with the
database write skipped (HTTP + routing + signature check); with the group commit kept but its
INSERT skipped; the real service on SQLite and PostgreSQL with a 2 ms and no group-commit wait,
with the start-up heap frozen out of the cyclic GC (gc.freeze()), with the GC off, with two
group-commit loops, and with fewer/more connections. Everything but the application code is
patched in the bench server process (see bench/_server.py); the application code is untouched.
The server's CPU use tells whether it is saturated (about 1.0: one Python process cannot use much
more than one core) or waiting; `--time-writes` adds group-commit batch sizes and write times.
"""

from __future__ import annotations

import argparse
import os

import uvloop

from bench import common, loadgen
from bench.ingest import Bench, CpuMeter, Pool, fmt_cpu, free_port, parse_args, start_server


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--duration", type=float, default=3.0)
    p.add_argument("--only", help="labels to run, separated by |")
    p.add_argument("--time-writes", action="store_true", help="report group-commit batch sizes and write times")
    a = p.parse_args()
    bench = Bench(parse_args(["--quick"]))
    db_name = f"bench_abl_{os.getpid()}"
    bench.pg_admin(f"CREATE DATABASE {db_name}")
    pg = f"{bench.args.pg_url}/{db_name}"
    sqlite = f"sqlite:///{bench.workdir}/abl.db"
    w0 = {"CENTRALINO_INGEST_BATCH_WAIT_MS": "0"}
    w2 = {"CENTRALINO_INGEST_BATCH_WAIT_MS": "2"}
    freeze = {"BENCH_GC_FREEZE": "1"}
    cases = [
        ("bare starlette", "bare", None, {}, 64),
        ("bare fastapi", "fastapi", None, {}, 64),
        ("app, no db write", "app-nostore", sqlite, {}, 64),
        ("app, group commit no-op", "app-nowrite", sqlite, w0, 64),
        ("app, no-op, gc freeze", "app-nowrite", sqlite, {**w0, **freeze}, 64),
        ("app sqlite wait 2ms", "app", sqlite, w2, 64),
        ("app sqlite wait 0", "app", sqlite, w0, 64),
        ("app sqlite gc freeze", "app", sqlite, {**w0, **freeze}, 64),
        ("app postgres wait 2ms", "app", pg, w2, 64),
        ("app postgres wait 0", "app", pg, w0, 64),
        ("app postgres gc freeze", "app", pg, {**w0, **freeze}, 64),
        ("app postgres gc off", "app", pg, {**w0, "BENCH_GC_THRESHOLD": "0"}, 64),
        ("app postgres freeze+2 writers", "app", pg, {**w0, **freeze, "BENCH_WRITERS": "2"}, 64),
        ("app postgres 16 conns", "app", pg, w0, 16),
        ("app postgres 256 conns", "app", pg, w0, 256),
    ]
    if a.only:
        wanted = set(a.only.split("|"))
        cases = [c for c in cases if c[0] in wanted]
    pool = Pool(common.ack_requests(int(30_000 * (a.duration + 0.5))))
    try:
        for label, target, url, env, conns in cases:
            port = free_port()
            if a.time_writes:
                env = {**env, "BENCH_TIME_WRITES": "1"}
            proc = start_server(bench.runner, label.replace(" ", "_").replace(",", ""), url, port, target=target,
                                extra_env=env)
            try:
                meter = CpuMeter(proc.popen.pid)
                res = uvloop.run(loadgen.closed_loop("127.0.0.1", port, pool.next, connections=conns, warmup_s=0.5,
                                                     duration_s=a.duration))
                cpu = meter.stop()
            finally:
                proc.stop()
            per_req_us = cpu["server"] / res.rate * 1e6 if res.rate else float("nan")
            print(f"{label:26s} {res.rate:8,.0f} req/s  p50 {res.pct_ms(0.5):6.2f} ms  p99 {res.pct_ms(0.99):6.2f} ms"
                  f"  server CPU {per_req_us:5.0f} us/request" + (f"  errors {res.errors}" if res.errors else ""))
            print(fmt_cpu(cpu), flush=True)
            for line in proc.tail(20).splitlines():
                if line.startswith("BENCH_WRITES"):
                    print("    " + line)
    finally:
        bench.runner.stop_all()
        bench.pg_admin(f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")


if __name__ == "__main__":
    main()

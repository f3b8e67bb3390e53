"""Where the delivery worker's time goes: `python -m bench.profile_processing [--sqlite] [--messages N]`.

Stores N messages (deliveries of 10) directly in a fresh database (PostgreSQL by default, dropped
afterwards), then drains them in this process under cProfile. Prints wall and CPU time, the number
of SQL statements and commits, and the top functions.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import resource
import shutil
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import event

from bench import common
from bench.drain import drain_all
from centralino.config import Mode, Settings
from centralino.errors import Conflict
from centralino.services import build_services
from centralino.storage import channels as channel_repo
from centralino.storage import deliveries


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--sqlite", action="store_true")
    p.add_argument("--messages", type=int, default=2000)
    p.add_argument("--top", type=int, default=35)
    p.add_argument("--sort", default="tottime")
    p.add_argument("--filter", help="only functions whose path matches this regex (e.g. centralino)")
    p.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432")
    p.add_argument("--async-commit", action="store_true",
                   help="PostgreSQL: synchronous_commit=off for the database (how much is the WAL flush)")
    p.add_argument("--per-delivery", type=int, default=10, help="messages per webhook delivery (realtime: 1)")
    p.add_argument("--batch", type=int, help="deliveries per worker batch (default: the worker's)")
    p.add_argument("--no-profile", action="store_true", help="time without cProfile")
    a = p.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="centralino-prof-"))
    db_name = f"bench_prof_{os.getpid()}"
    import psycopg

    admin = "postgresql://postgres@127.0.0.1:5432/test"
    if a.sqlite:
        url = f"sqlite:///{workdir}/prof.db"
    else:
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute(f"CREATE DATABASE {db_name}")
            if a.async_commit:
                c.execute(f"ALTER DATABASE {db_name} SET synchronous_commit = off")
        url = f"{a.pg_url}/{db_name}"
    try:
        services = build_services(Settings(database_url=url, mode=Mode.DEV, run_workers=False,
                                           media_dir=workdir / "media"))
        try:
            with services.engine.begin() as conn:
                channel_repo.create(conn, services.box, kind="whatsapp", name="Bench", address=common.PNID,
                                    account_id=common.WABA, display_address=common.DISPLAY, config={},
                                    secrets={"app_secret": common.APP_SECRET})
        except Conflict:
            pass
        services.directory.refresh()
        if a.batch:
            services.delivery_worker.batch = a.batch
        reqs = common.batch_requests(a.messages // a.per_delivery, a.per_delivery, sender_base=1_000_000,
                                     senders=1000, tag="PROF")
        bodies = [r.split(b"\r\n\r\n", 1)[1] for r in reqs]
        with services.engine.begin() as conn:
            deliveries.store_many(conn, "whatsapp", bodies, datetime.now(UTC))
        stats = {"statements": 0, "commits": 0}
        kinds: Counter[str] = Counter()

        def on_execute(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
            stats["statements"] += 1
            kinds[" ".join(statement.split())[:110]] += 1

        event.listen(services.engine, "before_cursor_execute", on_execute)
        event.listen(services.engine, "commit", lambda *args: stats.__setitem__("commits", stats["commits"] + 1))
        prof = cProfile.Profile()
        r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        if not a.no_profile:
            prof.enable()
        drain_all(services)
        prof.disable()
        wall = time.perf_counter() - t0
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
        note = "" if a.no_profile else ", profiled"
        print(f"{a.messages} messages in {wall:.2f}s wall ({a.messages / wall:,.0f}/s{note}), "
              f"process CPU {cpu:.2f}s ({cpu / wall:.0%}); {stats['statements']} statements "
              f"({stats['statements'] / a.messages:.1f}/message), {stats['commits']} commits")
        print("statements per message, by kind:")
        for sql, n in kinds.most_common(25):
            print(f"  {n / a.messages:6.2f}  {sql}")
        if not a.no_profile:
            restrictions: list[str | int] = [a.filter] if a.filter else []
            pstats.Stats(prof).sort_stats(a.sort).print_stats(*restrictions, a.top)
        services.dispose()
    finally:
        if not a.sqlite:
            with psycopg.connect(admin, autocommit=True) as c:
                c.execute(f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()

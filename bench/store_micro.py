"""CPU cost per delivery of the group-commit INSERT, as written and with cheaper spellings:
`python -m bench.store_micro [--batch 64] [--rounds 200]`.

The acknowledgement path is bound by the server's one core (the GIL); every microsecond spent
per delivery in the writer thread is taken from HTTP handling. This measures, per delivery,
the CPU time (process time, so waiting for the commit is excluded) of:
  - deliveries.store_many (SQLAlchemy Core executemany, the current code);
  - the raw DBAPI executemany of the same INSERT (tuples, no SQLAlchemy);
  - PostgreSQL only: one INSERT ... SELECT FROM unnest(%s::bytea[]) (one statement per batch);
  - PostgreSQL only: COPY webhook_deliveries FROM STDIN (binary).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import common
from centralino.storage import deliveries
from centralino.storage.db import make_engine, upgrade

COLS = "(channel_kind, received_at, body, state, attempts)"


def measure(label: str, rounds: int, batch: int, fn: Callable[[list[bytes]], None], bodies: list[bytes]) -> None:
    for _ in range(5):
        fn(bodies[:batch])
    c0, w0 = time.process_time(), time.perf_counter()
    for i in range(rounds):
        start = (i * batch) % (len(bodies) - batch)
        fn(bodies[start:start + batch])
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    n = rounds * batch
    print(f"  {label:44s} CPU {cpu / n * 1e6:6.1f} us/delivery   wall {wall / rounds * 1000:6.2f} ms/batch")


def run(url: str, name: str, batch: int, rounds: int, bodies: list[bytes]) -> None:
    upgrade(url)
    engine = make_engine(url)
    print(f"{name}, batches of {batch}:")

    def sqlalchemy_core(b: list[bytes]) -> None:
        with engine.begin() as conn:
            deliveries.store_many(conn, "whatsapp", b, datetime.now(UTC))

    measure("store_many (SQLAlchemy executemany)", rounds, batch, sqlalchemy_core, bodies)
    ph = "?" if name == "sqlite" else "%s"
    sql = f"INSERT INTO webhook_deliveries {COLS} VALUES ({ph}, {ph}, {ph}, 'pending', 0)"  # noqa: S608 (constants)

    def raw_executemany(b: list[bytes]) -> None:
        with engine.begin() as conn:
            now: Any = datetime.now(UTC)
            if name == "sqlite":
                now = now.replace(tzinfo=None).isoformat(" ")
            cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            cur.executemany(sql, [("whatsapp", now, body) for body in b])
            cur.close()

    measure("raw DBAPI executemany", rounds, batch, raw_executemany, bodies)
    if name == "postgres":
        def unnest(b: list[bytes]) -> None:
            with engine.begin() as conn:
                cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
                sql = (f"INSERT INTO webhook_deliveries {COLS} SELECT 'whatsapp', %s, body, 'pending', 0 "  # noqa: S608
                       "FROM unnest(%s::bytea[]) AS body")
                cur.execute(sql, (datetime.now(UTC), b))
                cur.close()

        measure("INSERT ... SELECT FROM unnest(bytea[])", rounds, batch, unnest, bodies)

        def copy(b: list[bytes]) -> None:
            with engine.begin() as conn:
                cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
                now = datetime.now(UTC)
                with cur.copy(f"COPY webhook_deliveries {COLS} FROM STDIN") as cp:
                    for body in b:
                        cp.write_row(("whatsapp", now, body, "pending", 0))
                cur.close()

        measure("COPY FROM STDIN", rounds, batch, copy, bodies)
    engine.dispose()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--rounds", type=int, default=200)
    a = p.parse_args()
    bodies = [r.split(b"\r\n\r\n", 1)[1] for r in common.ack_requests(4000)]
    workdir = Path(tempfile.mkdtemp(prefix="centralino-micro-"))
    import psycopg

    admin = "postgresql://postgres@127.0.0.1:5432/test"
    db_name = f"bench_micro_{os.getpid()}"
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(f"CREATE DATABASE {db_name}")
    try:
        run(f"sqlite:///{workdir}/micro.db", "sqlite", a.batch, a.rounds, bodies)
        run(f"postgresql://postgres@127.0.0.1:5432/{db_name}", "postgres", a.batch, a.rounds, bodies)
    finally:
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute(f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()

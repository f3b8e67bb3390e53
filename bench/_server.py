"""The benchmarked server, run as its own process: `python -m bench._server TARGET PORT`.

`app` is the real service (create_app) with settings from the environment (CENTRALINO_*) and a
WhatsApp channel created for the bench's app secret; `bare` is a minimal Starlette endpoint that
reads the body and answers 200. Both are served by uvicorn with its defaults (uvloop, httptools).

Diagnostic targets, for bench.ablation only (the application code is untouched, the bench patches
it in this process): `fastapi` is a bare FastAPI app (its middleware stack) with the same trivial
route; `app-nostore` is the real service with GroupCommitWriter.store answering at once (HTTP,
routing and signature check without the database write); `app-nowrite` keeps the group-commit
queue, wait, thread hand-off and futures but skips the INSERT and commit.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import uvicorn

from bench import common


def bare_app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def receive(request: Request) -> Response:
        await request.body()
        return Response(status_code=200)

    return Starlette(routes=[Route(common.PATH, receive, methods=["POST"])])


def fastapi_app() -> Any:
    from fastapi import FastAPI
    from starlette.routing import Route

    bare = bare_app()
    app = FastAPI()
    app.router.routes.extend([Route(common.PATH, bare.routes[0].endpoint, methods=["POST"])])
    return app


def real_app() -> Any:
    from centralino.config import Settings
    from centralino.errors import Conflict
    from centralino.services import build_services
    from centralino.storage import channels as channel_repo
    from centralino.web.app import create_app

    settings = Settings()
    services = build_services(settings)
    try:
        with services.engine.begin() as conn:
            channel_repo.create(
                conn, services.box, kind="whatsapp", name="Bench", address=common.PNID, account_id=common.WABA,
                display_address=common.DISPLAY,
                config={"graph_base_url": "http://127.0.0.1:9", "graph_version": "v23.0"},
                secrets={"app_secret": common.APP_SECRET, "verify_token": common.VERIFY_TOKEN,
                         "access_token": common.ACCESS_TOKEN})
    except Conflict:
        pass
    return create_app(settings, services)


def _parallel_writers(n: int) -> None:
    import asyncio

    from centralino.storage.group_commit import GroupCommitWriter

    def start(self: GroupCommitWriter) -> None:
        self._queue = asyncio.Queue()
        loop = asyncio.get_running_loop()
        tasks = [loop.create_task(self._run(), name=f"group-commit-{self._kind}-{i}") for i in range(n)]
        self._task = tasks[0]
        self._bench_tasks = tasks  # type: ignore[attr-defined]

    async def stop(self: GroupCommitWriter) -> None:
        for task in getattr(self, "_bench_tasks", []):
            task.cancel()
        await asyncio.gather(*getattr(self, "_bench_tasks", []), return_exceptions=True)
        self._task = None

    GroupCommitWriter.start = start  # type: ignore[method-assign]
    GroupCommitWriter.stop = stop  # type: ignore[method-assign]


def _time_writes() -> None:
    """Diagnostics: record each group-commit batch (size, wall time, writer-thread CPU time) and
    print a summary to stderr when the server stops."""
    import atexit
    import time

    from centralino.storage.group_commit import GroupCommitWriter

    original = GroupCommitWriter._write
    samples: list[tuple[int, float, float]] = []

    def timed(self: GroupCommitWriter, bodies: list[bytes]) -> None:
        w0, c0 = time.perf_counter(), time.thread_time()
        original(self, bodies)
        samples.append((len(bodies), time.perf_counter() - w0, time.thread_time() - c0))

    def summary() -> None:
        if not samples:
            return
        n = len(samples)
        rows = sum(s[0] for s in samples)
        walls = sorted(s[1] for s in samples)
        cpu = sum(s[2] for s in samples)
        print(f"BENCH_WRITES batches={n} rows={rows} mean_batch={rows / n:.1f} "
              f"write_wall_ms p50={walls[n // 2] * 1000:.2f} p99={walls[int(n * 0.99)] * 1000:.2f} "
              f"mean={sum(walls) / n * 1000:.2f} writer_cpu_us_per_row={cpu / rows * 1e6:.1f}",
              file=sys.stderr, flush=True)

    GroupCommitWriter._write = timed  # type: ignore[method-assign]
    atexit.register(summary)


def main() -> None:
    target, port = sys.argv[1], int(sys.argv[2])
    if os.environ.get("BENCH_GC_THRESHOLD"):  # diagnostics: gen0 threshold of the cyclic GC (0 = disabled)
        import gc

        gc.set_threshold(int(os.environ["BENCH_GC_THRESHOLD"]))
    if os.environ.get("BENCH_SWITCH_INTERVAL"):  # diagnostics: the GIL hand-off interval (default 5 ms)
        sys.setswitchinterval(float(os.environ["BENCH_SWITCH_INTERVAL"]))
    if target == "app-nostore":
        from centralino.storage.group_commit import GroupCommitWriter

        async def no_store(self: GroupCommitWriter, body: bytes) -> None:
            return None

        GroupCommitWriter.store = no_store  # type: ignore[method-assign]
    if target == "app-nowrite":
        from centralino.storage.group_commit import GroupCommitWriter

        def no_write(self: GroupCommitWriter, bodies: list[bytes]) -> None:
            return None

        GroupCommitWriter._write = no_write  # type: ignore[method-assign]
    if os.environ.get("BENCH_WRITERS"):  # diagnostics: N group-commit loops on one queue (N commits in flight)
        _parallel_writers(int(os.environ["BENCH_WRITERS"]))
    if os.environ.get("BENCH_TIME_WRITES"):
        _time_writes()
    app = {"bare": bare_app, "fastapi": fastapi_app}.get(target, real_app)()
    if os.environ.get("BENCH_GC_FREEZE"):  # diagnostics: move the start-up heap out of the GC's reach
        import gc

        gc.collect()
        gc.freeze()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()

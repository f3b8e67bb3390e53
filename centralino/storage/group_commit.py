"""Group commit: many webhook deliveries per transaction, each request answered after its commit.

A single writer drains the queue: while one transaction commits, the next requests pile up and go
together in the following one, so throughput rises with load while each request still waits for
its own durable commit before the 200.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine

from centralino.storage import deliveries

log = logging.getLogger(__name__)


class GroupCommitWriter:
    def __init__(self, engine: Engine, channel_kind: str, max_batch: int = 500, wait_ms: float = 0.0,
                 on_commit: Callable[[int], None] | None = None) -> None:
        self._engine = engine
        self._kind = channel_kind
        self._max_batch = max_batch
        self._wait_s = wait_ms / 1000
        self._on_commit = on_commit
        self._queue: asyncio.Queue[tuple[bytes, asyncio.Future[None]]] | None = None
        self._task: asyncio.Task[None] | None = None
        # The writer keeps one connection: a pool checkout (with its pre-ping round trip) per batch
        # costs as much as the batch's COPY. Dropped after any error, opened again on the next batch.
        self._conn: Connection | None = None
        self.batches = 0
        self.stored = 0

    def start(self) -> None:
        self._queue = asyncio.Queue()
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"group-commit-{self._kind}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await asyncio.to_thread(conn.close)

    async def store(self, body: bytes) -> None:
        """Returns once `body` is committed; raises if the commit failed (the caller answers 5xx)."""
        if self._queue is None:
            raise RuntimeError("GroupCommitWriter.start() was not called")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((body, future))
        await future

    async def _run(self) -> None:
        assert self._queue is not None
        queue = self._queue
        while True:
            batch = [await queue.get()]
            if self._wait_s:
                await asyncio.sleep(self._wait_s)
            while len(batch) < self._max_batch and not queue.empty():
                batch.append(queue.get_nowait())
            try:
                await asyncio.to_thread(self._write, [body for body, _ in batch])
            except Exception as exc:
                log.exception("storing %d webhook deliveries failed", len(batch))
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(exc)
                continue
            self.batches += 1
            self.stored += len(batch)
            for _, fut in batch:
                if not fut.done():
                    fut.set_result(None)
            if self._on_commit is not None:
                self._on_commit(len(batch))

    def _write(self, bodies: list[bytes]) -> None:
        conn = self._conn
        if conn is None or conn.closed or conn.invalidated:
            conn = self._conn = self._engine.connect()
        try:
            with conn.begin():
                deliveries.store_many(conn, self._kind, bodies, datetime.now(UTC))
        except Exception:
            self._conn = None
            with contextlib.suppress(Exception):
                conn.invalidate()  # the connection may be broken: never hand it out again
            raise

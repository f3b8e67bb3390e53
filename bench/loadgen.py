"""A small HTTP/1.1 keep-alive load generator on asyncio streams (fast enough to saturate one server core).

Requests are whole pre-built HTTP requests (bytes); responses are read by status line and
Content-Length (chunked bodies are read too, though the benchmarked endpoints never send them).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field


class ProtocolError(Exception):
    pass


@dataclass
class RunResult:
    measured: int = 0  # 200s completed inside the measurement window
    measured_s: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds, measured requests only
    ok: int = 0  # every 200, warm-up included (what the server must have stored)
    errors: dict[str, int] = field(default_factory=dict)  # non-200 statuses and exceptions
    sent: int = 0

    @property
    def rate(self) -> float:
        return self.measured / self.measured_s if self.measured_s else 0.0

    def pct_ms(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    def error(self, key: str) -> None:
        self.errors[key] = self.errors.get(key, 0) + 1


async def _connect(host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection(host, port, limit=1 << 20)
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return reader, writer


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, data: bytes) -> int:
    writer.write(data)
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1."):
        raise ProtocolError(f"bad status line {head[:40]!r}")
    status = int(head[9:12])
    lower = head.lower()
    idx = lower.find(b"\r\ncontent-length:")
    if idx >= 0:
        end = lower.index(b"\r\n", idx + 2)
        length = int(lower[idx + 17:end])
        if length:
            await reader.readexactly(length)
    elif b"\r\ntransfer-encoding: chunked" in lower:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif b"\r\nconnection: close" in lower:
        raise ProtocolError("server closed the connection")
    return status


async def closed_loop(host: str, port: int, next_request: Callable[[], bytes], *, connections: int,
                      warmup_s: float, duration_s: float) -> RunResult:
    """Each connection sends back to back; counts the 200s completed in [warm-up end, end] (requests
    in flight at the end are finished and counted in `ok`, not in the rate)."""
    result = RunResult()
    conns = [await _connect(host, port) for _ in range(connections)]
    start = time.perf_counter()
    measure_from = start + warmup_s
    measure_to = measure_from + duration_s

    async def one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            t0 = time.perf_counter()
            if t0 >= measure_to:
                break
            data = next_request()
            result.sent += 1
            try:
                status = await _exchange(reader, writer, data)
            except (OSError, asyncio.IncompleteReadError, ProtocolError) as exc:
                result.error(type(exc).__name__)
                return
            t1 = time.perf_counter()
            if status != 200:
                result.error(str(status))
                continue
            result.ok += 1
            if measure_from <= t1 <= measure_to:
                result.measured += 1
                result.latencies.append(t1 - t0)

    await asyncio.gather(*(one(r, w) for r, w in conns))
    result.measured_s = duration_s
    for _, writer in conns:
        writer.close()
    return result


async def paced(host: str, port: int, next_request: Callable[[], bytes], *, connections: int, rate: float,
                duration_s: float) -> RunResult:
    """Open loop: request i is due at start + i/rate; latency counts from that due time, so a
    server that falls behind is charged for the queueing too (no coordinated omission)."""
    result = RunResult()
    conns = [await _connect(host, port) for _ in range(connections)]
    total = int(rate * duration_s)
    counter = iter(range(total))
    start = time.perf_counter() + 0.05
    lag = [0.0]

    async def one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for i in counter:
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                lag[0] = max(lag[0], -delay)
            data = next_request()
            result.sent += 1
            try:
                status = await _exchange(reader, writer, data)
            except (OSError, asyncio.IncompleteReadError, ProtocolError) as exc:
                result.error(type(exc).__name__)
                return
            done = time.perf_counter()
            if status != 200:
                result.error(str(status))
                continue
            result.ok += 1
            result.measured += 1
            result.latencies.append(done - due)

    t0 = time.perf_counter()
    await asyncio.gather(*(one(r, w) for r, w in conns))
    result.measured_s = max(duration_s, time.perf_counter() - t0)
    for _, writer in conns:
        writer.close()
    return result


async def send_all(host: str, port: int, requests: list[bytes], *, connections: int = 8) -> RunResult:
    """Send every request once (the setup of the processing benchmark)."""
    result = RunResult()
    conns = [await _connect(host, port) for _ in range(connections)]
    it = iter(requests)
    t0 = time.perf_counter()

    async def one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for data in it:
            result.sent += 1
            status = await _exchange(reader, writer, data)
            if status == 200:
                result.ok += 1
                result.measured += 1
            else:
                result.error(str(status))

    await asyncio.gather(*(one(r, w) for r, w in conns))
    result.measured_s = time.perf_counter() - t0
    for _, writer in conns:
        writer.close()
    return result

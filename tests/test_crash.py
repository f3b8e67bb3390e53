"""Kill -9 the service after it acknowledged and before (or while) it processed: after a restart
everything is processed, exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from centralino.storage.tables import events, messages, webhook_deliveries
from tests.factories import signed_headers, text_delivery, whatsapp_channel
from tests.helpers import count
from tests.processes import free_port


def start(db_url: str, tmp_path: Path, port: int, workers: bool) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CENTRALINO_DATABASE_URL": db_url, "CENTRALINO_RUN_WORKERS": str(workers).lower(),
           "CENTRALINO_MEDIA_DIR": str(tmp_path / "media"), "CENTRALINO_DELIVERY_LEASE_S": "1",
           "CENTRALINO_WORKER_POLL_S": "0.1", "CENTRALINO_MODE": "dev"}
    proc = subprocess.Popen([sys.executable, "-m", "centralino.cli", "serve", "--port", str(port)], env=env,
                            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=(tmp_path / f"server-{port}.log").open("wb"))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.1)
        if proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError("server did not start: " + (tmp_path / f"server-{port}.log").read_text()[-2000:])


def post_all(port: int, bodies: list[bytes]) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        for body in bodies:
            assert http.post("/webhooks/whatsapp", content=body, headers=signed_headers(body)).status_code == 200


def wait_processed(services, expected_deliveries: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if count(services, webhook_deliveries, webhook_deliveries.c.state == "processed") == expected_deliveries:
            return
        time.sleep(0.1)
    raise AssertionError("deliveries not all processed in time")


def deliveries(n: int, per: int = 5) -> list[bytes]:
    return [text_delivery(f"3934720{d % 40:05d}", f"delivery {d} message {k}", 1790000000 + d * per + k,
                          f"wamid.K{d}-{k}") for d in range(n) for k in range(per)]


def kill(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait()


@pytest.mark.parametrize("moment", ["after_ack", "while_processing"])
def test_kill_nine_loses_and_doubles_nothing(db_url, tmp_path, services, moment):
    whatsapp_channel(services)
    bodies = deliveries(60)
    port = free_port()
    server = start(db_url, tmp_path, port, workers=False)
    try:
        post_all(port, bodies)
    finally:
        kill(server)  # acknowledged, not processed
    assert count(services, webhook_deliveries) == len(bodies)  # every acknowledged delivery was durable
    assert count(services, messages) == 0
    if moment == "while_processing":
        server = start(db_url, tmp_path, port, workers=True)
        try:
            deadline = time.monotonic() + 20
            while count(services, messages) == 0 and time.monotonic() < deadline:
                time.sleep(0.005)
        finally:
            kill(server)  # mid-stream: some deliveries claimed, some events applied
        print(f"{count(services, messages)} of {len(bodies)} processed before the kill")
    restarted = start(db_url, tmp_path, port, workers=True)
    try:
        wait_processed(services, len(bodies))
    finally:
        restarted.send_signal(signal.SIGTERM)
        restarted.wait(timeout=30)
    assert count(services, messages) == len(bodies)
    assert count(services, events, events.c.type == "message.received") == len(bodies)

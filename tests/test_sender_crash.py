"""Kill -9 the worker while it sends: after a restart every message has reached the (simulated) Meta
exactly once. Real processes over real HTTP: `centralino simulator`, `centralino serve`, `centralino worker`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from centralino.domain.outbound import Text
from centralino.storage.tables import events, messages, outbox
from tests import processes as processes_helper
from tests.factories import ACCESS_TOKEN, APP_SECRET, PNID, WABA, whatsapp_channel
from tests.helpers import count
from tests.processes import free_port

CUSTOMERS = 120


class Processes:
    def __init__(self, tmp_path: Path, env: dict[str, str]) -> None:
        self.tmp_path = tmp_path
        self.env = env
        self.procs: list[subprocess.Popen[bytes]] = []

    def spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (self.tmp_path / f"{name}.log").open("ab")
        proc = subprocess.Popen([sys.executable, "-m", "centralino.cli", *args], env=self.env, cwd=self.tmp_path,
                                stdout=log, stderr=log)
        self.procs.append(proc)
        return proc

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-1500:]}" for p in sorted(self.tmp_path.glob("*.log")))

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)


@contextmanager
def processes(tmp_path: Path, env: dict[str, str]) -> Iterator[Processes]:
    procs = Processes(tmp_path, env)
    try:
        yield procs
    finally:
        procs.stop_all()


def wait_for(what: str, check: Callable[[], Any], procs: Processes, timeout: float = 60) -> Any:
    return processes_helper.wait_for(what, check, timeout, context=procs.logs)


def test_a_worker_killed_mid_send_loses_and_doubles_nothing(db_url, tmp_path, services):
    sim_port, web_port = free_port(), free_port()
    sim_url = f"http://127.0.0.1:{sim_port}"
    whatsapp_channel(services, graph_base_url=sim_url)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("CENTRALINO_")},
           "CENTRALINO_DATABASE_URL": db_url, "CENTRALINO_MODE": "dev", "CENTRALINO_MEDIA_DIR": str(tmp_path / "m"),
           "CENTRALINO_WORKER_POLL_S": "0.1", "CENTRALINO_DELIVERY_LEASE_S": "1",
           # a short lease and reconciliation window: recovery in seconds rather than the production minute
           "CENTRALINO_OUTBOX_LEASE_S": "2", "CENTRALINO_SENDER_RECONCILE_WINDOW_S": "3",
           "CENTRALINO_SENDER_DEFAULT_MPS": "60"}
    with processes(tmp_path, env) as procs:
        procs.spawn("simulator", "simulator", "--port", str(sim_port),
                    "--webhook-url", f"http://127.0.0.1:{web_port}/webhooks/whatsapp", "--phone-number-id", PNID,
                    "--waba-id", WABA, "--app-secret", APP_SECRET, "--access-token", ACCESS_TOKEN,
                    "--status-delays", "0,0,-", "--pair-mode", "record")
        procs.spawn("web", "serve", "--no-workers", "--port", str(web_port))
        wait_for("simulator up", lambda: httpx.get(f"{sim_url}/_sim/stats", timeout=2).status_code == 200, procs)
        wait_for("web up", lambda: httpx.get(f"http://127.0.0.1:{web_port}/healthz", timeout=2).status_code == 200,
                 procs)
        worker = procs.spawn("worker-1", "worker")
        wa_ids = [f"3934700{i:05d}" for i in range(CUSTOMERS)]
        with httpx.Client(base_url=sim_url, timeout=10) as sim:
            for wa_id in wa_ids:
                sim.post(f"/_sim/customers/{wa_id}/messages", json={"type": "text", "body": "ciao"}).raise_for_status()
        from tests.outbound_helpers import conversation_of

        def conversations() -> list[int] | None:
            try:
                return [conversation_of(services, w) for w in wa_ids]
            except Exception:  # not all there yet
                return None

        conv_ids = wait_for("every customer's conversation", conversations, procs)
        worker.send_signal(signal.SIGTERM)
        worker.wait(15)

        ids = [services.outbound.do_send(c, Text(f"Il tuo ordine {i} è partito"), origin="test").message_id
               for i, c in enumerate(conv_ids)]
        accepted = messages.c.accepted_at.is_not(None)
        worker = procs.spawn("worker-2", "worker")
        wait_for("a third of the messages accepted", lambda: count(services, messages, accepted) >= CUSTOMERS // 3,
                 procs)
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        at_kill = count(services, messages, accepted)
        assert at_kill < CUSTOMERS, "the worker finished before it was killed: the test proved nothing"

        procs.spawn("worker-3", "worker")
        wait_for("every outbox row done", lambda: count(services, outbox, outbox.c.message_id.in_(ids),
                                                         outbox.c.state != "done") == 0, procs, timeout=90)
        stats = httpx.get(f"{sim_url}/_sim/stats", timeout=10).json()["numbers"][PNID]

    print(f"{at_kill} of {CUSTOMERS} accepted when the worker was killed")
    assert stats["accepted"] == CUSTOMERS  # Meta received each message once...
    assert stats["duplicates"]["callback_data"] == 0 and stats["duplicates"]["bodies"] == 0  # ...and never twice
    assert stats["pair_violations"] == 0
    assert count(services, messages, messages.c.id.in_(ids), messages.c.external_id.is_not(None)) == CUSTOMERS
    assert count(services, messages, messages.c.id.in_(ids), messages.c.status == "failed") == 0
    assert count(services, events, events.c.type == "message.sent_twice") == 0


"""`centralino demo` as a newcomer runs it: a real process, the simulator inside, customers chatting."""

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

from tests import processes
from tests.processes import free_port

TOKEN = {"Authorization": "Bearer demo-token"}


@contextmanager
def demo_process(cwd: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("CENTRALINO_")},
           "CENTRALINO_SENDER_PAIR_INTERVAL_S": "0"}  # no 6-second spacing between replies: a quicker test
    log = (cwd / "demo.log").open("ab")
    proc = subprocess.Popen([sys.executable, "-m", "centralino.cli", "demo", "--port", str(port)], cwd=cwd, env=env,
                            stdout=log, stderr=log)
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


def wait_for(what: str, check: Callable[[], Any], cwd: Path, timeout: float = 60) -> Any:
    return processes.wait_for(what, check, timeout, context=lambda: (cwd / "demo.log").read_text()[-3000:])


def test_demo_brings_up_customers_chatting_through_the_simulator_and_survives_a_restart(tmp_path):
    port = free_port()
    api = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=TOKEN, timeout=10)
    with demo_process(tmp_path, port):
        convs = wait_for("four conversations", lambda: (
            (items := api.get("/api/v1/conversations").json()["items"]) and len(items) == 4 and items), tmp_path)
        names = {c["contact_name"] for c in convs}
        assert names == {"Giulia Bianchi", "Marco Rossi", "Sofia Ricci", "Luca Conti"}
        assert all(c["window"]["is_open"] == (c["contact_name"] != "Luca Conti") for c in convs)
        # the simulator's templates are in the template manager; Luca (window closed) gets one
        approved = api.get("/api/v1/templates", params={"status": "approved"}).json()["items"]
        assert {(t["name"], t["language"]) for t in approved} >= {("order_update", "it"), ("conversation_reopen", "it")}
        luca = next(c for c in convs if c["contact_name"] == "Luca Conti")
        reopen = api.post(f"/api/v1/conversations/{luca['id']}/templates",
                          json={"name": "conversation_reopen", "language": "it", "parameters": {"body": ["Luca"]}})
        assert reopen.status_code == 202, reopen.text
        wait_for("the template delivered to Luca", lambda: api.get(f"/api/v1/messages/{reopen.json()['id']}").json()[
            "status"] in ("delivered", "read"), tmp_path)
        giulia = next(c for c in convs if c["contact_name"] == "Giulia Bianchi")

        def giulia_done() -> list[dict[str, Any]] | None:
            items = api.get(f"/api/v1/conversations/{giulia['id']}/messages").json()["items"]
            outs = [m for m in items if m["direction"] == "out"]
            tapped = [m for m in items if m["direction"] == "in" and m["type"] == "interactive"]
            return items if len(outs) == 2 and tapped and all(m["status"] == "read" for m in outs) else None

        items = wait_for("Giulia's replies read and her button tapped", giulia_done, tmp_path)
        tap = next(m for m in items if m["direction"] == "in" and m["type"] == "interactive")
        assert tap["text"] == "Sostituzione"
        assert any(m["type"] == "image" for m in items)  # her photo, downloaded from the simulator
        page = httpx.get(f"http://127.0.0.1:{port}/simulator/", timeout=10)
        assert page.status_code == 200 and "<html" in page.text.lower()
        # routing (centralino/demo_routing.py): the customers wait in the demo queue until Giulia goes online
        queue = next(q for q in api.get("/api/v1/routing/queues").json() if q["name"] == "Assistenza WhatsApp")
        agent = next(u["id"] for u in api.get("/api/v1/users").json() if u["email"].startswith("giulia.agent@"))
        assert api.put(f"/api/v1/routing/agents/{agent}/presence", json={"state": "online"}).status_code == 200
        offered = wait_for("the waiting customers offered to Giulia", lambda: (
            (items := api.get(f"/api/v1/routing/queues/{queue['id']}/items").json())
            and all(i["assigned_to"] == agent for i in items) and items), tmp_path)
        assert {i["conversation_id"] for i in offered} >= {c["id"] for c in convs if c["contact_name"] != "Luca Conti"}

    # Same database, new process: the simulator starts empty but learns who wrote, so a reply inside
    # the window is accepted as Meta would accept it.
    with demo_process(tmp_path, port):
        wait_for("the demo answering again", lambda: api.get("/healthz").status_code == 200, tmp_path)
        assert len(api.get("/api/v1/conversations").json()["items"]) == 4  # nothing played twice
        assert [q["name"] for q in api.get("/api/v1/routing/queues").json()] == ["Assistenza WhatsApp"]
        assert [p["name"] for p in api.get("/api/v1/sla-policies").json()] == ["Demo WhatsApp"]  # seeded once
        sent = api.post(f"/api/v1/conversations/{giulia['id']}/messages",
                        json={"type": "text", "text": {"body": "La sostituzione parte domani."}})
        assert sent.status_code == 202, sent.text
        message_id = sent.json()["id"]
        final = wait_for("the reply delivered after the restart", lambda: (
            (m := api.get(f"/api/v1/messages/{message_id}").json())["status"] in ("delivered", "read") and m),
            tmp_path)
        assert final["error_code"] is None

"""Live updates across processes: `centralino serve --no-workers` and `centralino worker` with Redis.
A customer writes through the simulator; the web process stores the webhook, the worker process turns
it into a message (and emits message.received there), and a browser's event stream on the web process
hears it through Redis. Real processes over real HTTP, as tests/test_sender_crash.py."""

from __future__ import annotations

import os

import httpx
import orjson
import pytest

from centralino.demo_access import SETUP
from centralino.domain.access import Role
from tests.access_helpers import PASSWORD
from tests.factories import ACCESS_TOKEN, APP_SECRET, PNID, WABA, whatsapp_channel
from tests.processes import free_port
from tests.test_sender_crash import processes, wait_for
from tests.web.test_desk_relay import REDIS_UP, REDIS_URL

pytestmark = pytest.mark.skipif(not REDIS_UP, reason=f"Redis not reachable at {REDIS_URL}")


def test_a_message_processed_by_the_worker_process_reaches_the_web_processs_event_stream(db_url, tmp_path, services):
    sim_port, web_port = free_port(), free_port()
    sim_url, web_url = f"http://127.0.0.1:{sim_port}", f"http://127.0.0.1:{web_port}"
    channel_id = whatsapp_channel(services, graph_base_url=sim_url)
    care = int(services.admin.do_create_department(SETUP, "Care", channel_ids=[channel_id])["id"])
    services.admin.do_create_user(SETUP, email="agent@example.com", display_name="Agent", role=Role.AGENT,
                                  password=PASSWORD, department_ids=[care])
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("CENTRALINO_")},
           "CENTRALINO_DATABASE_URL": db_url, "CENTRALINO_MODE": "dev", "CENTRALINO_MEDIA_DIR": str(tmp_path / "m"),
           "CENTRALINO_WORKER_POLL_S": "0.1", "CENTRALINO_REDIS_URL": REDIS_URL}
    with processes(tmp_path, env) as procs:
        procs.spawn("simulator", "simulator", "--port", str(sim_port),
                    "--webhook-url", f"{web_url}/webhooks/whatsapp", "--phone-number-id", PNID,
                    "--waba-id", WABA, "--app-secret", APP_SECRET, "--access-token", ACCESS_TOKEN)
        procs.spawn("web", "serve", "--no-workers", "--port", str(web_port))
        procs.spawn("worker", "worker")
        wait_for("simulator up", lambda: httpx.get(f"{sim_url}/_sim/stats", timeout=2).status_code == 200, procs)
        wait_for("web up", lambda: httpx.get(f"{web_url}/healthz", timeout=2).status_code == 200, procs)
        with httpx.Client(base_url=web_url, timeout=30) as browser:
            signed_in = browser.post("/desk/sign-in", data={"email": "agent@example.com", "password": PASSWORD},
                                     follow_redirects=False)
            assert signed_in.status_code == 303, signed_in.text
            heard: list[dict] = []
            with browser.stream("GET", "/desk/events") as stream:
                assert stream.status_code == 200
                lines = stream.iter_lines()
                assert next(lines).startswith("retry:")  # connected: the hub has this browser now
                httpx.post(f"{sim_url}/_sim/customers/393470001234/messages",
                           json={"type": "text", "body": "ciao"}, timeout=10).raise_for_status()
                for line in lines:
                    if line.startswith("data: "):
                        heard.append(orjson.loads(line[6:]))
                        if any(e["type"] == "message.received" for e in heard):
                            break
    assert any(e["type"] == "message.received" for e in heard), (heard, procs.logs())

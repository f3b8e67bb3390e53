"""Meta's side over real HTTP for the outbound tests: the Graph API simulator (centralino/simulator) and
our own service each served by uvicorn on a 127.0.0.1 port, the simulator's signed webhooks arriving
at our /webhooks/whatsapp. Workers are driven by the test (nothing runs on its own)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

import aiohttp
import httpx
import uvicorn

from centralino.app.outbound import OutboundService
from centralino.services import Services
from centralino.simulator import BusinessNumber, PairRate, Simulator, SimulatorConfig, StatusDelays
from centralino.storage import channels as channel_repo
from centralino.web.app import create_app
from centralino.workers.http_client import make_graph_session
from centralino.workers.sender import OutboxSender
from tests.factories import ACCESS_TOKEN, APP_SECRET, PNID, VERIFY_TOKEN, WABA
from tests.processes import wait_for


class Served:
    def __init__(self, app: Any) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)
        self.thread.start()
        wait_for("uvicorn to start", lambda: self.server.started, 10.0)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.socket.close()


class FakeClock:
    """The sender's clock: starts at the wall clock, moves only when the test says so."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


async def no_wait(_seconds: float) -> None:
    """The sender's sleep in tests: slots are recorded, not waited for."""
    await asyncio.sleep(0)


class MetaSide:
    def __init__(self, services: Services, *, config: dict[str, Any] | None = None, workers: bool = False,
                 **sim_config: Any) -> None:
        """`workers`: the service runs its own workers (real time); otherwise the test drives them
        and the simulator and the sender share a fake clock."""
        self.services = services
        self.app = Served(create_app(services.settings.model_copy(update={"run_workers": workers}), services))
        number = BusinessNumber(phone_number_id=PNID, waba_id=WABA, display_phone_number="15550783881",
                                access_token=ACCESS_TOKEN, app_secret=APP_SECRET,
                                webhook_url=f"{self.app.url}/webhooks/whatsapp")
        options: dict[str, Any] = {"delays": StatusDelays(0.0, 0.01, 0.01), "pair_rate": PairRate(mode="record"),
                                   **sim_config}
        # One fake clock for the simulator and our sender, so Meta's pair and rate limits judge the
        # sender's schedule, not how fast the test machine runs.
        self.clock = FakeClock()
        self.sim = Simulator(SimulatorConfig(numbers=(number,), **options), clock=time.time if workers else self.clock)
        if not workers:
            services.outbound = OutboundService(services.engine, services.directory, services.bus,
                                                clock=lambda: datetime.fromtimestamp(self.clock(), UTC))
        self.served_sim = Served(self.sim.app)
        self.url = self.served_sim.url
        with services.engine.begin() as conn:
            self.channel_id = channel_repo.create(
                conn, services.box, kind="whatsapp", name="Support", address=PNID, account_id=WABA,
                display_address="15550783881",
                config={"graph_base_url": self.url, "graph_version": "v23.0", **(config or {})},
                secrets={"app_secret": APP_SECRET, "verify_token": VERIFY_TOKEN, "access_token": ACCESS_TOKEN})
        services.directory.refresh()
        self.loop = asyncio.new_event_loop()
        self.http = self.run(self._client())
        self.control = httpx.Client(base_url=f"{self.url}/_sim", timeout=10)
        self.api = httpx.Client(base_url=self.app.url, headers={"Authorization": "Bearer demo-token"}, timeout=10)

    async def _client(self) -> aiohttp.ClientSession:
        return make_graph_session(16)  # the sender's own client, on this side's event loop

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return self.loop.run_until_complete(coro)

    def sender(self, clock: Callable[[], float] | None = None, **settings: Any) -> OutboxSender:
        configured = self.services.settings.model_copy(update=settings)
        return OutboxSender(self.services.engine, self.services.directory, self.services.bus, self.http, configured,
                            clock=clock or self.clock, sleep=no_wait, jitter=lambda: 1.0, holder="test-sender")

    def customer_writes(self, wa_id: str, body: str = "ciao") -> int:
        """The customer writes through the simulator; once our pipeline has it, the conversation id."""
        from tests.outbound_helpers import conversation_of

        response = self.control.post(f"/customers/{wa_id}/messages", json={"type": "text", "body": body})
        assert response.status_code == 201, response.text
        wamid = response.json()["id"]
        self.settle(lambda: self._has_message(wamid), f"the customer's message {wamid}")
        return conversation_of(self.services, wa_id)

    def _has_message(self, external_id: str) -> bool:
        from sqlalchemy import select

        from centralino.storage.tables import messages

        with self.services.engine.connect() as conn:
            return conn.execute(select(messages.c.id).where(messages.c.external_id == external_id)).first() is not None

    def settle(self, predicate: Callable[[], Any], what: str) -> Any:
        """Apply whatever webhooks arrived until `predicate()` holds (the service's own workers, if it
        runs them, may do it first)."""
        def check() -> Any:
            self.services.delivery_worker.drain()
            return predicate()
        return wait_for(what, check, 10.0)

    def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = self.control.get("/stats").json()["numbers"].get(PNID, {})
        return stats

    def fault(self, code: int, mode: str = "sync", count: int = 1) -> None:
        assert self.control.post("/faults", json={"code": code, "mode": mode, "count": count}).status_code == 200

    def close(self) -> None:
        self.run(self.http.close())
        self.loop.close()
        self.control.close()
        self.api.close()
        self.served_sim.stop()
        self.app.stop()

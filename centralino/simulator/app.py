"""`Simulator`: the simulated Meta (Graph API subset, webhooks, control API, phones page) as one object.

    sim = Simulator(SimulatorConfig.demo(webhook_url="http://127.0.0.1:8000/webhooks/whatsapp"))
    uvicorn.run(sim.app)                      # standalone: the app's lifespan starts and stops it
    parent.mount("/simulator", sim.app)       # embedded: call sim.start() / await sim.stop() yourself

Arguments: `state` (shared SimulatorState, e.g. with pre-loaded media), `public_base` (the URL the app
is reachable at, for media URLs), `clock` (wall-clock seconds; tests move it), `webhook_transport`
(an httpx transport for the webhook POSTs, e.g. ASGITransport to deliver in-process).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.routing import Mount, Route

from centralino.simulator import control, graph, payloads, phones, templates
from centralino.simulator.config import BusinessNumber, SimulatorConfig
from centralino.simulator.dispatcher import WebhookDispatcher, WebhookTarget
from centralino.simulator.limits import PairRateLimiter, Throughput
from centralino.simulator.state import SimulatorState

log = logging.getLogger(__name__)


class Simulator:
    def __init__(self, config: SimulatorConfig | None = None, *, state: SimulatorState | None = None,
                 public_base: str = "", clock: Callable[[], float] = time.time,
                 webhook_transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.config = config if config is not None else SimulatorConfig.demo()
        self.state = state if state is not None else SimulatorState()
        self.public_base = (public_base or self.config.public_url or "").rstrip("/")
        self.clock = clock
        self.dispatcher = WebhookDispatcher(self.config.webhook_retry, concurrency=self.config.webhook_concurrency,
                                            batch_max=self.config.webhook_batch_max, transport=webhook_transport)
        self.throughput = Throughput()
        self.pairs = PairRateLimiter(self.config.pair_rate)
        self._app: Starlette | None = None
        templates.seed(self)

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        """Start the webhook dispatcher on the running event loop (idempotent)."""
        self.dispatcher.start()

    async def stop(self) -> None:
        await self.dispatcher.stop()

    async def __aenter__(self) -> Simulator:
        self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    @contextlib.asynccontextmanager
    async def _lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        self.start()
        try:
            yield
        finally:
            await self.stop()

    @property
    def app(self) -> Starlette:
        """The ASGI app: Graph API, `/_sim` control API and the phones page at `/`."""
        if self._app is None:
            self._app = Starlette(routes=[
                Mount("/_sim", routes=control.routes(self)),
                Route("/", phones.page(self), methods=["GET"]),
                *graph.routes(self),
            ], lifespan=self._lifespan)
        return self._app

    # -- shared helpers ------------------------------------------------------------------------

    def now(self) -> int:
        return int(self.clock())

    def number(self, phone_number_id: str) -> BusinessNumber | None:
        return self.config.number(phone_number_id)

    def numbers_of_waba(self, waba_id: str) -> list[BusinessNumber]:
        return [n for n in self.config.numbers if n.waba_id == waba_id]

    def token_known(self, token: str) -> bool:
        return token in self.state.access_tokens or any(n.access_token == token for n in self.config.numbers)

    def token_grants(self, token: str, *, phone_number_id: str | None = None, waba_id: str | None = None) -> bool:
        """May this token act on that number / WABA? (the global tokens may act on everything)"""
        if token in self.state.access_tokens:
            return True
        return any(n.access_token == token and phone_number_id in (None, n.phone_number_id)
                   and waba_id in (None, n.waba_id) for n in self.config.numbers)

    def emit(self, number: BusinessNumber, payload: dict[str, Any], lane: str) -> bytes:
        """Sign and POST a webhook to the number's callback URL (queued on the dispatcher)."""
        body = payloads.encode(payload)
        if number.webhook_url:
            self.dispatcher.post(WebhookTarget(number.webhook_url, number.app_secret), body, lane, payload)
        return body

    def emit_to_waba(self, waba_id: str, payload: dict[str, Any]) -> bytes:
        """Account-level webhooks go once to every distinct callback of the WABA's numbers."""
        body = payloads.encode(payload)
        targets = {WebhookTarget(n.webhook_url, n.app_secret) for n in self.numbers_of_waba(waba_id) if n.webhook_url}
        for target in sorted(targets, key=lambda t: t.url):
            self.dispatcher.post(target, body, f"waba:{waba_id}")
        return body

    def reset(self) -> None:
        """Forget customers, messages, media, templates (re-seeded), faults, stats and queued webhooks."""
        self.state.clear()
        self.throughput.clear()
        self.pairs.clear()
        self.dispatcher.clear()
        templates.seed(self)

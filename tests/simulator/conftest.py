"""Fixtures: `simulator(**config)` runs a fresh simulator over real HTTP with a signature-checking receiver."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from centralino.simulator import defaults
from centralino.simulator.app import Simulator
from centralino.simulator.config import BusinessNumber, PairRate, SimulatorConfig, StatusDelays, WebhookRetry
from tests.simulator.harness import (
    DISPLAY,
    PNID,
    SECRET,
    TOKEN,
    WABA,
    FakeClock,
    Running,
    ServerThread,
    WebhookReceiver,
    wait_for,
)


def config_for(webhook_url: str | None, **overrides: Any) -> SimulatorConfig:
    number = BusinessNumber(PNID, WABA, DISPLAY, TOKEN, SECRET, webhook_url=webhook_url)
    values: dict[str, Any] = {
        "numbers": (number,), "delays": StatusDelays(0, 0, 0), "template_review_delay": 0,
        "pair_rate": PairRate(mode="record"), "templates": defaults.DEMO_TEMPLATES,
        "webhook_retry": WebhookRetry(first_delay=0.01, max_delay=0.05, timeout=5),
    }
    return SimulatorConfig(**{**values, **overrides})


@contextlib.contextmanager
def _servers() -> Iterator[Callable[..., Running]]:
    started: list[tuple[ServerThread, WebhookReceiver, Running]] = []

    def start(**overrides: Any) -> Running:
        receiver = WebhookReceiver()
        clock = FakeClock()
        sim = Simulator(config_for(receiver.url, **overrides), clock=clock)
        server = ServerThread(sim.app)
        server.start()
        running = Running(sim, f"http://127.0.0.1:{server.port}", receiver, clock)
        started.append((server, receiver, running))
        return running

    try:
        yield start
    finally:
        for server, receiver, running in started:
            running.http.close()
            server.stop()
            receiver.close()


@pytest.fixture
def simulator() -> Iterator[Callable[..., Running]]:
    """A fresh simulator with these SimulatorConfig overrides (zero delays and the test number otherwise)."""
    with _servers() as start:
        yield start


@pytest.fixture(scope="module")
def _shared() -> Iterator[Running]:
    with _servers() as start:
        yield start()


@pytest.fixture
def sim(_shared: Running) -> Running:
    """The default simulator, shared within a module and reset before each test (starting one costs ~0.3 s)."""
    wait_for(lambda: _shared.sim.dispatcher.pending == 0, what="the previous test's webhooks")
    _shared.control("POST", "/reset")
    _shared.receiver.clear()
    _shared.clock.now = FakeClock().now
    return _shared

"""Fixtures: `simulator(**config)` runs a fresh simulator over real HTTP with a signature-checking receiver."""

from __future__ import annotations

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
)


def config_for(webhook_url: str | None, **overrides: Any) -> SimulatorConfig:
    number = BusinessNumber(PNID, WABA, DISPLAY, TOKEN, SECRET, webhook_url=webhook_url)
    values: dict[str, Any] = {
        "numbers": (number,), "delays": StatusDelays(0, 0, 0), "template_review_delay": 0,
        "pair_rate": PairRate(mode="record"), "templates": defaults.DEMO_TEMPLATES,
        "webhook_retry": WebhookRetry(first_delay=0.01, max_delay=0.05, timeout=5),
    }
    return SimulatorConfig(**{**values, **overrides})


@pytest.fixture
def simulator() -> Iterator[Callable[..., Running]]:
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

    yield start
    for server, receiver, running in started:
        running.http.close()
        server.stop()
        receiver.close()


@pytest.fixture
def sim(simulator: Callable[..., Running]) -> Running:
    return simulator()

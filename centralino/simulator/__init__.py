"""A local WhatsApp Cloud API (Graph API subset) that behaves like Meta's: for the demo, development and
tests without a Meta account. Self-contained: it never imports the product it stands in front of.

See docs/simulator.md. Entry points: `Simulator`, `SimulatorConfig`, `BusinessNumber` (imported lazily,
so `centralino --help` does not pay for the web stack).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from centralino.simulator.app import Simulator
    from centralino.simulator.config import BusinessNumber, PairRate, SimulatorConfig, StatusDelays, WebhookRetry
    from centralino.simulator.state import SimulatorState

_WHERE = {"Simulator": "app", "BusinessNumber": "config", "PairRate": "config", "SimulatorConfig": "config",
          "StatusDelays": "config", "WebhookRetry": "config", "SimulatorState": "state"}

__all__ = ["BusinessNumber", "PairRate", "Simulator", "SimulatorConfig", "SimulatorState", "StatusDelays",
           "WebhookRetry"]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"centralino.simulator.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'centralino.simulator' has no attribute {name!r}")

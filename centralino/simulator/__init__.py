"""A local WhatsApp Cloud API (Graph API subset) that behaves like Meta's: for the demo, development and
tests without a Meta account. Self-contained: it never imports the product it stands in front of.

See docs/simulator.md. Entry points: `Simulator`, `SimulatorConfig`, `BusinessNumber`.
"""

from centralino.simulator.app import Simulator
from centralino.simulator.config import BusinessNumber, PairRate, SimulatorConfig, StatusDelays, WebhookRetry
from centralino.simulator.state import SimulatorState

__all__ = ["BusinessNumber", "PairRate", "Simulator", "SimulatorConfig", "SimulatorState", "StatusDelays",
           "WebhookRetry"]

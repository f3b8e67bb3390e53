"""`centralino demo`: the service on embedded defaults with the built-in Graph API simulator and
demo traffic that enters through the real, signed webhook path."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import Engine

from centralino.config import Settings
from centralino.simulator import payloads as p
from centralino.simulator.graph import SimulatorState, create_graph_app
from centralino.storage import channels as channel_repo
from centralino.storage.channels import SecretBox

log = logging.getLogger(__name__)

DEMO_WABA = "100000000000001"
DEMO_PNID = "100000000000011"
DEMO_DISPLAY = "15550001111"
DEMO_APP_SECRET = "demo-app-secret"  # noqa: S105
DEMO_VERIFY_TOKEN = "demo-verify-token"  # noqa: S105
DEMO_ACCESS_TOKEN = "demo-access-token"  # noqa: S105

# A tiny valid PNG (1x1 px) standing in for a customer's photo.
DEMO_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005fe02fea7d6a4"
    "9d0000000049454e44ae426082"
)


def ensure_demo_channel(engine: Engine, box: SecretBox, simulator_url: str) -> bool:
    """Create the demo WhatsApp channel pointing at the simulator; False if it already exists."""
    with engine.begin() as conn:
        if any(ch.address == DEMO_PNID for ch in channel_repo.load_all(conn, box)):
            return False
        channel_repo.create(
            conn, box, kind="whatsapp", name="Demo WhatsApp", address=DEMO_PNID, account_id=DEMO_WABA,
            display_address=DEMO_DISPLAY, config={"graph_base_url": simulator_url, "graph_version": "v23.0"},
            secrets={"app_secret": DEMO_APP_SECRET, "verify_token": DEMO_VERIFY_TOKEN,
                     "access_token": DEMO_ACCESS_TOKEN},
        )
    return True


def demo_deliveries(state: SimulatorState) -> list[dict[str, Any]]:
    now = int(time.time())
    photo_id = state.add_media(DEMO_PNG, "image/png")
    giulia, marco = "393471234567", "447700900123"
    first = p.text(giulia, "Buongiorno, dov'\u00e8 il mio ordine 4711?", now - 300)
    return [
        p.envelope(DEMO_WABA, DEMO_PNID, DEMO_DISPLAY, contacts=[p.contact(giulia, "Giulia Bianchi")],
                   messages=[first]),
        p.envelope(DEMO_WABA, DEMO_PNID, DEMO_DISPLAY, contacts=[p.contact(giulia, "Giulia Bianchi")],
                   messages=[p.media(giulia, "image", photo_id, "image/png",
                                     hashlib.sha256(DEMO_PNG).hexdigest(), now - 240, caption="Il pacco danneggiato")]),
        p.envelope(DEMO_WABA, DEMO_PNID, DEMO_DISPLAY, contacts=[p.contact(marco, "Marco Rossi")],
                   messages=[p.text(marco, "Hi, I need to change my delivery address", now - 120),
                             p.location(marco, 45.4642, 9.19, now - 100, name="Duomo di Milano",
                                        address="Piazza del Duomo, Milano")]),
    ]


async def post_demo_traffic(base_url: str, state: SimulatorState) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        for _ in range(50):  # wait for the server to listen
            try:
                await client.get("/healthz")
                break
            except httpx.TransportError:
                await asyncio.sleep(0.1)
        for payload in demo_deliveries(state):
            body, headers = p.signed(payload, DEMO_APP_SECRET)
            response = await client.post("/webhooks/whatsapp", content=body, headers=headers)
            log.info("demo webhook -> %s", response.status_code)


def new_simulator_state() -> SimulatorState:
    return SimulatorState(access_tokens={DEMO_ACCESS_TOKEN})


def mount_simulator(app: FastAPI, settings: Settings, state: SimulatorState) -> None:
    base = f"http://{settings.host}:{settings.port}/simulator"
    app.mount("/simulator", create_graph_app(state, public_base=base))

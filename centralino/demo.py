"""`centralino demo`: the service on embedded defaults with the WhatsApp Cloud API simulator mounted
at /simulator, a channel wired to it, and customers chatting.

Everything goes through the real paths: customers write through the simulator, which posts signed
webhooks to /webhooks/whatsapp; replies are queued with the send use case, drained by the sender
into the simulator's Graph API, and their statuses come back as webhooks.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import Engine, select

from centralino.config import Settings
from centralino.demo_access import ensure_demo_users
from centralino.demo_automation import ensure_demo_case_updates
from centralino.demo_bot import demo_bot_starter
from centralino.demo_consent import STOPS, seed_opt_ins
from centralino.demo_routing import ensure_demo_routing
from centralino.domain.outbound import (
    CallToAction,
    Content,
    ListMessage,
    ListRow,
    ListSection,
    Location,
    ReplyButton,
    ReplyButtons,
    Text,
)
from centralino.errors import CentralinoError
from centralino.services import Services
from centralino.simulator import Simulator, SimulatorConfig
from centralino.simulator import customers as sim_customers
from centralino.simulator.defaults import (
    DEMO_ACCESS_TOKEN,
    DEMO_APP_SECRET,
    DEMO_DISPLAY,
    DEMO_PNID,
    DEMO_VERIFY_TOKEN,
    DEMO_WABA,
)
from centralino.storage import channels as channel_repo
from centralino.storage.channels import SecretBox
from centralino.storage.tables import contact_identities, conversations, messages
from centralino.web.app import CentralinoApp, create_app

log = logging.getLogger(__name__)

__all__ = ["DEMO_APP_SECRET", "DEMO_VERIFY_TOKEN", "Demo", "ensure_demo_channel"]


@dataclass(frozen=True)
class Customer:
    wa_id: str
    name: str
    writes: tuple[dict[str, Any], ...]  # what the customer sends first (simulator customer actions)
    ago_s: int = 0  # wrote this long ago; over 24 h the window is closed and only a template reaches them


CUSTOMERS = (
    Customer("393471234567", "Giulia Bianchi", (
        {"type": "text", "body": "Buongiorno, dov'è il mio ordine 4711?"},
        {"type": "image", "caption": "Il pacco è arrivato danneggiato"},
    )),
    Customer("447700900123", "Marco Rossi", (
        {"type": "text", "body": "Hi, I need to change my delivery address"},
        {"type": "location", "latitude": 45.4642, "longitude": 9.19, "name": "Duomo di Milano",
         "address": "Piazza del Duomo, Milano"},
    )),
    Customer("393331112222", "Sofia Ricci", (
        {"type": "text", "body": "Ciao! A che ora apre il negozio di Milano sabato?"},
    )),
    Customer("393409876543", "Luca Conti", ({"type": "text", "body": "Grazie, il reso è arrivato."},), ago_s=2 * 86400),
)


def replies() -> dict[str, list[Content]]:
    """What the business answers each customer (queued through the real send use case)."""
    return {
        "393471234567": [
            Text("Buongiorno Giulia, ci dispiace per il pacco danneggiato. L'ordine 4711 è stato consegnato ieri."),
            ReplyButtons("Preferisce un rimborso o una sostituzione?",
                         (ReplyButton("refund", "Rimborso"), ReplyButton("replace", "Sostituzione"))),
        ],
        "447700900123": [
            ListMessage("Sure, Marco. When should we deliver to the new address?", "Delivery slots",
                        (ListSection((ListRow("tue-am", "Morning", "8:00-12:00"),
                                      ListRow("tue-pm", "Afternoon", "14:00-18:00")), "Tomorrow"),
                         ListSection((ListRow("wed-am", "Morning", "8:00-12:00"),), "Wednesday"))),
        ],
        "393331112222": [
            Location(45.4654, 9.1866, "Centralino Store Milano", "Via Dante 7, Milano"),
            CallToAction("Sabato apriamo alle 9:30. Orari e servizi del negozio:", "Orari",
                         "https://example.com/negozi/milano"),
        ],
    }


# The customer's choice once the business's interactive message has reached them.
TAPS = {"393471234567": "replace"}


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


class Demo:
    """The demo service: build the app, then serve it (uvicorn) on settings.host:settings.port."""

    def __init__(self, settings: Settings, services: Services, *, wait_s: float = 30.0,
                 sleep: Callable[[float], Any] = asyncio.sleep) -> None:
        self.settings = settings
        self.services = services
        self.base = f"http://{settings.host}:{settings.port}"
        self.wait_s = wait_s
        self.sleep = sleep
        self.simulator = Simulator(SimulatorConfig.demo(webhook_url=f"{self.base}/webhooks/whatsapp"),
                                   public_base=f"{self.base}/simulator")
        self.created = ensure_demo_channel(services.engine, services.box, f"{self.base}/simulator")
        ensure_demo_users(services)  # after the channel: "Assistenza clienti" serves it
        ensure_demo_routing(services)  # after the users, before the customers write (centralino/demo_routing.py)
        ensure_demo_case_updates(services)  # customers told of their cases' progress (centralino/demo_automation.py)
        self.done = asyncio.Event()  # the scripted conversations have played (tests wait on it)
        self.bot_start = demo_bot_starter(services, self.base, self.done)  # answers once they have (demo_bot.py)

    def build_app(self) -> CentralinoApp:
        app = create_app(self.settings, self.services, after_start=[self.run, self.bot_start])
        app.mount("/simulator", self.simulator.app)
        return app

    async def run(self) -> None:
        self.simulator.start()
        try:
            if self.created:
                await self._sync_templates()
                await self.play()
            else:  # the simulator learns who wrote when before anything is sent (the sync waits for the socket)
                await asyncio.to_thread(self._remember_customers)
                await self._sync_templates()
            self.done.set()
            await asyncio.Event().wait()  # keep the simulator until the service stops
        finally:
            await self.simulator.stop()

    async def play(self) -> None:
        await self._wait_until_listening()
        for customer in CUSTOMERS:
            for spec in customer.writes:
                sim_customers.send(self.simulator, customer.wa_id, {**spec, "name": customer.name, **(
                    {"timestamp": int(time.time()) - customer.ago_s} if customer.ago_s else {})})
        conversation_of = await self._wait_for_conversations([c.wa_id for c in CUSTOMERS])
        await asyncio.to_thread(seed_opt_ins, self.services, [c.wa_id for c in CUSTOMERS])  # docs/consent.md
        sent: dict[str, list[int]] = {}
        for wa_id, contents in replies().items():
            for content in contents:
                queued = await asyncio.to_thread(self.services.outbound.do_send, conversation_of[wa_id], content,
                                                 origin="demo")
                sent.setdefault(wa_id, []).append(queued.message_id)
        for wa_id, keyword in STOPS.items():  # an opt-out by keyword, answered with the confirmation
            sim_customers.send(self.simulator, wa_id, {"type": "text", "body": keyword})
        for wa_id, choice in TAPS.items():
            wamid = await self._wait_for_wamid(sent[wa_id][-1])
            if wamid is not None:
                sim_customers.tap(self.simulator, wa_id, wamid, choice)
        log.info("demo: %d customers chatting; phones at %s/simulator/", len(CUSTOMERS), self.base)

    async def _sync_templates(self) -> None:
        """The simulator's approved templates into the template manager and the composer's picker."""
        await self._wait_until_listening()
        if self.services.templates is None:
            return
        try:
            report = await asyncio.to_thread(self.services.templates.do_sync, None)
            log.info("demo: %d templates synced from the simulator", report.created + report.updated)
        except CentralinoError as exc:
            log.warning("demo: templates not synced: %s", exc.message)

    async def _wait_until_listening(self) -> None:
        # after_start hooks run before uvicorn binds its socket: webhooks posted now would be refused
        async with httpx.AsyncClient(base_url=self.base, timeout=2) as client:
            for _ in range(int(self.wait_s / 0.1)):
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await self.sleep(0.1)

    async def _wait_for_conversations(self, wa_ids: list[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for _ in range(int(self.wait_s / 0.1)):
            found = await asyncio.to_thread(self._conversations, wa_ids)
            if len(found) == len(wa_ids):
                return found
            await self.sleep(0.1)
        raise RuntimeError(f"demo: the customers' conversations did not appear (found {sorted(found)})")

    def _conversations(self, wa_ids: list[str]) -> dict[str, int]:
        with self.services.engine.connect() as conn:
            rows = conn.execute(
                select(contact_identities.c.value, conversations.c.id)
                .join(conversations, conversations.c.contact_id == contact_identities.c.contact_id)
                .where(contact_identities.c.value.in_(wa_ids), conversations.c.window_expires_at.is_not(None))
            ).all()
        return {str(r.value): int(r.id) for r in rows}

    async def _wait_for_wamid(self, message_id: int) -> str | None:
        # the pair rule spaces two messages to one customer 6 s apart: allow for it
        for _ in range(int((self.wait_s + 10) / 0.1)):
            with self.services.engine.connect() as conn:
                wamid = conn.execute(select(messages.c.external_id).where(messages.c.id == message_id)).scalar()
            if wamid:
                return str(wamid)
            await self.sleep(0.1)
        log.warning("demo: message %s was not sent in time; skipping the customer's tap", message_id)
        return None

    def _remember_customers(self) -> None:
        """A restarted demo keeps its database but the simulator starts empty: tell it who wrote when,
        so replies inside the 24-hour window are accepted as Meta would."""
        with self.services.engine.connect() as conn:
            rows = conn.execute(
                select(contact_identities.c.value, conversations.c.last_inbound_at)
                .join(conversations, conversations.c.contact_id == contact_identities.c.contact_id)
                .where(contact_identities.c.kind == "whatsapp", conversations.c.last_inbound_at.is_not(None))
            ).all()
        for wa_id, last_inbound in rows:
            customer = sim_customers.ensure_customer(self.simulator, str(wa_id))
            self.simulator.state.last_inbound[(DEMO_PNID, customer.wa_id)] = last_inbound.timestamp()

"""A small bot-served contact center for the bot runtime's tests: a WhatsApp channel with the bot enabled,
intents with examples (the model-free tfidf encoder: fast), a queue for handoffs, customers writing through
the real webhook pipeline, and a local HTTP server standing in for the business's order system."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sqlalchemy import insert, select

from centralino.app.bot_setup import Bot
from centralino.bot.demo import demo_flows
from centralino.bot.dialog.flow import flow_to_dict, load_flow
from centralino.demo_access import SETUP
from centralino.services import Services
from centralino.simulator import payloads
from centralino.storage.bot_admin import seal_secret
from centralino.storage.tables import contact_identities, conversations, messages
from centralino.storage.tables_bot import bot_examples, bot_flows, bot_intents, bot_services, bot_turns
from tests.factories import PNID, WABA, text_delivery
from tests.helpers import rows, store
from tests.routing_helpers import Center, build_center

_numbers = itertools.count(1)
HOLDER = "test-worker"

# name -> (automation, threshold, answers, examples); thresholds low: the tfidf head's probabilities over four
# intents trained on a handful of examples are modest, but a near-copy of an example still tops the rest.
INTENTS: dict[str, tuple[str, float, dict[str, str], list[str]]] = {
    "opening_hours": ("auto", 0.4, {"it": "Siamo aperti dal lunedì al sabato, 9-19.",
                                    "en": "We are open Monday to Saturday, 9am-7pm."},
                      ["a che ora aprite", "orari di apertura del negozio", "quando siete aperti",
                       "what time do you open", "opening hours of the shop", "when are you open"]),
    "refund": ("suggest", 0.4, {"it": "Per il rimborso ti serve il numero d'ordine: te lo avviamo noi.",
                                "en": "We will start your refund: we only need the order number."},
               ["voglio un rimborso", "rimborsatemi i soldi", "vorrei essere rimborsato",
                "I want a refund", "give me my money back", "refund my purchase please"]),
    "complaint": ("human", 0.4, {}, ["voglio fare un reclamo", "sono molto arrabbiato con voi", "reclamo formale",
                                     "I want to file a complaint", "I am very angry with you", "formal complaint"]),
    "order_status": ("auto", 0.4, {}, ["dov'è il mio ordine", "dove si trova il mio pacco", "stato del mio ordine",
                                       "where is my order", "where is my parcel", "status of my order"]),
}


@dataclass
class BotCenter:
    center: Center

    @property
    def services(self) -> Services:
        return self.center.services

    @property
    def bot(self) -> Bot:
        assert self.services.bot is not None
        return self.services.bot

    @property
    def channel_id(self) -> int:
        return self.center.channel_id

    def writes(self, body: str, wa_id: str | None = None, *, ago_s: int = 0) -> int:
        """A customer's text through the real pipeline (webhook stored, delivery worker), sent `ago_s` seconds
        ago by the customer's clock; the conversation."""
        wa_id = wa_id or f"39347{next(_numbers):07d}"
        store(self.services, text_delivery(wa_id, body, int(time.time()) - ago_s, f"wamid.{wa_id}.{next(_numbers)}"))
        self.services.delivery_worker.drain()
        return self.conversation(wa_id)

    def taps(self, wa_id: str, reply_id: str, title: str) -> int:
        """The customer taps a reply button of the bot's latest message."""
        message = payloads.interactive_reply(wa_id, "button_reply", {"id": reply_id, "title": title},
                                             "15550783881", "wamid.bot", int(time.time()))
        message["id"] = f"wamid.tap.{next(_numbers)}"
        body = payloads.encode(payloads.envelope(WABA, PNID, "15550783881",
                                                 contacts=[payloads.contact(wa_id, "Test User")], messages=[message]))
        store(self.services, body)
        self.services.delivery_worker.drain()
        return self.conversation(wa_id)

    def conversation(self, wa_id: str) -> int:
        with self.services.engine.connect() as conn:
            return int(conn.execute(select(conversations.c.id).join(
                contact_identities, contact_identities.c.contact_id == conversations.c.contact_id)
                .where(contact_identities.c.value == wa_id)).scalar_one())

    def answer(self, holder: str = HOLDER) -> int:
        """Run the bot until no turn is pending (what the worker does); how many turns it took."""
        total = 0
        while taken := self.bot.runtime.run_once(holder):
            total += taken
        return total

    def said(self, conversation_id: int) -> list[dict[str, Any]]:
        """The bot's messages to the customer, oldest first."""
        return rows(self.services, messages, messages.c.conversation_id == conversation_id,
                    messages.c.origin == "bot")

    def texts(self, conversation_id: int) -> list[str]:
        return [m["text"] for m in self.said(conversation_id)]

    def turns(self, conversation_id: int) -> list[dict[str, Any]]:
        return rows(self.services, bot_turns, bot_turns.c.conversation_id == conversation_id)

    def decisions(self, conversation_id: int) -> list[str | None]:
        return [t["decision"] for t in self.turns(conversation_id)]


def seed_intents(services: Services, intents: dict[str, tuple[str, float, dict[str, str], list[str]]] = INTENTS,
                 flows: dict[str, str] | None = None) -> dict[str, int]:
    """Intents with training examples (and the flows they start, by intent name -> flow name); their ids."""
    now = datetime.now(UTC)
    ids: dict[str, int] = {}
    with services.engine.begin() as conn:
        for name, (automation, threshold, answers, examples) in intents.items():
            flow_id = None
            if flows and name in flows:
                flow_id = conn.execute(select(bot_flows.c.id).where(bot_flows.c.name == flows[name])).scalar_one()
            ids[name] = int(conn.execute(insert(bot_intents).values(
                name=name, description="", automation=automation, threshold=threshold, answers=answers,
                flow_id=flow_id, enabled=True, created_at=now, updated_at=now).returning(bot_intents.c.id)).scalar_one())
            conn.execute(insert(bot_examples), [
                {"intent_id": ids[name], "text": text, "language": None, "split": "train", "source": "seed",
                 "created_by": "test", "created_at": now} for text in examples])
    return ids


def add_flow(services: Services, source: str) -> int:
    flow = load_flow(source)
    now = datetime.now(UTC)
    with services.engine.begin() as conn:
        return int(conn.execute(insert(bot_flows).values(
            name=flow.name, definition=flow_to_dict(flow), source=source, version=1, enabled=True, created_at=now,
            updated_at=now).returning(bot_flows.c.id)).scalar_one())


def add_service(services: Services, name: str, url: str, *, timeout_s: float = 2.0, retries: int = 0,
                mapping: dict[str, str] | None = None, secret: str | None = None) -> None:
    now = datetime.now(UTC)
    with services.engine.begin() as conn:
        conn.execute(insert(bot_services).values(
            name=name, method="GET", url=url, auth_header="Authorization" if secret else None,
            auth_secret=seal_secret(services.box, secret) if secret else None, request_template=None,
            response_mapping=mapping or {}, timeout_s=timeout_s, retries=retries, created_at=now, updated_at=now))


def build_bot_center(services: Services, *, rephrase_limit: int = 1, with_queue: bool = True,
                     order_flow: bool = False) -> BotCenter:
    center = build_center(services)
    assert services.bot is not None
    services.bot.models.encoder = "tfidf"
    if with_queue:
        center.rule(center.queue("general"))
    flows = None
    if order_flow:
        add_flow(services, demo_flows()["order_status"])
        flows = {"order_status": "order_status"}
    seed_intents(services, flows=flows)
    services.bot.channels.do_configure(SETUP, center.channel_id, {"enabled": True, "rephrase_limit": rephrase_limit})
    return BotCenter(center)


ORDERS = {"100234": {"status": "shipped", "carrier": "BRT", "tracking": "BRT0012345678", "eta": "2026-11-27"}}


@contextmanager
def order_service(*, fail: str | None = None) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A local order system on a free port: GET /orders/{number} -> JSON, 404 for unknown numbers. `fail`:
    "500" answers every request with a server error, "slow" answers after 3 s (past a 1 s timeout). Yields the
    base URL and the requests it saw (path and Authorization header)."""
    seen: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append({"path": self.path, "authorization": self.headers.get("Authorization")})
            if fail == "slow":
                time.sleep(3)
            number = self.path.rsplit("/", 1)[-1]
            if fail == "500":
                status, body = 500, {"error": "down"}
            elif number in ORDERS:
                status, body = 200, ORDERS[number]
            else:
                status, body = 404, {"error": "not found"}
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the client gave up (the timeout test)

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()

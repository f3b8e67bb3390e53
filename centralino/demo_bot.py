"""The demo's virtual agent (docs/bot.md): intents in Italian and English with answers and automation levels,
the demo flows (centralino/bot/demo/*.yaml) with their services pointing at this app's own /demo-services/
routes, a model trained at start, and the bot enabled on the demo WhatsApp channel once the scripted customers
have played (they wait in the agents' queue as before; a customer who writes from a simulator phone afterwards
is answered by the bot). Seeded once: a restarted demo finds its intents and seeds nothing twice."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select

from centralino.bot.demo import DEMO_CASE_TYPE, demo_flows, demo_services
from centralino.bot.dialog.flow import flow_to_dict, load_flow
from centralino.demo_access import SETUP
from centralino.domain.bot_config import eval_split
from centralino.errors import CentralinoError, Conflict
from centralino.services import Services
from centralino.simulator.defaults import DEMO_PNID
from centralino.storage import channels as channel_repo
from centralino.storage.bot_admin import seal_secret
from centralino.storage.tables_bot import bot_examples, bot_flows, bot_intents, bot_services

log = logging.getLogger(__name__)

# name: automation, threshold, flow, answers, examples (it then en)
INTENTS: dict[str, dict[str, Any]] = {
    "order_status": {"automation": "auto", "threshold": 0.5, "flow": "order_status", "answers": {}, "examples": [
        "dov'è il mio ordine", "dove si trova il mio pacco", "a che punto è la mia spedizione",
        "quando arriva il mio ordine", "il mio ordine non è ancora arrivato", "vorrei sapere lo stato dell'ordine",
        "tracciamento della spedizione", "dov'è il mio ordine 100234", "where is my order", "where is my parcel",
        "track my order", "when will my order arrive", "my package has not arrived yet", "order status please",
        "has my order shipped"]},
    "change_delivery_date": {"automation": "auto", "threshold": 0.5, "flow": "change_delivery_date", "answers": {},
                             "examples": [
        "vorrei cambiare la data di consegna", "posso spostare la consegna", "non sono a casa il giorno della consegna",
        "consegna in un altro giorno", "rimandare la consegna del pacco", "can I change the delivery date",
        "reschedule my delivery", "I won't be home for the delivery", "deliver on another day please",
        "move my delivery to next week"]},
    "boarding_pass": {"automation": "auto", "threshold": 0.5, "flow": "boarding_pass", "answers": {}, "examples": [
        "mi mandate la carta d'imbarco", "vorrei la carta d'imbarco", "non trovo la carta d'imbarco",
        "carta d'imbarco per il volo", "check-in del mio volo", "send me my boarding pass", "I need my boarding pass",
        "boarding pass for my flight", "where do I get my boarding pass", "check in for my flight"]},
    "opening_hours": {"automation": "auto", "threshold": 0.5, "flow": None, "answers": {
        "it": "I nostri negozi sono aperti dal lunedì al sabato dalle 9:30 alle 19:30, la domenica dalle 10 alle 13.",
        "en": "Our shops are open Monday to Saturday 9:30am-7:30pm, Sunday 10am-1pm."}, "examples": [
        "a che ora aprite", "orari di apertura", "siete aperti domenica", "a che ora chiude il negozio",
        "orari del negozio di Milano", "quando siete aperti", "what time do you open", "opening hours",
        "are you open on Sunday", "what time does the shop close", "when are you open"]},
    "greeting": {"automation": "auto", "threshold": 0.5, "flow": None, "answers": {
        "it": "Ciao! Sono l'assistente virtuale di Centralino: posso dirti dov'è il tuo ordine, cambiare la data "
              "di consegna o mandarti la carta d'imbarco. Scrivi \"operatore\" per parlare con una persona.",
        "en": "Hi! I am Centralino's virtual assistant: I can tell you where your order is, change its delivery "
              "date or send your boarding pass. Write \"agent\" to talk to a person."}, "examples": [
        "ciao", "buongiorno", "buonasera", "salve", "ciao, ho bisogno di aiuto", "hello", "hi", "good morning",
        "hi there, I need help", "hey"]},
    "thanks": {"automation": "auto", "threshold": 0.5, "flow": None, "answers": {
        "it": "Grazie a te! Se ti serve altro, scrivimi pure.", "en": "You're welcome! Write any time."},
        "examples": ["grazie", "grazie mille", "ok grazie", "perfetto grazie", "gentilissimi", "thank you",
                     "thanks a lot", "great, thanks", "perfect thank you", "cheers"]},
    "refund": {"automation": "suggest", "threshold": 0.5, "flow": None, "answers": {
        "it": "Ci dispiace! Il rimborso viene accreditato entro 5 giorni lavorativi dal rientro del reso.",
        "en": "We are sorry! Refunds are credited within 5 working days of the return reaching us."}, "examples": [
        "voglio un rimborso", "come ottengo il rimborso", "quando mi rimborsate", "rimborso del reso",
        "non ho ancora ricevuto il rimborso", "I want a refund", "when will I get my money back",
        "refund for my return", "I have not received my refund", "how do I get a refund"]},
    "complaint": {"automation": "human", "threshold": 0.5, "flow": None, "answers": {}, "examples": [
        "voglio fare un reclamo", "il pacco è arrivato danneggiato", "sono molto insoddisfatto",
        "il servizio è pessimo", "prodotto rotto", "I want to make a complaint", "my parcel arrived damaged",
        "I am very unhappy with your service", "the product is broken", "this is unacceptable"]},
}


def seed_demo_case_type(services: Services) -> None:
    """The case type the change_delivery_date flow opens (delivery_change), once."""
    if services.cases is None:
        return
    with contextlib.suppress(Conflict):  # created on an earlier start
        services.cases.types.do_create_type(SETUP, DEMO_CASE_TYPE)


def seed_demo_bot(services: Services, base_url: str) -> bool:
    """Intents with examples, the demo flows and their services (on `base_url`); False if seeded before."""
    seed_demo_case_type(services)
    now = datetime.now(UTC)
    with services.engine.begin() as conn:
        if conn.execute(select(func.count()).select_from(bot_intents)).scalar_one():
            return False
        flow_ids: dict[str, int] = {}
        for name, source in demo_flows().items():
            flow = load_flow(source)
            flow_ids[name] = int(conn.execute(insert(bot_flows).values(
                name=flow.name, definition=flow_to_dict(flow), source=source, version=1, enabled=True,
                created_at=now, updated_at=now).returning(bot_flows.c.id)).scalar_one())
        for spec in demo_services(base_url):
            conn.execute(insert(bot_services).values(
                name=spec.name, method=spec.method, url=spec.url, auth_header=spec.auth_header,
                auth_secret=seal_secret(services.box, spec.auth_secret) if spec.auth_secret else None,
                request_template=spec.request_template, response_mapping=dict(spec.response_mapping),
                timeout_s=spec.timeout_s, retries=spec.retries, created_at=now, updated_at=now))
        for name, intent in INTENTS.items():
            intent_id = int(conn.execute(insert(bot_intents).values(
                name=name, description="", automation=intent["automation"], threshold=intent["threshold"],
                answers=intent["answers"], flow_id=flow_ids.get(intent["flow"]) if intent["flow"] else None,
                enabled=True,
                created_at=now, updated_at=now).returning(bot_intents.c.id)).scalar_one())
            conn.execute(insert(bot_examples), [
                {"intent_id": intent_id, "text": text, "language": None, "split": eval_split(text), "source": "seed",
                 "created_by": "demo", "created_at": now} for text in intent["examples"]])
    return True


def enable_on_demo_channel(services: Services) -> bool:
    """The bot answers on the demo WhatsApp channel; False when there is no such channel or no bot."""
    if services.bot is None:
        return False
    with services.engine.connect() as conn:
        channel = next((c for c in channel_repo.load_all(conn, services.box) if c.address == DEMO_PNID), None)
    if channel is None:
        return False
    services.bot.channels.do_configure(SETUP, channel.id, {"enabled": True, "default_language": "it"})
    return True


def demo_bot_starter(services: Services, base_url: str,
                     played: asyncio.Event) -> Callable[[], Coroutine[Any, Any, None]]:
    """The demo's after-start hook: seed, train (seconds of CPU, off the event loop), and once the scripted
    customers have played (`played`), answer on the demo channel."""

    async def start() -> None:
        if services.bot is None:
            return
        try:
            await asyncio.to_thread(seed_demo_bot, services, base_url)
            if services.bot.models.active() is None:
                version = await asyncio.to_thread(services.bot.models.do_train, "demo")
                log.info("demo: bot model version %s trained", version)
        except CentralinoError as exc:
            log.warning("demo: the bot is not ready: %s", exc.message)
            return
        await played.wait()
        await asyncio.to_thread(enable_on_demo_channel, services)
        log.info("demo: the virtual agent answers on the demo WhatsApp channel")

    return start

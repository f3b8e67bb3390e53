"""A small intents file for the bot administration tests (four intents, Italian and English), and ways to put
learning candidates in the database the way the runtime does."""

from __future__ import annotations

import contextlib
import time
from datetime import UTC, datetime

from sqlalchemy import insert, select

from centralino.domain.access import Principal, Role
from centralino.errors import Conflict
from centralino.services import Services
from centralino.storage.tables import messages
from centralino.storage.tables_bot import bot_candidates
from tests.factories import text_delivery, whatsapp_channel
from tests.helpers import store

SUPERVISOR = Principal(role=Role.SUPERVISOR, user_id=None)
ADMIN = Principal(role=Role.ADMIN, user_id=None, via="integration")
AGENT = Principal(role=Role.AGENT, user_id=None)

ORDER = [
    "dov'è il mio ordine", "dove si trova il mio pacco", "quando arriva il mio ordine", "stato della spedizione",
    "il pacco non è ancora arrivato", "traccia la mia spedizione", "a che punto è la consegna",
    "non ho ricevuto l'ordine", "quando mi consegnate il pacco", "vorrei sapere dove è il mio ordine",
    "where is my order", "track my parcel", "when will my package arrive", "my order has not arrived",
    "shipping status of my order", "has my parcel shipped yet",
]
REFUND = [
    "voglio un rimborso", "rimborsatemi per favore", "come chiedo il rimborso", "restituire un prodotto",
    "voglio restituire la merce", "il prodotto è difettoso voglio i soldi indietro", "reso e rimborso",
    "quando ricevo il rimborso", "annullare l'acquisto e avere i soldi", "rimborso non ancora accreditato",
    "i want a refund", "how do i return an item", "give me my money back", "refund for a damaged product",
    "when will i get my refund", "return and refund policy",
]
HOURS = [
    "a che ora aprite", "orari di apertura", "siete aperti domenica", "quando chiudete stasera",
    "orario del negozio", "siete aperti a natale", "fino a che ora siete aperti", "orari del servizio clienti",
    "aprite il sabato mattina", "qual è l'orario di oggi",
    "what are your opening hours", "are you open on sunday", "when do you close today", "store hours please",
    "what time do you open", "are you open on holidays",
]
GREETING = [
    "ciao", "buongiorno", "buonasera", "salve", "ciao come stai", "ehi ciao", "buongiorno a tutti",
    "salve a voi", "ciao buona giornata", "hey",
    "hello", "hi there", "good morning", "good evening", "hey there", "hi",
]

INTENTS_YAML = "\n".join([
    "language: it",
    "intents:",
    *[line for name, examples, automation in (("order_status", ORDER, "auto"), ("refund", REFUND, "suggest"),
                                              ("opening_hours", HOURS, "auto"), ("greeting", GREETING, "auto"))
      for line in (f"  - name: {name}", f"    automation: {automation}", "    threshold: 0.5",
                   '    answers: {it: "Risposta", en: "Answer"}', "    examples:",
                   *[f'      - "{e}"' for e in examples])],
]) + "\n"


def candidate(services: Services, text: str, *, predicted: str | None, confidence: float | None = 0.4,
              reason: str = "unsure", wa_id: str = "393470000001") -> int:
    """A customer message stored through the inbound pipeline and a pending candidate for it, as the runtime
    writes one."""
    with contextlib.suppress(Conflict):  # the second candidate: the channel is there
        whatsapp_channel(services)
    external = f"wamid.{time.monotonic_ns()}"
    store(services, text_delivery(wa_id, text, int(time.time()), external))
    services.delivery_worker.drain()
    with services.engine.begin() as conn:
        message_id = conn.execute(select(messages.c.id).where(messages.c.external_id == external)).scalar_one()
        return int(conn.execute(insert(bot_candidates).values(
            message_id=message_id, text=text, language="it", reason=reason, predicted_intent=predicted,
            confidence=confidence, state="pending", created_at=datetime.now(UTC)).returning(bot_candidates.c.id))
            .scalar_one())

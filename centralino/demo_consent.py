"""The demo's consent ledger: its customers opted in to marketing on the shop's newsletter form a month ago
(so template sends work for them), and one of them (Sofia) later writes STOP, which records her opt-out and
queues the confirmation through the real inbound path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from centralino.app.unit_of_work import unit_of_work
from centralino.domain.consent import Action, Purpose, Source
from centralino.services import Services
from centralino.storage.tables import contact_identities

STOPS = {"393331112222": "STOP"}  # who writes an opt-out keyword once the business has answered
FORM = {"form": "https://example.com/newsletter", "wording": "Sì, voglio ricevere offerte e novità su WhatsApp"}


def seed_opt_ins(services: Services, wa_ids: list[str]) -> int:
    """A marketing opt-in by web form, 30 days back, for each customer (once: a repeat is absorbed)."""
    if services.consent is None:
        return 0
    occurred = datetime.now(UTC) - timedelta(days=30)
    added = 0
    with unit_of_work(services.engine, services.bus) as uow:
        ci = contact_identities.c
        rows = uow.conn.execute(select(ci.value, ci.contact_id).where(ci.kind == "whatsapp", ci.value.in_(wa_ids)))
        for wa_id, contact_id in rows.all():
            added += services.consent.record_in(
                uow, contact_id=int(contact_id), purpose=Purpose.MARKETING, action=Action.OPT_IN,
                source=Source.WEB_FORM, occurred_at=occurred, actor="demo", evidence={**FORM, "wa_id": wa_id},
                dedupe_key=f"demo:opt_in:{wa_id}").created
    return added

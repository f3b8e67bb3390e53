"""Helpers for the campaign tests: an approved template, contacts with tags and attributes, consent."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select

from centralino.app.unit_of_work import unit_of_work
from centralino.domain.access import Principal, Role
from centralino.domain.consent import Action, Purpose, Source
from centralino.services import Services
from centralino.storage import templates as template_repo
from centralino.storage.tables import contact_identities, contact_tags, contacts
from centralino.storage.tables_campaigns import campaign_recipients
from tests.factories import WABA

SUPERVISOR = Principal(role=Role.SUPERVISOR, user_id=None, via="integration")
AGENT = Principal(role=Role.AGENT, user_id=None, via="integration")
BODY = "Ciao {{1}}, da {{2}} ti aspetta lo sconto {{3}}."


def approved_template(services: Services, *, name: str = "promo_primavera", category: str = "utility",
                      body: str = BODY, status: str = "approved", account_id: str = WABA) -> int:
    now = datetime.now(UTC)
    with services.engine.begin() as conn:
        return template_repo.insert_template(conn, {
            "account_id": account_id, "name": name, "language": "it", "category": category,
            "parameter_format": "positional",
            "components": [{"type": "BODY", "text": body, "example": {"body_text": [["Giulia", "Milano", "X"]]}},
                           {"type": "FOOTER", "text": "Rispondi STOP per non ricevere più"}],
            "status": status, "created_at": now, "updated_at": now})


def contacts_with(services: Services, n: int, *, start: int = 0, tags: tuple[str, ...] = (),
                  attributes: dict[str, Any] | None = None, name: str = "Cliente") -> list[int]:
    """n contacts with a WhatsApp identity 39300000xxxx; their ids."""
    now = datetime.now(UTC)
    ids = []
    with services.engine.begin() as conn:
        for i in range(start, start + n):
            cid = int(conn.execute(insert(contacts).values(
                display_name=f"{name} {i}", created_at=now, updated_at=now, attributes=attributes or {},
                language="it").returning(contacts.c.id)).scalar_one())
            conn.execute(insert(contact_identities).values(contact_id=cid, kind="whatsapp", value=f"39300{i:07d}",
                                                           created_at=now))
            for tag in tags:
                conn.execute(insert(contact_tags).values(contact_id=cid, tag=tag, created_at=now))
            ids.append(cid)
    return ids


def opt_out(services: Services, contact_id: int, purpose: Purpose = Purpose.MARKETING) -> None:
    consent = services.outbound.consent
    with unit_of_work(services.engine, services.bus) as uow:
        consent.record_in(uow, contact_id=contact_id, purpose=purpose, action=Action.OPT_OUT,
                          source=Source.KEYWORD, occurred_at=datetime.now(UTC), actor="test")


def opt_in(services: Services, contact_id: int, purpose: Purpose = Purpose.MARKETING) -> None:
    consent = services.outbound.consent
    with unit_of_work(services.engine, services.bus) as uow:
        consent.record_in(uow, contact_id=contact_id, purpose=purpose, action=Action.OPT_IN,
                          source=Source.WEB_FORM, occurred_at=datetime.now(UTC), actor="test")


def recipients(services: Services, campaign_id: int) -> list[dict[str, Any]]:
    r = campaign_recipients.c
    with services.engine.connect() as conn:
        return [dict(x) for x in conn.execute(select(campaign_recipients).where(r.campaign_id == campaign_id)
                                              .order_by(r.id)).mappings()]


def states(services: Services, campaign_id: int) -> dict[str, int]:
    out: dict[str, int] = {}
    for row in recipients(services, campaign_id):
        out[row["state"]] = out.get(row["state"], 0) + 1
    return out

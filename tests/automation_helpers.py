"""Helpers for the automation and case-update tests: a customer who wrote, a case, a rule, waiting for the
background thread (a join on its queue, never a sleep)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from centralino.demo_access import SETUP
from centralino.services import Services
from centralino.storage.tables import conversations
from tests.factories import whatsapp_channel
from tests.outbound_helpers import customer_wrote


def settle(services: Services) -> None:
    """Everything handed to the background threads so far, done."""
    assert services.automation is not None and services.case_updates is not None
    for _ in range(3):  # a rule's action may queue a status question and the other way round
        services.automation.wait_idle()
        services.case_updates.wait_idle()


def customer(services: Services, wa_id: str, *, body: str = "ciao", ago: float = 60.0) -> tuple[int, int]:
    """(conversation, contact) of a customer who wrote `ago` seconds back on the test channel."""
    if not services.directory.all("whatsapp"):
        whatsapp_channel(services)
    conversation_id = customer_wrote(services, wa_id, body=body, ago=ago)
    with services.engine.connect() as conn:
        contact_id = conn.execute(select(conversations.c.contact_id)
                                  .where(conversations.c.id == conversation_id)).scalar_one()
    return conversation_id, int(contact_id)


def open_case(services: Services, contact_id: int, *, title: str = "Rimborso ordine 42") -> dict[str, Any]:
    assert services.cases is not None
    return services.cases.cases.do_create_case(
        SETUP, case_type="refund", title=title, contact_id=contact_id,
        fields={"order_number": "ORD-42", "refund_amount": 120})


def save_rule(services: Services, **data: Any) -> dict[str, Any]:
    assert services.automation is not None
    return services.automation.do_save(SETUP, data)

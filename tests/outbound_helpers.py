"""Helpers for the outbound tests: a customer who wrote, status webhooks, claims, table counts."""

from __future__ import annotations

import itertools
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from centralino.services import Services
from centralino.simulator import payloads
from centralino.storage import outbox as outbox_repo
from centralino.storage.outbox import Claimed
from centralino.storage.tables import conversations, metadata
from tests.factories import PNID, WABA, text_delivery
from tests.helpers import store

GIULIA = "393471234567"
MARCO = "447700900123"
_seq = itertools.count(1)


def customer_wrote(services: Services, wa_id: str = GIULIA, *, ago: float = 60.0, body: str = "ciao") -> int:
    """The customer writes (their timestamp `ago` seconds back); the conversation's id."""
    ts = int(time.time() - ago)
    store(services, text_delivery(wa_id, body, ts, f"wamid.IN{next(_seq):06d}{uuid.uuid4().hex[:6]}"))
    services.delivery_worker.drain()
    return conversation_of(services, wa_id)


def conversation_of(services: Services, wa_id: str) -> int:
    from centralino.storage.tables import contact_identities

    with services.engine.connect() as conn:
        contact_id = conn.execute(select(contact_identities.c.contact_id).where(
            contact_identities.c.kind == "whatsapp", contact_identities.c.value == wa_id)).scalar_one()
        return int(conn.execute(select(conversations.c.id).where(conversations.c.contact_id == contact_id))
                   .scalar_one())


def status_delivery(external_id: str, state: str, ts: int | None = None, *, callback: str | None = None,
                    error: dict[str, Any] | None = None, recipient: str = GIULIA) -> bytes:
    extra: dict[str, Any] = {}
    if callback is not None:
        extra["biz_opaque_callback_data"] = callback
    if error is not None:
        extra["errors"] = [error]
    item = payloads.status(external_id, state, recipient, ts or int(time.time()), **extra)
    return payloads.encode(payloads.envelope(WABA, PNID, "15550783881", statuses=[item]))


def table_counts(services: Services) -> dict[str, int]:
    with services.engine.connect() as conn:
        return {t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
                for t in metadata.sorted_tables}


def claim_due(services: Services, now: datetime | None = None, lease: float = 60.0) -> list[Claimed]:
    """Commit an attempt in flight for every queued row due now, as the sender does (without pacing)."""
    now = now or datetime.now(UTC)
    with services.engine.begin() as conn:
        claimed: list[Claimed] = []
        for channel_id in outbox_repo.due_by_channel(conn, now):
            rows = outbox_repo.lock_due(conn, channel_id, now, 1000)
            claimed += outbox_repo.start_attempts(conn, {r.id: (uuid.uuid4().hex, now) for r in rows},
                                                  now + timedelta(seconds=lease))
        return claimed

"""Helpers for the timeline tests: a customer's story built through the real use cases, and reading it."""

from __future__ import annotations

import time
import uuid
from typing import Any

from sqlalchemy import event, select

from centralino.domain.access import Principal, Role
from centralino.services import Services
from centralino.storage import timeline_queries
from centralino.storage.tables import contact_identities
from centralino.storage.tables_timeline import timeline_entries
from centralino.storage.timeline_queries import Filters
from tests.factories import text_delivery
from tests.helpers import rows, store

ADMIN = Principal(role=Role.ADMIN, user_id=None, via="integration")
GIULIA = "393471234567"


def customer_writes(services: Services, *bodies: str, wa_id: str = GIULIA, **kw: Any) -> None:
    """The customer's messages, one webhook each, applied by the delivery worker in one batch."""
    now = int(time.time())
    store(services, *(text_delivery(wa_id, body, now - 60 + i, f"wamid.{uuid.uuid4().hex}", **kw)
                      for i, body in enumerate(bodies)))
    services.delivery_worker.drain()


def contact_of(services: Services, wa_id: str = GIULIA) -> int:
    with services.engine.connect() as conn:
        return int(conn.execute(select(contact_identities.c.contact_id).where(
            contact_identities.c.kind == "whatsapp", contact_identities.c.value == wa_id)).scalar_one())


def entries(services: Services, *where: Any) -> list[dict[str, Any]]:
    """Every entry, oldest first (as written)."""
    return rows(services, timeline_entries, *where, order_by=timeline_entries.c.id)


def story(services: Services, contact_id: int, filters: Filters | None = None, limit: int = 200) -> list[
        dict[str, Any]]:
    """Every page of a customer's timeline through the real query, newest first."""
    found: list[dict[str, Any]] = []
    cursor = None
    with services.engine.connect() as conn:
        while True:
            page, cursor = timeline_queries.contact_page(conn, contact_id, filters or Filters(), limit=limit,
                                                         cursor=cursor)
            found += page
            if cursor is None:
                return found


class InsertCounter:
    """Counts the INSERT statements into timeline_entries sent on an engine (executemany counts once)."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO TIMELINE_ENTRIES"):
            self.count += 1

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)

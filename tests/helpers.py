"""Test helpers that drive the real pipeline: store a delivery as the webhook would, then process."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from centralino.services import Services
from centralino.storage import deliveries
from centralino.storage.tables import (
    contact_identities,
    contacts,
    conversations,
    message_reactions,
    messages,
    status_history,
    webhook_deliveries,
)
from tests.factories import fixture_bytes


def store(services: Services, *bodies: bytes) -> None:
    with services.engine.begin() as conn:
        deliveries.store_many(conn, "whatsapp", list(bodies), datetime.now(UTC))


def ingest(services: Services, *names: str) -> None:
    """Store fixture deliveries and process them all."""
    store(services, *(fixture_bytes(n) for n in names))
    services.delivery_worker.drain()


def count(services: Services, table: Any, *where: Any) -> int:
    with services.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def rows(services: Services, table: Any, *where: Any, order_by: Any = None) -> list[dict[str, Any]]:
    stmt = select(table).where(*where)
    stmt = stmt.order_by(order_by if order_by is not None else table.c.id)
    with services.engine.connect() as conn:
        return [dict(r) for r in conn.execute(stmt).mappings()]


def message(services: Services, external_id: str) -> dict[str, Any]:
    found = rows(services, messages, messages.c.external_id == external_id)
    assert len(found) == 1, f"expected one message {external_id}, found {len(found)}"
    return found[0]


def snapshot(services: Services) -> dict[str, Any]:
    """The observable end state, without ids and our own clock's timestamps (those legitimately vary)."""
    with services.engine.connect() as conn:
        live = conn.execute(select(contacts).where(contacts.c.merged_into_id.is_(None))).mappings().all()
        ident = conn.execute(select(contact_identities)).mappings().all()
        by_contact: dict[int, list[tuple[str, str]]] = {}
        for i in ident:
            by_contact.setdefault(i["contact_id"], []).append((i["kind"], i["value"]))
        contact_key = {c["id"]: tuple(sorted(by_contact.get(c["id"], []))) for c in live}
        convs = conn.execute(select(conversations)).mappings().all()
        conv_key = {c["id"]: (contact_key.get(c["contact_id"]), c["channel_id"]) for c in convs}
        msgs = conn.execute(select(messages)).mappings().all()
        ext = {m["id"]: m["external_id"] for m in msgs}
        reactions = conn.execute(select(message_reactions)).mappings().all()
        history = conn.execute(select(status_history)).mappings().all()
    return {
        "contacts": sorted((contact_key[c["id"]], c["display_name"], c["username"]) for c in live),
        "conversations": sorted(
            (str(conv_key[c["id"]]), c["status"], c["last_inbound_at"], c["window_expires_at"], c["last_message_at"])
            for c in convs),
        "messages": sorted(
            (m["external_id"], str(conv_key[m["conversation_id"]]), str(contact_key.get(m["contact_id"])), m["type"],
             m["text"], m["status"], m["error_code"], ext.get(m["reply_to_message_id"]), m["sent_at"])
            for m in msgs),
        "reactions": sorted((r["target_external_id"], str(contact_key.get(r["contact_id"])), r["emoji"],
                             ext.get(r["target_message_id"])) for r in reactions),
        "statuses": sorted((h["external_id"], h["raw_status"], ext.get(h["message_id"])) for h in history),
        "deliveries_pending": count(services, webhook_deliveries, webhook_deliveries.c.state != "processed"),
    }

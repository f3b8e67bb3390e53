"""Helpers for the contact administration tests (merge, import/export, GDPR, retention): customers with
history built through the real inbound pipeline, plus the rows other areas hang on a contact."""

from __future__ import annotations

import hashlib
import itertools
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select

from centralino.domain.access import Principal, Role
from centralino.services import Services
from centralino.storage.contact_refs import references_to
from centralino.storage.tables import (
    contact_identities,
    contact_tags,
    contacts,
    conversations,
    message_media,
    messages,
    metadata,
)
from centralino.storage.tables_notifications import notifications
from tests.campaign_helpers import opt_in
from tests.factories import PNID, WABA, text_delivery
from tests.helpers import store

ADMIN = Principal(role=Role.ADMIN, user_id=None, via="integration")
SUPERVISOR = Principal(role=Role.SUPERVISOR, user_id=None, via="integration")
AGENT = Principal(role=Role.AGENT, user_id=None, via="integration")
_ids = itertools.count(1)


def customer_writes(services: Services, wa_id: str, *texts: str, name: str = "Test User", pnid: str = PNID,
                    waba: str = WABA) -> int:
    """The customer writes `texts` on the channel `pnid`; their contact id."""
    now = int(time.time())
    store(services, *(text_delivery(wa_id, t, now, f"wamid.{wa_id}.{next(_ids)}", name, pnid=pnid, waba=waba)
                      for t in texts))
    services.delivery_worker.drain()
    return contact_of(services, wa_id)


def contact_of(services: Services, wa_id: str) -> int:
    with services.engine.connect() as conn:
        return int(conn.execute(select(contact_identities.c.contact_id).where(
            contact_identities.c.kind == "whatsapp", contact_identities.c.value == wa_id)).scalar_one())


def profile(services: Services, contact_id: int, *, tags: tuple[str, ...] = (), attributes: dict[str, str] | None = None,
            language: str | None = None) -> None:
    from sqlalchemy import update
    now = datetime.now(UTC)
    with services.engine.begin() as conn:
        conn.execute(update(contacts).where(contacts.c.id == contact_id).values(
            attributes=attributes or {}, language=language))
        for tag in tags:
            conn.execute(insert(contact_tags).values(contact_id=contact_id, tag=tag, created_at=now))


def stored_media(services: Services, contact_id: int, content: bytes = b"\x89PNG fake image") -> tuple[int, str]:
    """The contact's latest message gets a stored image (file under the media folder): (message id, path)."""
    digest = hashlib.sha256(content).hexdigest()
    relative = f"{digest[:2]}/{digest}"
    target = services.settings.media_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)
    with services.engine.begin() as conn:
        m = conn.execute(select(messages.c.id, messages.c.channel_id).where(messages.c.contact_id == contact_id)
                         .order_by(messages.c.id.desc()).limit(1)).one()
        conn.execute(insert(message_media).values(
            message_id=m.id, channel_id=m.channel_id, provider_id=f"media-{m.id}", mime_type="image/png",
            sha256=digest, filename="ricevuta-mario.png", size=len(content), state="stored", storage_path=relative,
            attempts=1, fetched_at=datetime.now(UTC)))
    return int(m.id), relative


def notification_for(services: Services, contact_id: int) -> int:
    """A transactional notification row about the contact's latest message (as the notifications area keeps)."""
    now = datetime.now(UTC)
    with services.engine.begin() as conn:
        m = conn.execute(select(messages).where(messages.c.contact_id == contact_id).order_by(messages.c.id.desc())
                         .limit(1)).mappings().one()
        recipient = conn.execute(select(contact_identities.c.value).where(
            contact_identities.c.contact_id == contact_id, contact_identities.c.kind == "whatsapp")).scalar_one()
        return int(conn.execute(insert(notifications).values(
            template_name="shipment_update", template_language="it", recipient=recipient, contact_id=contact_id,
            channel_id=m["channel_id"], conversation_id=m["conversation_id"], message_id=m["id"], origin="api",
            status="delivered", created_at=now, status_at=now).returning(notifications.c.id)).scalar_one())


def consented(services: Services, contact_id: int) -> None:
    opt_in(services, contact_id)


def conversation_of(services: Services, contact_id: int, channel_id: int) -> int:
    with services.engine.connect() as conn:
        return int(conn.execute(select(conversations.c.id).where(
            conversations.c.contact_id == contact_id, conversations.c.channel_id == channel_id)).scalar_one())


def table_counts(services: Services) -> dict[str, int]:
    with services.engine.connect() as conn:
        return {t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
                for t in metadata.sorted_tables}


def rows_pointing_at(services: Services, contact_id: int) -> dict[str, int]:
    """table.column → rows referencing the contact, for every foreign key to contacts.id."""
    out = {}
    with services.engine.connect() as conn:
        for ref in references_to(contacts):
            n = int(conn.execute(select(func.count()).select_from(ref.table).where(ref.column == contact_id))
                    .scalar_one())
            if n:
                out[ref.name] = n
    return out


def all_text(services: Services) -> str:
    """Every value of every row of every table, as one string (to grep for personal data)."""
    parts: list[str] = []
    with services.engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(select(table)):
                for value in row:
                    parts.append(value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value))
    return "\n".join(parts)


def first(rows: list[dict[str, Any]]) -> dict[str, Any]:
    assert rows, "expected a row"
    return rows[0]

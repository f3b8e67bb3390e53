"""Plain factory functions for tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from centralino.channels.whatsapp.adapter import sign
from centralino.services import Services
from centralino.storage import channels as channel_repo

FIXTURES = Path(__file__).parent / "fixtures" / "whatsapp"

WABA = "102290129340398"
PNID = "106540352242922"
WABA_2 = "202290129340398"
PNID_2 = "206540352242922"
APP_SECRET = "test-app-secret"
APP_SECRET_2 = "second-app-secret"
VERIFY_TOKEN = "test-verify-token"
ACCESS_TOKEN = "test-access-token"


def whatsapp_channel(services: Services, *, pnid: str = PNID, waba: str = WABA, app_secret: str = APP_SECRET,
                     name: str = "Support IT", graph_base_url: str = "http://graph.test",
                     verify_token: str = VERIFY_TOKEN, access_token: str = ACCESS_TOKEN) -> int:
    with services.engine.begin() as conn:
        channel_id = channel_repo.create(
            conn, services.box, kind="whatsapp", name=name, address=pnid, account_id=waba,
            display_address="15550783881", config={"graph_base_url": graph_base_url, "graph_version": "v23.0"},
            secrets={"app_secret": app_secret, "verify_token": verify_token, "access_token": access_token},
        )
    services.directory.refresh()
    return channel_id


def both_channels(services: Services) -> tuple[int, int]:
    first = whatsapp_channel(services)
    second = whatsapp_channel(services, pnid=PNID_2, waba=WABA_2, app_secret=APP_SECRET_2, name="Sales UK",
                              verify_token="second-verify-token")
    return first, second


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(fixture_bytes(name))
    return data


def signed_headers(body: bytes, secret: str = APP_SECRET) -> dict[str, str]:
    return {"X-Hub-Signature-256": sign(body, secret), "Content-Type": "application/json"}


def outbound_message(services: Services, external_id: str, wa_id: str = "393471234567",
                     channel_address: str = PNID, status: str = "queued", sent_at: int = 1789999000) -> int:
    """An outbound message as the sender will have recorded it (status queued, provider id known)."""
    from datetime import UTC, datetime

    from centralino.storage import contacts as contact_repo
    from centralino.storage import conversations as conversation_repo
    from centralino.storage import messages as message_repo

    channel = services.directory.by_address("whatsapp", channel_address)
    assert channel is not None
    now = datetime.now(UTC)
    with services.engine.begin() as conn:
        contact = contact_repo.resolve(conn, contact_repo.identities_for(wa_id, None), now)
        conversation_id, _ = conversation_repo.find_or_open(conn, contact.contact_id, channel.id, now)
        message_id = message_repo.insert(conn, {
            "conversation_id": conversation_id, "channel_id": channel.id, "contact_id": contact.contact_id,
            "direction": "out", "type": "text", "raw_type": "text", "external_id": external_id,
            "text": "Your order has shipped", "content": {"body": "Your order has shipped"}, "status": status,
            "forwarded": False, "frequently_forwarded": False, "created_at": now,
            "sent_at": datetime.fromtimestamp(sent_at, UTC),
        })
    assert message_id is not None
    return message_id


def text_delivery(wa_id: str, body: str, ts: int, msg_id: str, name: str = "Test User", *, pnid: str = PNID,
                  waba: str = WABA, bsuid: str | None = None, **extra: Any) -> bytes:
    from centralino.simulator import payloads

    contact: dict[str, Any] = {"profile": {"name": name}, "wa_id": wa_id}
    message = payloads.text(wa_id, body, ts, msg_id, **extra)
    if bsuid:
        contact["user_id"] = bsuid
        message["from_user_id"] = bsuid
    return payloads.encode(payloads.envelope(waba, pnid, "15550783881", contacts=[contact], messages=[message]))

"""Webhook bodies shaped like Meta's, for the demo, the benchmarks and tests."""

from __future__ import annotations

import itertools
import json
from typing import Any

import orjson

from centralino.channels.whatsapp.adapter import sign

_seq = itertools.count(1)


def wamid(prefix: str = "SIM") -> str:
    return f"wamid.{prefix}{next(_seq):012d}"


def envelope(waba_id: str, phone_number_id: str, display: str, *, contacts: list[dict[str, Any]] | None = None,
             messages: list[dict[str, Any]] | None = None,
             statuses: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": display, "phone_number_id": phone_number_id},
    }
    if contacts:
        value["contacts"] = contacts
    if messages:
        value["messages"] = messages
    if statuses:
        value["statuses"] = statuses
    return {"object": "whatsapp_business_account",
            "entry": [{"id": waba_id, "changes": [{"field": "messages", "value": value}]}]}


def contact(wa_id: str, name: str) -> dict[str, Any]:
    return {"profile": {"name": name}, "wa_id": wa_id}


def text(wa_id: str, body: str, ts: int, msg_id: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"from": wa_id, "id": msg_id or wamid(), "timestamp": str(ts), "type": "text", "text": {"body": body},
            **extra}


def media(wa_id: str, kind: str, media_id: str, mime: str, sha256: str, ts: int, **fields: Any) -> dict[str, Any]:
    return {"from": wa_id, "id": wamid(), "timestamp": str(ts), "type": kind,
            kind: {"id": media_id, "mime_type": mime, "sha256": sha256, **fields}}


def location(wa_id: str, lat: float, lon: float, ts: int, **fields: Any) -> dict[str, Any]:
    return {"from": wa_id, "id": wamid(), "timestamp": str(ts), "type": "location",
            "location": {"latitude": lat, "longitude": lon, **fields}}


def status(msg_id: str, state: str, recipient: str, ts: int, **extra: Any) -> dict[str, Any]:
    return {"id": msg_id, "status": state, "timestamp": str(ts), "recipient_id": recipient, **extra}


def encode(payload: dict[str, Any]) -> bytes:
    # Meta sends non-ASCII as \uXXXX escapes; the signature covers exactly these bytes.
    return json.dumps(payload, ensure_ascii=True, separators=(",", ":")).encode()


def signed(payload: dict[str, Any], app_secret: str) -> tuple[bytes, dict[str, str]]:
    body = encode(payload)
    return body, {"X-Hub-Signature-256": sign(body, app_secret), "Content-Type": "application/json"}


def loads(body: bytes) -> Any:
    return orjson.loads(body)

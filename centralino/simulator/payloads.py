"""Webhook bodies shaped like Meta's, for the simulator, the demo, the benchmarks and tests."""

from __future__ import annotations

import itertools
import json
from typing import Any

import orjson

from centralino.simulator.signing import sign

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


def account_envelope(waba_id: str, field_name: str, value: dict[str, Any], time: int) -> dict[str, Any]:
    """Fields without a phone number (template status/quality/category updates): `entry[].time` is set."""
    return {"object": "whatsapp_business_account",
            "entry": [{"id": waba_id, "time": time, "changes": [{"field": field_name, "value": value}]}]}


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


def contacts_card(wa_id: str, cards: list[dict[str, Any]], ts: int) -> dict[str, Any]:
    return {"from": wa_id, "id": wamid(), "timestamp": str(ts), "type": "contacts", "contacts": cards}


def reaction(wa_id: str, message_id: str, emoji: str, ts: int) -> dict[str, Any]:
    return {"from": wa_id, "id": wamid(), "timestamp": str(ts), "type": "reaction",
            "reaction": {"message_id": message_id, "emoji": emoji}}


def interactive_reply(wa_id: str, kind: str, reply: dict[str, Any], context_from: str, context_id: str,
                      ts: int) -> dict[str, Any]:
    """A tap on a reply button (`button_reply`) or a list row (`list_reply`) of our interactive message."""
    return {"context": {"from": context_from, "id": context_id}, "from": wa_id, "id": wamid(),
            "timestamp": str(ts), "type": "interactive", "interactive": {"type": kind, kind: reply}}


def template_button(wa_id: str, payload: str, button_text: str, context_from: str, context_id: str,
                    ts: int) -> dict[str, Any]:
    """A tap on a template's quick-reply button."""
    return {"context": {"from": context_from, "id": context_id}, "from": wa_id, "id": wamid(),
            "timestamp": str(ts), "type": "button", "button": {"payload": payload, "text": button_text}}


def status(msg_id: str, state: str, recipient: str, ts: int, **extra: Any) -> dict[str, Any]:
    return {"id": msg_id, "status": state, "timestamp": str(ts), "recipient_id": recipient, **extra}


def pricing(category: str, pricing_type: str) -> dict[str, Any]:
    return {"billable": pricing_type == "regular", "pricing_model": "PMP", "type": pricing_type,
            "category": category}


def merge(envelopes: list[dict[str, Any]]) -> dict[str, Any]:
    """Several `messages` webhooks as one POST, the way Meta batches under load: consecutive updates of
    the same number and kind (statuses, or customer messages) share one `value`, in their order."""
    entries: list[dict[str, Any]] = []
    for envelope in envelopes:
        for entry in envelope["entry"]:
            for change in entry["changes"]:
                value = change["value"]
                kind = "statuses" if "statuses" in value else "messages"
                last = entries[-1] if entries else None
                last_value = last["changes"][-1]["value"] if last else None
                if (last is not None and last_value is not None and last["id"] == entry["id"]
                        and change["field"] == "messages" == last["changes"][-1]["field"]
                        and last_value.get("metadata") == value.get("metadata") and kind in last_value
                        and ("statuses" in last_value) == (kind == "statuses")):
                    last_value[kind] = [*last_value[kind], *value.get(kind, [])]
                    known = {c.get("wa_id") for c in last_value.get("contacts", [])}
                    extra = [c for c in value.get("contacts", []) if c.get("wa_id") not in known]
                    if extra:
                        last_value["contacts"] = [*last_value.get("contacts", []), *extra]
                else:
                    entries.append({"id": entry["id"], "changes": [{"field": change["field"], "value": dict(value)}]})
    return {"object": "whatsapp_business_account", "entry": entries}


def encode(payload: dict[str, Any]) -> bytes:
    # Meta sends non-ASCII as \uXXXX escapes; the signature covers exactly these bytes.
    return json.dumps(payload, ensure_ascii=True, separators=(",", ":")).encode()


def signed(payload: dict[str, Any], app_secret: str) -> tuple[bytes, dict[str, str]]:
    body = encode(payload)
    return body, {"X-Hub-Signature-256": sign(body, app_secret), "Content-Type": "application/json"}


def loads(body: bytes) -> Any:
    return orjson.loads(body)

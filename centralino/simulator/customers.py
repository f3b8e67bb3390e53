"""Simulated customers: they write, share places, photos and documents, tap buttons and react.

Every action becomes a signed `messages` webhook like Meta's (with `contacts[]` and the customer's own
timestamp) and opens that customer's 24-hour window with the business number.
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Any

from centralino.simulator import defaults, payloads, statuses
from centralino.simulator.config import BusinessNumber
from centralino.simulator.ids import wamid
from centralino.simulator.state import Customer, MessageRecord

if TYPE_CHECKING:
    from centralino.simulator.app import Simulator

# What a customer sends when no file is given.
SAMPLE_FILES: dict[str, tuple[bytes, str, str | None]] = {
    "image": (defaults.SAMPLE_PNG, "image/png", None),
    "document": (defaults.SAMPLE_PDF, "application/pdf", "document.pdf"),
    "audio": (b"OggS\x00\x02" + bytes(58), "audio/ogg; codecs=opus", None),
    "video": (bytes(4) + b"ftypmp42" + bytes(20), "video/mp4", None),
    "sticker": (b"RIFF\x1a\x00\x00\x00WEBPVP8L" + bytes(14), "image/webp", None),
}
INBOUND_TYPES = frozenset({"text", "location", "contacts", "reaction", *SAMPLE_FILES})


class CustomerActionError(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def ensure_customer(sim: Simulator, wa_id: str, name: str | None = None,
                    reachable: bool | None = None) -> Customer:
    digits = "".join(c for c in str(wa_id) if c.isdigit())
    if not 7 <= len(digits) <= 15:
        raise CustomerActionError(f"wa_id must be 7 to 15 digits, got '{wa_id}'")
    customer = sim.state.customers.get(digits)
    if customer is None:
        customer = Customer(digits, name or "", reachable=digits not in sim.config.unreachable)
        sim.state.customers[digits] = customer
    if name:
        customer.name = name
    if reachable is not None:
        customer.reachable = reachable
    return customer


def number_for(sim: Simulator, phone_number_id: str | None) -> BusinessNumber:
    if phone_number_id is None:
        if not sim.config.numbers:
            raise CustomerActionError("the simulator has no business number configured")
        return sim.config.numbers[0]
    number = sim.number(str(phone_number_id))
    if number is None:
        raise CustomerActionError(f"unknown phone_number_id '{phone_number_id}'", 404)
    return number


def send(sim: Simulator, wa_id: str, spec: dict[str, Any]) -> MessageRecord:
    """The customer sends a message described by `spec` (see docs/simulator.md, control API)."""
    number = number_for(sim, spec.get("phone_number_id"))
    customer = ensure_customer(sim, wa_id, spec.get("name"))
    kind = spec.get("type", "text")
    ts = _timestamp(sim, spec)
    wa = customer.wa_id
    if kind == "text":
        body = spec.get("body", spec.get("text"))
        if isinstance(body, dict):
            body = body.get("body")
        if not isinstance(body, str) or not body:
            raise CustomerActionError("a text message needs a non-empty 'body'")
        item = payloads.text(wa, body, ts)
    elif kind == "location":
        try:
            lat, lon = float(spec["latitude"]), float(spec["longitude"])
        except (KeyError, TypeError, ValueError):
            raise CustomerActionError("a location needs numeric 'latitude' and 'longitude'") from None
        extra = {k: str(spec[k]) for k in ("name", "address", "url") if spec.get(k)}
        item = payloads.location(wa, lat, lon, ts, **extra)
    elif kind == "contacts":
        cards = spec.get("contacts")
        if not isinstance(cards, list) or not cards or not all(isinstance(c, dict) for c in cards):
            raise CustomerActionError("a contacts message needs a non-empty 'contacts' list of vCard objects")
        item = payloads.contacts_card(wa, cards, ts)
    elif kind == "reaction":
        target = sim.state.messages.get(str(spec.get("message_id")))
        if target is None or target.wa_id != wa or target.phone_number_id != number.phone_number_id:
            raise CustomerActionError("a reaction needs the 'message_id' of a message in this conversation")
        item = payloads.reaction(wa, target.id, str(spec.get("emoji", "")), ts)
    elif kind in SAMPLE_FILES:
        item = _media_item(sim, number, wa, kind, spec, ts)
    else:
        raise CustomerActionError(f"type must be one of {', '.join(sorted(INBOUND_TYPES))}")
    context_id = spec.get("context", {}).get("message_id") if isinstance(spec.get("context"), dict) \
        else spec.get("reply_to")
    if context_id:
        item["context"] = {"from": number.display_phone_number, "id": str(context_id)}
    if spec.get("forwarded"):
        item["context"] = {**item.get("context", {}), "forwarded": True}
    return deliver(sim, number, customer, item)


def tap(sim: Simulator, wa_id: str, message_id: str, choice: str) -> MessageRecord:
    """The customer taps a reply button, a list row or a template quick reply of a business message."""
    target = sim.state.messages.get(message_id)
    customer = sim.state.customers.get("".join(c for c in wa_id if c.isdigit()))
    if target is None or customer is None or target.direction != "out" or target.wa_id != customer.wa_id:
        raise CustomerActionError("message_id must be a business message sent to this customer", 404)
    if target.status == "failed":
        raise CustomerActionError("that message failed: the customer never received it", 409)
    number = number_for(sim, target.phone_number_id)
    ts = _timestamp(sim, {})
    item = _tap_item(target, customer.wa_id, str(choice), number.display_phone_number, ts)
    if not target.reached("read"):
        statuses.emit(sim, target, ["read"])  # tapping it means it was seen
    return deliver(sim, number, customer, item)


def _tap_item(target: MessageRecord, wa: str, choice: str, display: str, ts: int) -> dict[str, Any]:
    if target.type == "interactive":
        interactive = target.payload.get("interactive", {})
        action = interactive.get("action", {})
        if interactive.get("type") == "button":
            for button in action.get("buttons", []):
                reply = button.get("reply", {})
                if choice in (reply.get("id"), reply.get("title")):
                    return payloads.interactive_reply(wa, "button_reply", {"id": reply["id"], "title": reply["title"]},
                                                      display, target.id, ts)
        elif interactive.get("type") == "list":
            for section in action.get("sections", []):
                for row in section.get("rows", []):
                    if choice in (row.get("id"), row.get("title")):
                        reply = {k: row[k] for k in ("id", "title", "description") if row.get(k) is not None}
                        return payloads.interactive_reply(wa, "list_reply", reply, display, target.id, ts)
    elif target.type == "template" and target.rendered:
        for button in target.rendered.get("buttons", []):
            if button["type"] == "QUICK_REPLY" and choice in (str(button["index"]), button["text"], button["payload"]):
                return payloads.template_button(wa, button["payload"] or button["text"], button["text"],
                                                display, target.id, ts)
    raise CustomerActionError(f"'{choice}' is not a button, row or quick reply of message {target.id}")


def deliver(sim: Simulator, number: BusinessNumber, customer: Customer, item: dict[str, Any]) -> MessageRecord:
    """Record an inbound message, open the window, POST the `messages` webhook."""
    item["id"] = wamid(customer.wa_id, inbound=True)
    ts = int(item["timestamp"])
    record = MessageRecord(id=item["id"], phone_number_id=number.phone_number_id, wa_id=customer.wa_id,
                           direction="in", type=item["type"], payload=item, timestamp=ts, status="received",
                           context_id=(item.get("context") or {}).get("id"))
    sim.state.record(record)
    key = (number.phone_number_id, customer.wa_id)
    sim.state.last_inbound[key] = max(sim.state.last_inbound.get(key, 0.0), float(ts))
    sim.state.stats_of(number.phone_number_id).inbound += 1
    envelope = payloads.envelope(number.waba_id, number.phone_number_id, number.display_phone_number,
                                 contacts=[payloads.contact(customer.wa_id, customer.name or customer.wa_id)],
                                 messages=[item])
    sim.emit(number, envelope, f"{number.phone_number_id}:{customer.wa_id}")
    return record


def _timestamp(sim: Simulator, spec: dict[str, Any]) -> int:
    raw = spec.get("timestamp")
    if raw is None:
        return sim.now()
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise CustomerActionError("timestamp must be unix seconds") from None


def _media_item(sim: Simulator, number: BusinessNumber, wa: str, kind: str, spec: dict[str, Any],
                ts: int) -> dict[str, Any]:
    sample, sample_mime, sample_name = SAMPLE_FILES[kind]
    if spec.get("content_base64"):
        try:
            content = base64.b64decode(str(spec["content_base64"]), validate=True)
        except (binascii.Error, ValueError):
            raise CustomerActionError("content_base64 is not valid base64") from None
        mime = str(spec.get("mime_type") or "application/octet-stream")
    else:
        content, mime = sample, str(spec.get("mime_type") or sample_mime)
    filename = spec.get("filename") or sample_name
    media_id = sim.state.add_media(content, mime, sim.state.new_media_id(), owner=number.phone_number_id,
                                   filename=filename)
    stored = sim.state.media[media_id]
    fields: dict[str, Any] = {}
    if spec.get("caption") and kind in ("image", "video", "document"):
        fields["caption"] = str(spec["caption"])
    if kind == "document":
        fields["filename"] = filename or "document"
    if kind == "audio":
        fields["voice"] = bool(spec.get("voice", True))
    if kind == "sticker":
        fields["animated"] = False
    if sim.public_base:
        fields["url"] = f"{sim.public_base}/media-download/{media_id}"
    return payloads.media(wa, kind, media_id, mime, stored.sha256, ts, **fields)



"""Normalise a WhatsApp Cloud API webhook body into typed inbound events.

Robust by design: a malformed or unknown item becomes an event that keeps its raw payload (an
`unknown` message, an `unknown_field` notice), never an exception that would drop its neighbours.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson

from centralino.domain.enums import MEDIA_TYPES, DeliveryStatus, MessageType, TemplateStatus
from centralino.domain.inbound import (
    JSON,
    AccountNotice,
    InboundEvent,
    InboundMessage,
    MediaRef,
    MessageContext,
    ProviderError,
    Sender,
    StatusUpdate,
    TemplateStatusUpdate,
)

log = logging.getLogger(__name__)

_KNOWN_VALUE_KEYS = {"messaging_product", "metadata", "contacts", "messages", "statuses", "errors"}
_TEMPLATE_FIELDS = {
    "message_template_status_update": "template_status",
    "message_template_quality_update": "template_quality",
    "template_category_update": "template_category",
    "message_template_components_update": "template_components",
}


def parse_delivery(body: JSON) -> list[InboundEvent]:
    """Every event in one webhook POST body, in payload order."""
    events: list[InboundEvent] = []
    for entry in _dicts(body.get("entry")):
        waba_id = _str(entry.get("id"))
        entry_time = _ts(entry.get("time"))
        for change in _dicts(entry.get("changes")):
            field_name = _str(change.get("field")) or ""
            value = change.get("value")
            if not isinstance(value, dict):
                value = {}
            events.extend(_parse_change(field_name, value, waba_id, entry_time))
    return events


def _parse_change(field_name: str, value: JSON, waba_id: str | None, entry_time: datetime | None) -> Iterator[
    InboundEvent
]:
    if field_name == "messages":
        yield from _parse_messages_value(value, waba_id)
    elif field_name == "message_template_status_update":
        yield _template_status(value, waba_id, entry_time)
    elif field_name in _TEMPLATE_FIELDS:
        yield AccountNotice(
            kind=_TEMPLATE_FIELDS[field_name], field=field_name, waba_id=waba_id, channel_key=None,
            data=value, timestamp=entry_time,
        )
    elif field_name == "user_preferences":
        yield from _user_preferences(value, waba_id)
    else:
        log.info("whatsapp webhook: unmodelled field %r acknowledged and stored", field_name)
        yield AccountNotice(
            kind="unknown_field", field=field_name, waba_id=waba_id,
            channel_key=_channel_key(value), data=value, timestamp=entry_time,
        )


def _channel_key(value: JSON) -> str | None:
    metadata = value.get("metadata")
    return _str(metadata.get("phone_number_id")) if isinstance(metadata, dict) else None


def _parse_messages_value(value: JSON, waba_id: str | None) -> Iterator[InboundEvent]:
    channel_key = _channel_key(value) or ""
    extra = set(value) - _KNOWN_VALUE_KEYS
    if extra:
        log.info("whatsapp webhook: unknown keys %s in messages value kept in raw payload", sorted(extra))
    profiles = _profiles_by_sender(value.get("contacts"))
    for item in _dicts(value.get("messages")):
        yield _message(item, channel_key, profiles)
    for item in _dicts(value.get("statuses")):
        yield _status(item, channel_key)
    errors = _errors(value.get("errors"))
    if errors:
        yield AccountNotice(
            kind="value_error", field="messages", waba_id=waba_id, channel_key=channel_key,
            data=value, errors=errors,
        )


def _profiles_by_sender(contacts: Any) -> dict[str, Sender]:
    """contacts[] keyed by every id it carries: messages are matched by sender, never by position."""
    found: dict[str, Sender] = {}
    for contact in _dicts(contacts):
        profile = _dict(contact.get("profile"))
        sender = Sender(
            wa_id=_str(contact.get("wa_id")),
            bsuid=_str(contact.get("user_id")),
            name=_str(profile.get("name")),
            username=_str(profile.get("username")),
        )
        for key in (sender.wa_id, sender.bsuid):
            if key:
                found[key] = sender
    return found


def _sender_of(item: JSON, profiles: dict[str, Sender]) -> Sender:
    wa_id = _str(item.get("from"))
    bsuid = _str(item.get("from_user_id"))
    profile = (wa_id and profiles.get(wa_id)) or (bsuid and profiles.get(bsuid)) or Sender()
    return Sender(
        wa_id=wa_id or profile.wa_id,
        bsuid=bsuid or profile.bsuid,
        name=profile.name,
        username=profile.username,
    )


def _message(item: JSON, channel_key: str, profiles: dict[str, Sender]) -> InboundMessage:
    raw_type = _str(item.get("type")) or "unknown"
    mtype = MessageType(raw_type)
    external_id = _str(item.get("id")) or _synthetic_id(item)
    body = _dict(item.get(raw_type))
    content: JSON = {}
    text: str | None = None
    media: MediaRef | None = None
    reaction_target: str | None = None
    new_wa_id: str | None = None

    if mtype is MessageType.TEXT:
        text = _str(body.get("body"))
        content = {"body": text}
    elif mtype in MEDIA_TYPES:
        media = MediaRef(
            provider_id=_str(body.get("id")),
            mime_type=_str(body.get("mime_type")),
            sha256=_str(body.get("sha256")),
            filename=_str(body.get("filename")),
            caption=_str(body.get("caption")),
            voice=body.get("voice") is True,
            animated=body.get("animated") is True,
            url=_str(body.get("url")),
        )
        text = media.caption
        content = {k: v for k, v in (
            ("caption", media.caption), ("filename", media.filename), ("mime_type", media.mime_type),
        ) if v is not None}
        if mtype is MessageType.AUDIO:
            content["voice"] = media.voice
        if mtype is MessageType.STICKER:
            content["animated"] = media.animated
    elif mtype is MessageType.LOCATION:
        content = {
            "latitude": _float(body.get("latitude")),
            "longitude": _float(body.get("longitude")),
            "name": _str(body.get("name")),
            "address": _str(body.get("address")),
            "url": _str(body.get("url")),
        }
        text = " ".join(p for p in (content["name"], content["address"]) if p) or None
    elif mtype is MessageType.CONTACTS:
        cards = [c for c in _dicts(item.get("contacts"))]
        content = {"contacts": cards}
        names = [
            _str(c["name"].get("formatted_name")) for c in cards if isinstance(c.get("name"), dict)
        ]
        text = ", ".join(n for n in names if n) or None
    elif mtype is MessageType.INTERACTIVE:
        content, text = _interactive(body)
    elif mtype is MessageType.BUTTON:
        content = {"payload": _str(body.get("payload")), "text": _str(body.get("text"))}
        text = content["text"]
    elif mtype is MessageType.REACTION:
        reaction_target = _str(body.get("message_id"))
        emoji = _str(body.get("emoji")) or ""
        content = {"message_id": reaction_target, "emoji": emoji, "removed": emoji == ""}
    elif mtype is MessageType.ORDER:
        items = [
            {
                "product_retailer_id": _str(p.get("product_retailer_id")),
                "quantity": p.get("quantity"),
                "item_price": p.get("item_price"),
                "currency": _str(p.get("currency")),
            }
            for p in _dicts(body.get("product_items"))
        ]
        content = {"catalog_id": _str(body.get("catalog_id")), "text": _str(body.get("text")), "items": items}
        text = content["text"]
    elif mtype is MessageType.SYSTEM:
        new_wa_id = _str(body.get("wa_id")) or _str(body.get("new_wa_id"))
        content = {"system_type": _str(body.get("type")), "body": _str(body.get("body")), "wa_id": new_wa_id}
        for key in ("user_id", "previous_user_id"):  # user_changed_user_id (BSUID era)
            if body.get(key):
                content[key] = _str(body.get(key))
        if isinstance(body.get("identity"), dict):
            content["identity"] = body["identity"]
        text = content["body"]
    elif mtype is MessageType.UNSUPPORTED:
        content = {"unsupported_type": _str(body.get("type"))} if body else {}
    else:
        # A type we do not model yet: kept whole so a later version can re-read it.
        content = {"raw_type": raw_type, raw_type: body} if body else {"raw_type": raw_type}

    return InboundMessage(
        channel_key=channel_key,
        external_id=external_id,
        sender=_sender_of(item, profiles),
        timestamp=_ts(item.get("timestamp")) or datetime.now(UTC),
        type=mtype,
        raw_type=raw_type,
        text=text,
        content=content,
        raw=item,
        media=media,
        context=_context(item.get("context")),
        referral=item["referral"] if isinstance(item.get("referral"), dict) else None,
        errors=_errors(item.get("errors")),
        reaction_target=reaction_target,
        new_wa_id=new_wa_id,
    )


def _interactive(body: JSON) -> tuple[JSON, str | None]:
    kind = _str(body.get("type")) or "unknown"
    reply = _dict(body.get(kind))
    if kind in ("button_reply", "list_reply"):
        content: JSON = {
            "interactive_type": kind,
            "id": _str(reply.get("id")),
            "title": _str(reply.get("title")),
        }
        if kind == "list_reply":
            content["description"] = _str(reply.get("description"))
        return content, content["title"]
    if kind == "nfm_reply":
        response: Any = reply.get("response_json")
        if isinstance(response, str):
            try:
                response = orjson.loads(response)
            except orjson.JSONDecodeError:
                log.warning("whatsapp nfm_reply: response_json is not JSON; kept as text")
        content = {
            "interactive_type": kind,
            "name": _str(reply.get("name")),
            "body": _str(reply.get("body")),
            "response": response,
        }
        return content, content["body"]
    return {"interactive_type": kind, kind: reply}, None


def _context(raw: Any) -> MessageContext | None:
    if not isinstance(raw, dict):
        return None
    product = raw.get("referred_product")
    return MessageContext(
        reply_to_external_id=_str(raw.get("id")),
        reply_to_from=_str(raw.get("from")),
        # frequently_forwarded (> 5 times) comes without `forwarded`, but implies it
        forwarded=raw.get("forwarded") is True or raw.get("frequently_forwarded") is True,
        frequently_forwarded=raw.get("frequently_forwarded") is True,
        referred_product=product if isinstance(product, dict) else None,
    )


def _status(item: JSON, channel_key: str) -> StatusUpdate:
    raw_status = _str(item.get("status")) or "unknown"
    return StatusUpdate(
        channel_key=channel_key,
        external_id=_str(item.get("id")) or _synthetic_id(item),
        status=DeliveryStatus(raw_status),
        raw_status=raw_status,
        timestamp=_ts(item.get("timestamp")) or datetime.now(UTC),
        raw=item,
        recipient_id=_str(item.get("recipient_id")),
        recipient_user_id=_str(item.get("recipient_user_id")),
        errors=_errors(item.get("errors")),
        pricing=item["pricing"] if isinstance(item.get("pricing"), dict) else None,
        conversation=item["conversation"] if isinstance(item.get("conversation"), dict) else None,
        callback_data=_str(item.get("biz_opaque_callback_data")),
    )


def _template_status(value: JSON, waba_id: str | None, entry_time: datetime | None) -> TemplateStatusUpdate:
    raw_event = _str(value.get("event")) or "unknown"
    return TemplateStatusUpdate(
        waba_id=waba_id or "",
        template_id=_str(value.get("message_template_id")),
        name=_str(value.get("message_template_name")),
        language=_str(value.get("message_template_language")),
        status=TemplateStatus(raw_event),
        raw_event=raw_event,
        reason=_str(value.get("reason")),
        timestamp=entry_time,
        raw=value,
    )


def _user_preferences(value: JSON, waba_id: str | None) -> Iterator[AccountNotice]:
    channel_key = _channel_key(value)
    profiles = _profiles_by_sender(value.get("contacts"))
    for pref in _dicts(value.get("user_preferences")):
        wa_id = _str(pref.get("wa_id"))
        bsuid = _str(pref.get("user_id"))
        profile = (wa_id and profiles.get(wa_id)) or (bsuid and profiles.get(bsuid)) or Sender()
        yield AccountNotice(
            kind="user_preference",
            field="user_preferences",
            waba_id=waba_id,
            channel_key=channel_key,
            data=pref,
            timestamp=_ts(pref.get("timestamp")),
            sender=Sender(wa_id=wa_id or profile.wa_id, bsuid=bsuid or profile.bsuid, name=profile.name),
        )


def _errors(raw: Any) -> tuple[ProviderError, ...]:
    found = []
    for err in _dicts(raw):
        data = _dict(err.get("error_data"))
        code = err.get("code")
        found.append(
            ProviderError(
                code=code if isinstance(code, int) else _int(code),
                title=_str(err.get("title")),
                message=_str(err.get("message")),
                details=_str(data.get("details")) or _str(err.get("details")),
                href=_str(err.get("href")),
            )
        )
    return tuple(found)


def _synthetic_id(item: JSON) -> str:
    """A stable id for an item that lacks one, so re-deliveries still dedupe."""
    try:
        blob = orjson.dumps(item, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:  # e.g. an int beyond 64 bits, which stdlib json.loads produces
        blob = json.dumps(item, sort_keys=True, default=str).encode()
    return "synthetic." + hashlib.sha256(blob).hexdigest()[:40]


def _dict(raw: Any) -> JSON:
    return raw if isinstance(raw, dict) else {}


def _dicts(raw: Any) -> list[JSON]:
    return [x for x in raw if isinstance(x, dict)] if isinstance(raw, list) else []


def _str(raw: Any) -> str | None:
    if raw is None or isinstance(raw, (dict, list)):
        return None
    return str(raw)


def _int(raw: Any) -> int | None:
    try:
        return int(raw)
    except (TypeError, ValueError, OverflowError):  # OverflowError: float infinity
        return None


def _float(raw: Any) -> float | None:
    try:
        return float(raw)
    except (TypeError, ValueError, OverflowError):  # OverflowError: int too large for a float
        return None


def _ts(raw: Any) -> datetime | None:
    seconds = _int(raw)
    if seconds is None:
        return None
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None

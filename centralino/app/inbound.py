"""Apply inbound events: one transaction per event, events published after each commit.

Every step is idempotent (dedupe on external ids, monotonic updates), so a delivery processed
twice, or events applied in any order, end in the same state.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Engine

from centralino.app.channel_directory import ChannelDirectory
from centralino.app.desk import reopen_for_customer
from centralino.app.outbox import adopt_from_status
from centralino.app.unit_of_work import UnitOfWork, unit_of_work
from centralino.domain.enums import DeliveryStatus, Direction, MessageType
from centralino.domain.inbound import (
    AccountNotice,
    InboundEvent,
    InboundMessage,
    ProviderError,
    Sender,
    StatusUpdate,
    TemplateStatusUpdate,
)
from centralino.events.bus import EventBus
from centralino.storage import contacts as contact_repo
from centralino.storage import conversations as conversation_repo
from centralino.storage import messages as message_repo
from centralino.storage.channels import Channel
from centralino.storage.sql import insert_ignore
from centralino.storage.tables import provider_notices

log = logging.getLogger(__name__)


class InboundProcessor:
    def __init__(self, engine: Engine, directory: ChannelDirectory, bus: EventBus | None, kind: str = "whatsapp"):
        self.engine = engine
        self.directory = directory
        self.bus = bus
        self.kind = kind

    def do_apply(self, event: InboundEvent, delivery_id: int | None = None) -> None:
        """Apply one event in its own transaction (the path a batch falls back to)."""
        with unit_of_work(self.engine, self.bus) as uow:
            self.apply_in(uow, event, delivery_id)

    def apply_in(self, uow: UnitOfWork, event: InboundEvent, delivery_id: int | None = None) -> None:
        if isinstance(event, InboundMessage):
            self._message(uow, event, delivery_id)
        elif isinstance(event, StatusUpdate):
            self._status(uow, event)
        elif isinstance(event, TemplateStatusUpdate):
            self._template_status(uow, event, delivery_id)
        else:
            self._notice(uow, event, delivery_id)

    # --- messages -------------------------------------------------------------------------------

    def channel(self, address: str) -> Channel | None:
        return self._channel(address)

    def _channel(self, address: str) -> Channel | None:
        channel = self.directory.by_address(self.kind, address)
        if channel is None:
            log.warning("%s event for unknown channel %s skipped", self.kind, address)
        return channel

    def _message(self, uow: UnitOfWork, msg: InboundMessage, delivery_id: int | None) -> None:
        channel = self._channel(msg.channel_key)
        if channel is None:
            return
        conn = uow.conn
        if message_repo.find_id(conn, channel.id, msg.external_id) is not None:
            return  # duplicate delivery
        now = datetime.now(UTC)
        resolved = self._resolve_contact(uow, msg.sender, msg.timestamp, now)
        contact_id = resolved.contact_id
        conversation_id, opened = conversation_repo.find_or_open(conn, contact_id, channel.id, now)
        reply_to_id = None
        if msg.context and msg.context.reply_to_external_id:
            reply_to_id = message_repo.find_id(conn, channel.id, msg.context.reply_to_external_id)
        message_id = message_repo.insert(conn, message_row(msg, channel.id, contact_id, conversation_id,
                                                           reply_to_id, delivery_id, now))
        if message_id is None:
            return  # a concurrent worker stored it first
        if msg.media is not None:
            message_repo.insert_media(conn, media_row(msg, message_id, channel.id, now))
        conversation_repo.advance(conn, conversation_id, msg.timestamp, customer_message=msg.opens_window)
        if msg.opens_window:
            reopen_for_customer(uow, [conversation_id])
        if opened:
            uow.emit("conversation.opened", conversation_id=conversation_id, contact_id=contact_id,
                     channel_id=channel.id)
        emit_received(uow, msg, message_id, conversation_id, contact_id, channel.id)
        self.after_message(uow, channel, contact_id, msg, now)

    def after_message(self, uow: UnitOfWork, channel: Channel, contact_id: int, msg: InboundMessage,
                      now: datetime) -> None:
        """What a stored message changes beyond itself: the reaction it sets, the number it changes."""
        if msg.type is MessageType.REACTION and msg.reaction_target:
            changed = message_repo.set_reaction(
                uow.conn, channel_id=channel.id, contact_id=contact_id, target_external_id=msg.reaction_target,
                emoji=str(msg.content.get("emoji") or ""), reacted_at=msg.timestamp,
                source_external_id=msg.external_id,
            )
            if changed:
                uow.emit("message.reaction_changed", channel_id=channel.id, contact_id=contact_id,
                         target_external_id=msg.reaction_target, emoji=msg.content.get("emoji") or "")
        if msg.type is MessageType.SYSTEM and msg.new_wa_id:
            self._number_changed(uow, contact_id, msg, now)

    def _resolve_contact(
        self, uow: UnitOfWork, sender: Sender, at: datetime, now: datetime
    ) -> contact_repo.Resolved:
        resolved = contact_repo.resolve(uow.conn, sender_identities(sender), now)
        contact_repo.update_profile(uow.conn, resolved.contact_id, sender.name, sender.username, at, now)
        if resolved.created:
            uow.emit("contact.created", contact_id=resolved.contact_id)
        for other in resolved.merged_ids:
            uow.emit("contact.merged", contact_id=resolved.contact_id, merged_contact_id=other)
        return resolved

    def _number_changed(self, uow: UnitOfWork, contact_id: int, msg: InboundMessage, now: datetime) -> None:
        assert msg.new_wa_id
        # The old number's contact and the new one's (if it already wrote) are the same person.
        identities = [*contact_repo.identities_for(msg.sender.wa_id, None),
                      *contact_repo.identities_for(msg.new_wa_id, None)]
        resolved = contact_repo.resolve(uow.conn, identities, now)
        for other in resolved.merged_ids:
            uow.emit("contact.merged", contact_id=resolved.contact_id, merged_contact_id=other)
        uow.emit("contact.number_changed", contact_id=resolved.contact_id, old_wa_id=msg.sender.wa_id,
                 new_wa_id=msg.new_wa_id)

    # --- statuses -------------------------------------------------------------------------------

    def _status(self, uow: UnitOfWork, st: StatusUpdate) -> None:
        channel = self._channel(st.channel_key)
        if channel is None:
            return
        err = st.errors[0] if st.errors else None
        new, message_id = message_repo.record_status(uow.conn, channel.id, {
            "external_id": st.external_id,
            "status": st.status.value,
            "raw_status": st.raw_status,
            "occurred_at": st.timestamp,
            "error_code": err.code if err else None,
            "error_title": err.title if err else None,
            "error_details": err.details if err else None,
            "pricing": st.pricing,
            "recipient_id": st.recipient_id or st.recipient_user_id,
            "raw": st.raw,
            "created_at": datetime.now(UTC),
        })
        if not new:
            return
        if message_id is None and st.callback_data:
            # A send of ours whose wamid we have not recorded (yet): its callback data names it.
            message_id = adopt_from_status(uow, channel.id, st.external_id, st.callback_data, datetime.now(UTC))
        if message_id is None:
            uow.emit("message.status_unmatched", channel_id=channel.id, external_id=st.external_id,
                     status=st.raw_status)
            return
        before, after, error_code = message_repo.apply_statuses(uow.conn, message_id)
        if before is not after:
            uow.emit("message.status_changed", message_id=message_id, channel_id=channel.id,
                     status=after.value, previous=before.value,
                     error_code=error_code if after is DeliveryStatus.FAILED else None)

    # --- templates and account notices ----------------------------------------------------------

    def _template_status(self, uow: UnitOfWork, ev: TemplateStatusUpdate, delivery_id: int | None) -> None:
        channel = self._first_of_account(ev.waba_id)
        stored = self._store_notice(uow, kind="template_status", field="message_template_status_update",
                                    channel_id=channel.id if channel else None, account_id=ev.waba_id,
                                    contact_id=None, occurred_at=ev.timestamp, data=ev.raw, delivery_id=delivery_id)
        if stored:
            uow.emit("template.status_changed", account_id=ev.waba_id, template_id=ev.template_id,
                     name=ev.name, language=ev.language, status=ev.status.value, raw_event=ev.raw_event,
                     reason=ev.reason, at=ev.timestamp.isoformat() if ev.timestamp else None, data=ev.raw)

    def _notice(self, uow: UnitOfWork, ev: AccountNotice, delivery_id: int | None) -> None:
        channel = self.directory.by_address(self.kind, ev.channel_key) if ev.channel_key else None
        if channel is None and ev.waba_id:
            channel = self._first_of_account(ev.waba_id)
        contact_id = None
        now = datetime.now(UTC)
        if ev.sender is not None and (ev.sender.wa_id or ev.sender.bsuid):
            contact_id = self._resolve_contact(uow, ev.sender, ev.timestamp or now, now).contact_id
        data = ev.data if not ev.errors else {**ev.data, "parsed_errors": [asdict(e) for e in ev.errors]}
        stored = self._store_notice(uow, kind=ev.kind, field=ev.field, channel_id=channel.id if channel else None,
                                    account_id=ev.waba_id, contact_id=contact_id, occurred_at=ev.timestamp,
                                    data=data, delivery_id=delivery_id)
        if not stored:
            return
        if ev.kind == "user_preference":
            uow.emit("contact.preference_changed", contact_id=contact_id,
                     channel_id=channel.id if channel else None, category=ev.data.get("category"),
                     value=ev.data.get("value"))
        elif ev.kind == "value_error":
            uow.emit("channel.error_reported", channel_id=channel.id if channel else None,
                     errors=[_error_dict(e) for e in ev.errors])
        else:
            uow.emit(f"provider.{ev.kind}", channel_id=channel.id if channel else None, account_id=ev.waba_id,
                     field=ev.field, data=ev.data)

    def _first_of_account(self, waba_id: str | None) -> Channel | None:
        found = self.directory.by_account(self.kind, waba_id) if waba_id else []
        return found[0] if found else None

    def _store_notice(self, uow: UnitOfWork, *, kind: str, field: str, channel_id: int | None,
                      account_id: str | None, contact_id: int | None, occurred_at: datetime | None,
                      data: dict[str, Any], delivery_id: int | None) -> bool:
        key = hashlib.sha256(
            orjson.dumps([kind, field, account_id, data], option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
        ).hexdigest()
        new = insert_ignore(uow.conn, provider_notices, {
            "channel_id": channel_id, "account_id": account_id, "kind": kind, "field": field,
            "contact_id": contact_id, "occurred_at": occurred_at, "data": data, "dedupe_key": key,
            "delivery_id": delivery_id, "created_at": datetime.now(UTC),
        }, ("dedupe_key",))
        return new is not None


def message_row(msg: InboundMessage, channel_id: int, contact_id: int, conversation_id: int,
                reply_to_id: int | None, delivery_id: int | None, now: datetime) -> dict[str, Any]:
    err = msg.errors[0] if msg.errors else None
    return {
        "conversation_id": conversation_id,
        "channel_id": channel_id,
        "contact_id": contact_id,
        "direction": Direction.INBOUND.value,
        "type": msg.type.value,
        "raw_type": msg.raw_type,
        "external_id": msg.external_id,
        "text": msg.text,
        "content": _jsonable(msg.content),
        "status": DeliveryStatus.RECEIVED.value,
        "error_code": err.code if err else None,
        "error_title": err.title if err else None,
        "error_details": err.details if err else None,
        "reply_to_external_id": msg.context.reply_to_external_id if msg.context else None,
        "reply_to_message_id": reply_to_id,
        "forwarded": bool(msg.context and msg.context.forwarded),
        "frequently_forwarded": bool(msg.context and msg.context.frequently_forwarded),
        "referral": msg.referral,
        "sent_at": msg.timestamp,
        "created_at": now,
        "delivery_id": delivery_id,
        "raw": msg.raw,
    }


def media_row(msg: InboundMessage, message_id: int, channel_id: int, now: datetime) -> dict[str, Any]:
    media = msg.media
    assert media is not None
    return {
        "message_id": message_id, "channel_id": channel_id, "provider_id": media.provider_id,
        "mime_type": media.mime_type, "sha256": media.sha256, "filename": media.filename,
        "voice": media.voice, "animated": media.animated,
        "state": "pending" if media.provider_id else "failed",
        "last_error": None if media.provider_id else "no media id in the webhook",
        "attempts": 0, "next_attempt_at": now, "size": None, "storage_path": None, "fetched_at": None,
    }


def emit_received(uow: UnitOfWork, msg: InboundMessage, message_id: int, conversation_id: int, contact_id: int,
                  channel_id: int) -> None:
    uow.emit("message.received", message_id=message_id, conversation_id=conversation_id,
             contact_id=contact_id, channel_id=channel_id, type=msg.type.value, has_media=msg.media is not None)


def sender_identities(sender: Sender) -> list[tuple[str, str]]:
    # Neither a phone nor a BSUID: keep the message under a placeholder identity.
    return contact_repo.identities_for(sender.wa_id, sender.bsuid) or [("whatsapp_unidentified", "unidentified")]


def _error_dict(err: ProviderError) -> dict[str, Any]:
    return asdict(err)


def _jsonable(content: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = orjson.loads(orjson.dumps(content))
    return result

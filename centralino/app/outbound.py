"""Sending, the use cases the API, the agent UI and the bot call: check_* validates and raises,
do_* queues the message and its outbox row in one transaction and publishes after commit.

Nothing leaves here: the sender worker (workers/sender.py) drains the outbox.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, Engine

from centralino.app.channel_directory import ChannelDirectory
from centralino.app.consent import ConsentService
from centralino.app.unit_of_work import UnitOfWork, unit_of_work
from centralino.domain import window
from centralino.domain.consent import purpose_of_category
from centralino.domain.enums import DeliveryStatus, Direction, IdentityKind
from centralino.domain.media_rules import MediaKind, check_file
from centralino.domain.outbound import (
    Content,
    Media,
    Reaction,
    TemplateMessage,
    is_free_form,
    media_items,
    searchable_text,
    validate,
)
from centralino.domain.outbound_codec import to_dict
from centralino.domain.sending import OutboxKind
from centralino.errors import Conflict, InvalidInput, NotFound
from centralino.events.bus import EventBus
from centralino.storage import contacts as contact_repo
from centralino.storage import conversations as conversation_repo
from centralino.storage import idempotency as idempotency_repo
from centralino.storage import messages as message_repo
from centralino.storage import outbound_media as media_repo
from centralino.storage import outbox as outbox_repo

# Where a channel kind sends to, in order of preference (WhatsApp: the phone-based wa_id, else the BSUID).
RECIPIENT_KINDS = {"whatsapp": [IdentityKind.WHATSAPP.value, IdentityKind.WHATSAPP_BSUID.value]}
READ_RECEIPT_MAX_AGE = timedelta(days=30)  # Meta accepts read receipts for 30 days


class WindowClosed(Conflict):
    code = "window.closed"


@dataclass(frozen=True)
class Queued:
    message_id: int
    conversation_id: int
    replayed: bool = False  # an Idempotency-Key repeat: the message the first request queued


@dataclass(frozen=True)
class ReadQueued:
    request_id: int  # the outbox row
    conversation_id: int
    message_id: int  # the customer's message marked read (and every earlier one)
    already_queued: bool = False


@dataclass(frozen=True)
class SendPlan:
    """Everything a checked send resolved: where it goes and what it refers to."""

    conversation_id: int
    channel_id: int
    contact_id: int
    recipient_kind: str
    recipient: str
    reply_to_message_id: int | None
    reply_to_external_id: str | None
    target_message_id: int | None
    target_external_id: str | None
    uploads: dict[int, dict[str, Any]]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class OutboundService:
    def __init__(self, engine: Engine, directory: ChannelDirectory, bus: EventBus | None, *,
                 clock: Callable[[], datetime] = _utcnow) -> None:
        self.engine = engine
        self.directory = directory
        self.bus = bus
        self.clock = clock
        # The one consent decision for business-initiated sends (services.py installs the configured one).
        self.consent = ConsentService(engine, bus, clock=clock)

    # --- messages -------------------------------------------------------------------------------------------

    def do_send(self, conversation_id: int, content: Content, *, reply_to: int | None = None,
                idempotency_key: str | None = None, origin: str = "api") -> Queued:
        """Queue `content` for the conversation's customer. `origin` names the caller (api, bot,
        agent:<id>) and scopes the idempotency key."""
        validate(content)
        now = self.clock()
        with unit_of_work(self.engine, self.bus) as uow:
            if idempotency_key is not None:
                self._conversation(uow.conn, conversation_id)  # the key row refers to it
                previous = idempotency_repo.claim(uow.conn, origin, conversation_id, idempotency_key,
                                                  request_hash(content, reply_to), now)
                if previous is not None:
                    return self._replay(previous, conversation_id, content, reply_to)
            plan = self.check_send(uow.conn, conversation_id, content, reply_to, now)
            message_id = self._record(uow, plan, content, origin, now)
            if idempotency_key is not None:
                idempotency_repo.attach(uow.conn, origin, conversation_id, idempotency_key, message_id)
        return Queued(message_id, conversation_id)

    def do_send_within(self, uow: UnitOfWork, conversation_id: int, content: Content, *, origin: str) -> int:
        """do_send inside the caller's transaction (a listener's reply: an opt-out confirmation, an out-of-hours
        answer, a survey), so the message commits or rolls back with its cause. Raises like check_send before
        anything is written; the queued message's id."""
        validate(content)
        now = self.clock()
        plan = self.check_send(uow.conn, conversation_id, content, None, now)
        return self._record(uow, plan, content, origin, now)

    def check_send(self, conn: Connection, conversation_id: int, content: Content, reply_to: int | None,
                   now: datetime) -> SendPlan:
        """Raise unless `content` may be queued for this conversation now; else what it resolves to."""
        conversation = self._conversation(conn, conversation_id)
        if is_free_form(content):
            check_window(conversation_id, conversation["window_expires_at"], now)
        channel_id = int(conversation["channel_id"])
        if isinstance(content, TemplateMessage):  # business-initiated: the customer's consent decides
            self.consent.check_consent(conn, int(conversation["contact_id"]), channel_id,
                                       purpose_of_category(content.category), now)
        recipient_kind, recipient = self._recipient(conn, channel_id, int(conversation["contact_id"]))
        uploads = self._check_uploads(conn, content)
        reply_to_external_id = None
        if reply_to is not None:
            reply_to_external_id = self._sent_message(conn, conversation_id, reply_to, "reply_to", "reply")
        target_external_id = None
        if isinstance(content, Reaction):
            target_external_id = self._sent_message(conn, conversation_id, content.message_id,
                                                    "reaction.message_id", "reaction")
        return SendPlan(conversation_id, channel_id, int(conversation["contact_id"]), recipient_kind, recipient,
                        reply_to, reply_to_external_id, content.message_id if isinstance(content, Reaction) else None,
                        target_external_id, uploads)

    def _record(self, uow: UnitOfWork, plan: SendPlan, content: Content, origin: str, now: datetime) -> int:
        conn = uow.conn
        message_id = message_repo.insert(conn, {
            "conversation_id": plan.conversation_id, "channel_id": plan.channel_id, "contact_id": plan.contact_id,
            "direction": Direction.OUTBOUND.value, "type": content.type, "raw_type": content.type,
            "external_id": None, "text": searchable_text(content), "content": to_dict(content),
            "status": DeliveryStatus.QUEUED.value, "reply_to_external_id": plan.reply_to_external_id,
            "reply_to_message_id": plan.reply_to_message_id, "forwarded": False, "frequently_forwarded": False,
            # For outbound messages sent_at orders the conversation: the moment it was queued.
            "sent_at": now, "created_at": now, "origin": origin, "queued_at": now,
        })
        assert message_id is not None  # no external id yet: nothing to conflict with
        if isinstance(content, Media) and content.media_id is not None:
            upload = plan.uploads[content.media_id]
            message_repo.insert_media(conn, {
                "message_id": message_id, "channel_id": plan.channel_id, "provider_id": None,
                "mime_type": upload["mime_type"], "sha256": upload["sha256"],
                "filename": content.filename or upload["filename"], "size": upload["size"], "voice": False,
                "animated": bool(upload["animated"]), "state": "stored", "storage_path": upload["storage_path"],
                "attempts": 0, "next_attempt_at": None, "last_error": None, "fetched_at": None,
            })
        outbox_repo.enqueue(conn, {
            "kind": OutboxKind.MESSAGE.value, "channel_id": plan.channel_id, "conversation_id": plan.conversation_id,
            "message_id": message_id, "target_message_id": plan.target_message_id,
            "target_external_id": plan.target_external_id, "recipient_kind": plan.recipient_kind,
            "recipient": plan.recipient, "next_attempt_at": now, "created_at": now,
        })
        conversation_repo.advance(conn, plan.conversation_id, now, customer_message=False)
        uow.emit("message.queued", message_id=message_id, conversation_id=plan.conversation_id,
                 channel_id=plan.channel_id, contact_id=plan.contact_id, type=content.type, origin=origin)
        return message_id

    def _replay(self, previous: Any, conversation_id: int, content: Content, reply_to: int | None) -> Queued:
        if previous.request_hash != request_hash(content, reply_to):
            raise Conflict("this Idempotency-Key was already used with a different request body",
                           field="Idempotency-Key", code="idempotency.mismatch")
        if previous.message_id is None:  # cannot outlive its transaction; kept as a guard
            raise Conflict("a request with this Idempotency-Key is still being processed", field="Idempotency-Key",
                           code="idempotency.in_progress")
        return Queued(int(previous.message_id), conversation_id, replayed=True)

    # --- read receipts --------------------------------------------------------------------------------------

    def do_mark_read(self, conversation_id: int, message_id: int | None = None, *, origin: str = "api") -> ReadQueued:
        """Queue a read receipt for a customer's message (default: their latest); WhatsApp marks the
        earlier ones read too. Not a message: it goes through the outbox without a message row."""
        now = self.clock()
        with unit_of_work(self.engine, self.bus) as uow:
            conversation, target = self.check_mark_read(uow.conn, conversation_id, message_id, now)
            existing = outbox_repo.open_read_receipt(uow.conn, conversation_id, int(target.id))
            if existing is not None:
                return ReadQueued(existing, conversation_id, int(target.id), already_queued=True)
            channel_id = int(conversation["channel_id"])
            found = contact_repo.address_for(uow.conn, int(conversation["contact_id"]),
                                             RECIPIENT_KINDS.get(self._kind(channel_id), []))
            kind, recipient = found if found is not None else ("none", "")
            request_id = outbox_repo.enqueue(uow.conn, {
                "kind": OutboxKind.READ.value, "channel_id": channel_id, "conversation_id": conversation_id,
                "message_id": None, "target_message_id": int(target.id), "target_external_id": target.external_id,
                "recipient_kind": kind, "recipient": recipient, "next_attempt_at": now, "created_at": now,
            })
            uow.emit("message.read_receipt_queued", request_id=request_id, conversation_id=conversation_id,
                     message_id=int(target.id), channel_id=channel_id, origin=origin)
        return ReadQueued(request_id, conversation_id, int(target.id))

    def check_mark_read(self, conn: Connection, conversation_id: int, message_id: int | None,
                        now: datetime) -> tuple[Any, Any]:
        conversation = self._conversation(conn, conversation_id)
        if message_id is None:
            target = message_repo.latest_inbound(conn, conversation_id)
            if target is None:
                raise Conflict("the customer has sent nothing to mark as read", code="read.nothing_to_mark")
        else:
            target = message_repo.in_conversation(conn, message_id, conversation_id)
            if target is None:
                raise InvalidInput(f"message {message_id} is not in conversation {conversation_id}",
                                   field="message_id", code="read.not_found", status=422)
            if target.direction != Direction.INBOUND.value or not target.external_id:
                raise InvalidInput("only a customer's message can be marked as read", field="message_id",
                                   code="read.not_inbound", status=422)
        if target.sent_at < now - READ_RECEIPT_MAX_AGE:
            raise Conflict("messages older than 30 days cannot be marked as read", field="message_id",
                           code="read.too_old")
        return conversation, target

    # --- checks ---------------------------------------------------------------------------------------------

    def _conversation(self, conn: Connection, conversation_id: int) -> Any:
        found = conversation_repo.get(conn, conversation_id)
        if found is None:
            raise NotFound(f"no conversation {conversation_id}", field="conversation_id")
        return found

    def _kind(self, channel_id: int) -> str:
        channel = self.directory.by_id(channel_id)
        if channel is None:
            raise NotFound(f"channel {channel_id} no longer exists", field="conversation_id")
        return channel.kind

    def _recipient(self, conn: Connection, channel_id: int, contact_id: int) -> tuple[str, str]:
        kind = self._kind(channel_id)
        if kind not in RECIPIENT_KINDS:
            raise Conflict(f"{kind} channels cannot send messages yet", code="channel.cannot_send")
        found = contact_repo.address_for(conn, contact_id, RECIPIENT_KINDS[kind])
        if found is None:
            raise Conflict(f"contact {contact_id} has no {kind} identity to send to", code="contact.no_address")
        return found

    def _check_uploads(self, conn: Connection, content: Content) -> dict[int, dict[str, Any]]:
        uploads: dict[int, dict[str, Any]] = {}
        for media, path in media_items(content):
            if media.media_id is None:
                continue
            row = media_repo.get(conn, media.media_id)
            if row is None:
                raise InvalidInput(f"no uploaded media {media.media_id} (upload it with POST /api/v1/media)",
                                   field=f"{path}.media_id", code="media.not_found", status=422)
            check_file(MediaKind(media.kind), row["mime_type"], int(row["size"]), animated=bool(row["animated"]),
                       field=f"{path}.media_id")
            uploads[media.media_id] = row
        return uploads

    def _sent_message(self, conn: Connection, conversation_id: int, message_id: int, field: str, what: str) -> str:
        """The provider id of a message of this conversation (what a reply quotes, a reaction targets)."""
        found = message_repo.in_conversation(conn, message_id, conversation_id)
        if found is None:
            raise InvalidInput(f"message {message_id} is not in conversation {conversation_id}", field=field,
                               code=f"{what}.not_found", status=422)
        if not found.external_id:
            raise Conflict(f"message {message_id} has not been accepted by the channel yet, so it cannot be "
                           f"referred to; try again once it is sent", field=field, code=f"{what}.not_sent")
        return str(found.external_id)


def check_window(conversation_id: int, expires_at: datetime | None, now: datetime) -> None:
    """Free-form messages only within 24 h of the customer's last message (their timestamps, not ours)."""
    state = window.state(expires_at, now)
    if state.is_open:
        return
    when = (f"closed at {expires_at.isoformat()}" if expires_at is not None
            else "has never opened (the customer has not written on this channel)")
    raise WindowClosed(
        f"the customer-service window of conversation {conversation_id} {when}: free-form messages can only be "
        "sent within 24 hours of the customer's last message; send an approved template instead",
        closes_at=expires_at.isoformat() if expires_at is not None else None)


def request_hash(content: Content, reply_to: int | None) -> str:
    """The same request, however its JSON was spelt (key order, defaults), hashes the same."""
    canonical = orjson.dumps({"content": to_dict(content), "reply_to": reply_to}, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()

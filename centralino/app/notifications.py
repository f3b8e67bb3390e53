"""Transactional notifications: a business system asks for one approved template sent to one customer.

do_notify resolves the recipient (a phone number, created as a contact with its conversation if new, or
a contact id), the channel and the template (by name or use-case alias), then hands the send to
TemplateSender (app/template_send.py), which checks every parameter and queues the TemplateMessage.

Atomicity: the notification row is written by an in-transaction listener on `message.queued`, inside
the very transaction that queues the message and its outbox row (a context variable carries the row
to the listener). So a crash leaves either both or neither; an Idempotency-Key repeat of a request
that crashed simply sends it. Two concurrent requests with the same key meet at the unique index on
(idempotency_scope, idempotency_key): the second transaction rolls back (its message with it) and
answers with the first notification.
"""

from __future__ import annotations

import contextvars
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson
import phonenumbers
from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import IntegrityError

from centralino.app.channel_directory import ChannelDirectory
from centralino.app.notification_statuses import StatusMirror
from centralino.app.outbound import OutboundService, Queued
from centralino.app.template_send import TemplateRequest
from centralino.app.unit_of_work import UnitOfWork, unit_of_work
from centralino.domain.notifications import DEFAULT_USE_CASES, UseCase
from centralino.domain.outbound import TemplateMessage
from centralino.errors import Conflict, InvalidInput, NotFound
from centralino.events.bus import Event, EventBus
from centralino.storage import contacts as contact_repo
from centralino.storage import conversations as conversation_repo
from centralino.storage import notifications as repo
from centralino.storage.channels import Channel
from centralino.storage.tables import contacts
from centralino.storage.tables_templates import templates

ORIGIN = "notification"  # the messages' origin: the consent check treats it as business-initiated


class Sends(Protocol):  # app/template_send.py TemplateSender
    outbound: OutboundService

    def do_send(self, conversation_id: int, request: TemplateRequest, *, origin: str,
                idempotency_key: str | None = None, context: Mapping[str, Any] | None = None) -> Queued: ...

    def check_send(self, conn: Connection, conversation_id: int, request: TemplateRequest,
                   context: Mapping[str, Any] | None = None) -> TemplateMessage: ...


@dataclass(frozen=True)
class NotificationRequest:
    recipient: str | None = None  # a phone number, E.164 (+393471234567)
    contact_id: int | None = None
    channel_id: int | None = None
    template: str | None = None
    use_case: str | None = None
    language: str | None = None
    # TemplateSender's parameters (domain/template_params.py): {"header": …, "body": [...] | {...},
    # "buttons": [{"index": 0, "value": …}]}; any value may be {"from": "payload.<path>"}.
    parameters: dict[str, Any] | None = None
    payload: dict[str, Any] = field(default_factory=dict)  # the business event; parameters map from it
    callback_url: str | None = None


@dataclass(frozen=True)
class Sent:
    notification_id: int
    message_id: int
    conversation_id: int
    replayed: bool = False


@dataclass(frozen=True)
class Target:
    contact_id: int
    conversation_id: int
    recipient: str  # wa_id


# Run in the message's transaction once the notification row is written: (uow, the row with its id).
Also = Callable[[UnitOfWork, dict[str, Any]], None]
# What do_notify hands the in-transaction listener: the row to write with the message it queues.
_pending: contextvars.ContextVar[_Pending | None] = contextvars.ContextVar("pending_notification", default=None)


@dataclass
class _Pending:
    row: dict[str, Any]
    also: Also | None
    notification_id: int | None = None


def _utcnow() -> datetime:
    return datetime.now(UTC)


class NotificationService:
    def __init__(self, engine: Engine, directory: ChannelDirectory, bus: EventBus, sender: Sends, *,
                 default_channel_id: int | None = None, clock: Callable[[], datetime] = _utcnow) -> None:
        self.engine = engine
        self.directory = directory
        self.bus = bus
        self.sender = sender
        self.default_channel_id = default_channel_id
        self.clock = clock
        bus.subscribe_in_transaction("message.queued", self._on_queued)
        # status mirror and callbacks, in the status's transaction (app/notification_statuses.py)
        bus.subscribe_in_transaction_batch("message.status_changed", StatusMirror(lambda: self.clock()).on_status)

    # --- sending ----------------------------------------------------------------------------------------------

    def do_notify(self, request: NotificationRequest, *, idempotency_key: str | None, api_client: str,
                  also: Also | None = None) -> Sent:
        """Queue the notification's template message and record it, in one transaction."""
        digest = request_hash(request)
        if idempotency_key is not None:
            with self.engine.connect() as conn:
                previous = repo.by_idempotency(conn, api_client, idempotency_key)
            if previous is not None:
                return _replay(previous, digest)
        use_case = self._use_case(request.use_case) if request.use_case else None
        template_name = request.template or (use_case.template if use_case else None)
        if not template_name:
            raise InvalidInput("name a template or a use_case", field="template", code="notification.no_template",
                               status=422)
        channel = self.channel(request.channel_id)
        send = template_request(template_name, request, use_case)
        self._check_template(channel, template_name, send.language, "template" if request.template else "use_case")
        context = {"payload": request.payload}
        now = self.clock()
        # The recipient's contact and conversation are created only if the template and its parameters
        # check out: bad input changes nothing (the transaction rolls back with the error).
        with unit_of_work(self.engine, self.bus) as uow:
            target = self._target(uow, channel, request.recipient, request.contact_id, now)
            message = self.sender.check_send(uow.conn, target.conversation_id, send, context)
            # consent and uploads too, while a refusal still rolls the new contact back
            self.sender.outbound.check_send(uow.conn, target.conversation_id, message, None, now)
        pending = _Pending({
            "use_case": request.use_case, "template_name": template_name, "template_language": message.language,
            "recipient": target.recipient, "contact_id": target.contact_id, "channel_id": channel.id,
            "conversation_id": target.conversation_id, "callback_url": request.callback_url, "origin": api_client,
            "idempotency_scope": api_client if idempotency_key else None, "idempotency_key": idempotency_key,
            "request_hash": digest, "status": "queued", "error_code": None, "created_at": now, "status_at": now,
        }, also)
        token = _pending.set(pending)
        try:
            queued = self.sender.do_send(target.conversation_id, send, origin=ORIGIN, context=context)
        except IntegrityError:
            if idempotency_key is None:
                raise
            with self.engine.connect() as conn:  # a concurrent request with the same key committed first
                previous = repo.by_idempotency(conn, api_client, idempotency_key)
            if previous is None:
                raise
            return _replay(previous, digest)
        finally:
            _pending.reset(token)
        if pending.notification_id is None:  # the listener did not hear its message: never leave it unrecorded
            raise RuntimeError("the notification's message was queued without its notification row")
        return Sent(pending.notification_id, int(queued.message_id), target.conversation_id)

    def _on_queued(self, uow: UnitOfWork, event: Event) -> None:
        pending = _pending.get()
        if pending is None or pending.notification_id is not None or event.payload.get("origin") != ORIGIN:
            return
        message_id = int(event.payload["message_id"])
        row = {**pending.row, "message_id": message_id, "conversation_id": int(event.payload["conversation_id"])}
        pending.notification_id = repo.insert_notification(uow.conn, row)
        if pending.also is not None:
            pending.also(uow, {**row, "id": pending.notification_id})
        uow.emit("notification.queued", notification_id=pending.notification_id, message_id=message_id,
                 use_case=row["use_case"], template=row["template_name"], contact_id=row["contact_id"])

    # --- resolution -------------------------------------------------------------------------------------------

    def channel(self, channel_id: int | None) -> Channel:
        """The named WhatsApp channel, else the configured default, else the only one."""
        wanted = channel_id if channel_id is not None else self.default_channel_id
        if wanted is not None:
            found = self.directory.by_id(wanted)
            if found is None or found.kind != "whatsapp":
                raise InvalidInput(f"no WhatsApp channel {wanted}", field="channel_id", code="channel.not_found",
                                   status=422)
            return found
        channels = self.directory.all("whatsapp")
        if len(channels) != 1:
            raise InvalidInput("there is no WhatsApp channel" if not channels else
                               "there are several WhatsApp channels: name one with channel_id",
                               field="channel_id", code="channel.ambiguous", status=422)
        return channels[0]

    def _target(self, uow: UnitOfWork, channel: Channel, phone: str | None, contact_id: int | None,
                now: datetime) -> Target:
        """The recipient's contact and conversation on the channel, created when new (with their events)."""
        if (phone is None) == (contact_id is None):
            raise InvalidInput("give either recipient (a phone number) or contact_id", field="recipient",
                               code="notification.recipient", status=422)
        if phone is not None:
            wa_id = wa_id_of(phone)
            resolved = contact_repo.resolve(uow.conn, contact_repo.identities_for(wa_id, None), now)
            if resolved.created:
                uow.emit("contact.created", contact_id=resolved.contact_id)
            for other in resolved.merged_ids:
                uow.emit("contact.merged", contact_id=resolved.contact_id, merged_contact_id=other)
            found_id = resolved.contact_id
        else:
            assert contact_id is not None
            found_id = _live_contact(uow.conn, contact_id)
            address = contact_repo.address_for(uow.conn, found_id, ["whatsapp"])
            if address is None:
                raise InvalidInput(f"contact {contact_id} has no WhatsApp number", field="contact_id",
                                   code="contact.no_address", status=422)
            wa_id = address[1]
        conversation_id, opened = conversation_repo.find_or_open(uow.conn, found_id, channel.id, now)
        if opened:
            uow.emit("conversation.opened", conversation_id=conversation_id, contact_id=found_id,
                     channel_id=channel.id)
        return Target(found_id, conversation_id, wa_id)

    def _use_case(self, name: str) -> UseCase:
        found = use_case(self.engine, name)
        if found is None:
            raise InvalidInput(f"no use case {name!r} (GET /api/v1/notification-use-cases lists them)",
                               field="use_case", code="use_case.unknown", status=422)
        return found

    def _check_template(self, channel: Channel, name: str, language: str | None, field_name: str) -> str | None:
        """Fail early, naming the request's field, when the channel's account has no such approved
        template; TemplateSender checks the rest (language choice, parameters)."""
        t = templates.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.language, t.status).where(t.account_id == (channel.account_id or ""),
                                                                   t.name == name)).all()
        if not rows:
            raise InvalidInput(f"no template {name!r} on the WhatsApp account of channel {channel.id}",
                               field=field_name, code="template.unknown", status=422)
        if language is not None and language not in {r.language for r in rows}:
            raise InvalidInput(f"template {name!r} has no {language!r} version", field="language",
                               code="template.language_unknown", status=422)
        return language

    # --- reading ----------------------------------------------------------------------------------------------

    def get(self, notification_id: int) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = repo.get(conn, notification_id)
            if row is None:
                raise NotFound(f"no notification {notification_id}", field="notification_id")
            found = dict(row)
            found["history"] = repo.status_history_of(conn, int(row["message_id"]))
            found["callbacks"] = [{k: c[k] for k in ("id", "state", "attempts", "last_status_code", "last_error",
                                                      "created_at", "completed_at")}
                                  for c in repo.callbacks_of(conn, notification_id)]
        return found


def use_case(engine: Engine, name: str) -> UseCase | None:
    with engine.connect() as conn:
        stored = repo.stored_use_case(conn, name)
    if stored is not None:
        return _stored(stored)
    return DEFAULT_USE_CASES.get(name)


def use_cases(engine: Engine) -> list[UseCase]:
    with engine.connect() as conn:
        stored = {r["name"]: _stored(r) for r in repo.stored_use_cases(conn)}
    return sorted({**DEFAULT_USE_CASES, **stored}.values(), key=lambda u: u.name)


def _stored(row: Any) -> UseCase:
    return UseCase(row["name"], row["template_name"], row["language"], dict(row["parameters"] or {}),
                   row["description"] or "", is_default=False)


def template_request(name: str, request: NotificationRequest, use_case: UseCase | None) -> TemplateRequest:
    """TemplateSender's request: the alias's default parameter groups (header, body, buttons), each
    replaced by the request's own when it gives that group."""
    language = request.language or (use_case.language if use_case else None)
    parameters = {**(use_case.parameters if use_case else {}), **(request.parameters or {})}
    return TemplateRequest(name=name, language=language, parameters=parameters)


def wa_id_of(phone: str) -> str:
    """WhatsApp's address for an E.164 number: its digits without '+'."""
    try:
        number = phonenumbers.parse(phone if phone.startswith("+") else "+" + phone, None)
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput(f"recipient is not a phone number in international format: {exc}", field="recipient",
                           code="recipient.invalid", status=422) from None
    if not phonenumbers.is_possible_number(number):  # as contacts do: test and new ranges pass
        raise InvalidInput("recipient is not a valid phone number (use E.164, e.g. +393471234567)",
                           field="recipient", code="recipient.invalid", status=422)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164).lstrip("+")


def request_hash(request: NotificationRequest) -> str:
    canonical = orjson.dumps(request.__dict__, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    return hashlib.sha256(canonical).hexdigest()


def _replay(previous: Any, digest: str) -> Sent:
    if previous["request_hash"] != digest:
        raise Conflict("this Idempotency-Key was already used with a different request body",
                       field="Idempotency-Key", code="idempotency.mismatch")
    return Sent(int(previous["id"]), int(previous["message_id"]), int(previous["conversation_id"]), replayed=True)


def _live_contact(conn: Connection, contact_id: int) -> int:
    c = contacts.c
    row = conn.execute(select(c.id, c.merged_into_id).where(c.id == contact_id)).first()
    if row is None:
        raise InvalidInput(f"no contact {contact_id}", field="contact_id", code="contact.not_found", status=422)
    return int(row.merged_into_id or row.id)


"""The outbox's states, what a send attempt can come to, and how a send names our message to Meta."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from centralino.domain.outbound import Content


class OutboxKind(StrEnum):
    MESSAGE = "message"  # a message row goes out
    READ = "read"  # a read receipt for a customer's message (no message row of its own)


class OutboxState(StrEnum):
    QUEUED = "queued"  # waiting for next_attempt_at
    SENDING = "sending"  # an attempt is committed in flight (attempt id, lease) — the call may be under way
    UNCONFIRMED = "unconfirmed"  # the call may have reached the provider: wait for its status webhook first
    DONE = "done"  # the provider accepted it (its id recorded)
    FAILED = "failed"  # permanently refused, or attempts exhausted


OPEN_STATES = frozenset({OutboxState.QUEUED, OutboxState.SENDING, OutboxState.UNCONFIRMED})


class Retry(StrEnum):
    TRANSIENT = "transient"  # not sent: retry with backoff
    PERMANENT = "permanent"  # not sent and never will be: the message fails
    UNCERTAIN = "uncertain"  # the request went out and no answer came back: it may have been sent


@dataclass(frozen=True)
class Accepted:
    external_id: str | None  # the provider's id (WhatsApp wamid); None for read receipts


@dataclass(frozen=True)
class Refused:
    retry: Retry
    code: int | None
    title: str
    details: str | None = None
    http_status: int | None = None


SendOutcome = Accepted | Refused


@dataclass(frozen=True)
class OutboundJob:
    """One message as a channel needs it to send: content plus everything resolved when queued."""

    content: Content
    recipient_kind: str
    recipient: str
    callback_data: str
    reply_to_external_id: str | None = None
    target_external_id: str | None = None  # a reaction's target
    provider_media: Mapping[int, str] = field(default_factory=dict)  # our upload id → the channel's media id

# biz_opaque_callback_data on every send: Meta echoes it in that send's status webhooks, which
# is how a send whose answer we never recorded is recognised (the exactly-once boundary).
CALLBACK_PREFIX = "centralino:"


def callback_data(message_id: int) -> str:
    return f"{CALLBACK_PREFIX}{message_id}"


def message_id_from_callback(data: str | None) -> int | None:
    """Our message id in a status's callback data; None when it is not one we set."""
    if not data or not data.startswith(CALLBACK_PREFIX):
        return None
    rest = data[len(CALLBACK_PREFIX):]
    return int(rest) if rest.isdigit() and len(rest) < 19 else None

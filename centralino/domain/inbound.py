"""Typed inbound events: what a channel's parser turns a provider delivery into.

Channel-agnostic: WhatsApp fills them today, other channels later. Each event keeps the raw
provider item it came from, so nothing a provider sends is lost even when we do not model it yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from centralino.domain.enums import DeliveryStatus, MessageType, TemplateStatus

JSON = dict[str, Any]


@dataclass(frozen=True)
class ProviderError:
    code: int | None
    title: str | None = None
    message: str | None = None
    details: str | None = None
    href: str | None = None


@dataclass(frozen=True)
class Sender:
    wa_id: str | None = None
    bsuid: str | None = None
    name: str | None = None
    username: str | None = None


@dataclass(frozen=True)
class MediaRef:
    provider_id: str | None
    mime_type: str | None = None
    sha256: str | None = None
    filename: str | None = None
    caption: str | None = None
    voice: bool = False
    animated: bool = False
    url: str | None = None


@dataclass(frozen=True)
class MessageContext:
    reply_to_external_id: str | None = None
    reply_to_from: str | None = None
    forwarded: bool = False
    frequently_forwarded: bool = False
    referred_product: JSON | None = None


@dataclass(frozen=True)
class InboundMessage:
    channel_key: str
    external_id: str
    sender: Sender
    timestamp: datetime
    type: MessageType
    raw_type: str
    text: str | None
    content: JSON
    raw: JSON
    media: MediaRef | None = None
    context: MessageContext | None = None
    referral: JSON | None = None
    errors: tuple[ProviderError, ...] = ()
    # reaction: the message reacted to; system number change: the user's new wa_id
    reaction_target: str | None = None
    new_wa_id: str | None = None

    @property
    def opens_window(self) -> bool:
        """Whether this message (re)opens the customer-service window: anything the user sent."""
        return self.type is not MessageType.SYSTEM


@dataclass(frozen=True)
class StatusUpdate:
    channel_key: str
    external_id: str
    status: DeliveryStatus
    raw_status: str
    timestamp: datetime
    raw: JSON
    recipient_id: str | None = None
    recipient_user_id: str | None = None
    errors: tuple[ProviderError, ...] = ()
    pricing: JSON | None = None
    conversation: JSON | None = None
    callback_data: str | None = None


@dataclass(frozen=True)
class TemplateStatusUpdate:
    waba_id: str
    template_id: str | None
    name: str | None
    language: str | None
    status: TemplateStatus
    raw_event: str
    reason: str | None
    timestamp: datetime | None
    raw: JSON


@dataclass(frozen=True)
class AccountNotice:
    """Anything else a provider tells us about the account, a template or a user preference.

    kind: template_quality | template_category | user_preference | value_error | unknown_field
    """

    kind: str
    field: str
    waba_id: str | None
    channel_key: str | None
    data: JSON
    timestamp: datetime | None = None
    sender: Sender | None = None
    errors: tuple[ProviderError, ...] = ()


InboundEvent = InboundMessage | StatusUpdate | TemplateStatusUpdate | AccountNotice

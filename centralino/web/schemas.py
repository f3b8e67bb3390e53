"""API schemas (separate from the tables): what the read API promises to return."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel


class Identity(BaseModel):
    kind: str
    value: str


class ContactOut(BaseModel):
    id: int
    display_name: str | None
    username: str | None
    identities: list[Identity]
    merged_into_id: int | None
    created_at: datetime
    updated_at: datetime


class Window(BaseModel):
    is_open: bool
    closes_at: datetime | None
    seconds_left: int


class ConversationOut(BaseModel):
    id: int
    contact_id: int
    contact_name: str | None
    channel_id: int
    channel_kind: str
    channel_name: str
    status: str
    last_inbound_at: datetime | None
    last_message_at: datetime | None
    created_at: datetime
    window: Window


class MediaOut(BaseModel):
    state: str
    mime_type: str | None
    filename: str | None
    size: int | None
    voice: bool
    animated: bool
    attempts: int
    last_error: str | None
    url: str | None  # our download link, once stored


class StatusOut(BaseModel):
    status: str
    occurred_at: datetime
    error_code: int | None
    error_title: str | None


class ReactionOut(BaseModel):
    emoji: str
    contact_id: int
    reacted_at: datetime


class DeliveryOut(BaseModel):
    """Outbound only: where the send stands in the outbox (docs/outbound.md)."""

    state: str  # queued | sending | unconfirmed | done | failed
    attempts: int
    next_attempt_at: datetime | None
    last_error_code: int | None
    last_error: str | None
    completed_at: datetime | None


class MessageOut(BaseModel):
    id: int
    conversation_id: int
    direction: str
    type: str
    raw_type: str
    external_id: str | None
    text: str | None
    content: dict[str, Any]
    status: str
    error_code: int | None
    error_title: str | None
    error_details: str | None
    reply_to_external_id: str | None
    reply_to_message_id: int | None
    forwarded: bool
    frequently_forwarded: bool
    referral: dict[str, Any] | None
    sent_at: datetime
    created_at: datetime
    media: MediaOut | None
    status_history: list[StatusOut]
    reactions: list[ReactionOut]
    # Outbound: who queued it, when, when the provider accepted it, and the outbox row.
    origin: str | None = None
    queued_at: datetime | None = None
    accepted_at: datetime | None = None
    delivery: DeliveryOut | None = None


class ChannelOut(BaseModel):
    id: int
    kind: str
    name: str
    address: str
    account_id: str | None
    display_address: str | None
    created_at: datetime


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


class UploadOut(BaseModel):
    id: int  # use as `media_id` in a media message
    mime_type: str
    size: int
    sha256: str
    filename: str | None
    animated: bool
    sendable_as: list[str]  # the message types this file may be sent as


class ReadRequest(BaseModel):
    message_id: int | None = None  # the customer's message to mark read (and every earlier one); default: latest


class ReadReceiptOut(BaseModel):
    request_id: int
    conversation_id: int
    message_id: int
    state: str
    already_queued: bool

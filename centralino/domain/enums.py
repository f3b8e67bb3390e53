"""Enums that accept values a provider adds later (as UNKNOWN) instead of crashing."""

from __future__ import annotations

from enum import StrEnum


class LenientEnum(StrEnum):
    """A StrEnum whose unknown values map to UNKNOWN; keep the raw value beside it."""

    @classmethod
    def _missing_(cls, value: object) -> LenientEnum:
        if isinstance(value, str):
            lowered = value.lower()
            for member in cls:
                if member.value == lowered:
                    return member
        return cls("unknown")


class Direction(StrEnum):
    INBOUND = "in"
    OUTBOUND = "out"
    # Agents' private notes: stored as messages so they sit in the timeline, but never given an outbox
    # row, so nothing can send them ("int": the column holds three characters).
    INTERNAL = "int"


class MessageType(LenientEnum):
    TEXT = "text"
    IMAGE = "image"
    AUDIO = "audio"
    VIDEO = "video"
    DOCUMENT = "document"
    STICKER = "sticker"
    LOCATION = "location"
    CONTACTS = "contacts"
    INTERACTIVE = "interactive"
    BUTTON = "button"
    TEMPLATE = "template"
    REACTION = "reaction"
    ORDER = "order"
    SYSTEM = "system"
    UNSUPPORTED = "unsupported"
    NOTE = "note"
    UNKNOWN = "unknown"


MEDIA_TYPES = frozenset(
    {MessageType.IMAGE, MessageType.AUDIO, MessageType.VIDEO, MessageType.DOCUMENT, MessageType.STICKER}
)


class DeliveryStatus(LenientEnum):
    QUEUED = "queued"
    # Ours, not Meta's: the Graph API took the send request (HTTP 200, wamid known). Meta's own
    # `sent` (one tick) follows as a status webhook; many failures arrive only after acceptance.
    ACCEPTED = "accepted"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    PLAYED = "played"
    FAILED = "failed"
    # Inbound messages have no delivery status of their own: they were received.
    RECEIVED = "received"
    UNKNOWN = "unknown"


class ConversationStatus(StrEnum):
    OPEN = "open"
    PENDING = "pending"
    SNOOZED = "snoozed"
    RESOLVED = "resolved"


class TemplateStatus(LenientEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    PAUSED = "paused"
    DISABLED = "disabled"
    FLAGGED = "flagged"
    IN_APPEAL = "in_appeal"
    REINSTATED = "reinstated"
    PENDING_DELETION = "pending_deletion"
    DELETED = "deleted"
    ARCHIVED = "archived"
    UNARCHIVED = "unarchived"
    LIMIT_EXCEEDED = "limit_exceeded"
    LOCKED = "locked"
    UNKNOWN = "unknown"


class IdentityKind(StrEnum):
    WHATSAPP = "whatsapp"  # wa_id: the phone digits WhatsApp uses for the user
    WHATSAPP_BSUID = "whatsapp_bsuid"  # business-scoped user id (2026+)
    PHONE = "phone"  # E.164
    EMAIL = "email"

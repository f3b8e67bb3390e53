"""Tables for transactional notifications, status callbacks and one-time codes (issue 5).

Same metadata as storage/tables.py; schema changes go through Alembic (one migration per area)."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint

from centralino.storage.tables import metadata
from centralino.storage.types import Id, Json, UTCDateTime

notifications = Table(
    "notifications",
    metadata,
    # One template message a business system asked for (POST /api/v1/notifications), with its message.
    Column("id", Id, primary_key=True),
    Column("use_case", String(64)),  # the alias it was sent by (boarding_pass, …); None when by template name
    Column("template_name", String(512), nullable=False),
    Column("template_language", String(16), nullable=False),
    Column("recipient", String(64), nullable=False),  # the WhatsApp address sent to (wa_id)
    Column("contact_id", Id, ForeignKey("contacts.id"), nullable=False),
    Column("channel_id", Id, ForeignKey("channels.id"), nullable=False),
    Column("conversation_id", Id, ForeignKey("conversations.id"), nullable=False),
    Column("message_id", Id, ForeignKey("messages.id"), nullable=False),
    Column("callback_url", Text),
    Column("origin", String(64), nullable=False),  # the API client: api | token:<id> | agent:<id>
    # Idempotency-Key of the request, scoped by its client; the hash of the canonical body tells a
    # repeat (same body) from a misuse (another body, 409).
    Column("idempotency_scope", String(64)),
    Column("idempotency_key", String(255)),
    Column("request_hash", String(64)),
    Column("status", String(32), nullable=False),  # mirror of the message's status, kept by a listener
    Column("error_code", Integer),
    Column("created_at", UTCDateTime, nullable=False),
    Column("status_at", UTCDateTime, nullable=False),
    UniqueConstraint("message_id"),
    UniqueConstraint("idempotency_scope", "idempotency_key"),
    Index("ix_notifications_created_at", "created_at"),
    Index("ix_notifications_status", "status"),
    Index("ix_notifications_use_case", "use_case"),
    Index("ix_notifications_recipient", "recipient"),
)

callback_deliveries = Table(
    "callback_deliveries",
    metadata,
    # The durable outbox of status callbacks: written in the transaction that changed the status.
    Column("id", Id, primary_key=True),
    Column("notification_id", Id, ForeignKey("notifications.id"), nullable=False),
    Column("url", Text, nullable=False),
    Column("payload", Json, nullable=False),  # the JSON body, signed as sent
    Column("state", String(16), nullable=False),  # pending | delivered | failed (gave up)
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("claimed_until", UTCDateTime),  # a worker is posting it until then
    Column("last_status_code", Integer),
    Column("last_error", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("completed_at", UTCDateTime),
    Index("ix_callback_deliveries_state_next_attempt_at", "state", "next_attempt_at"),
    Index("ix_callback_deliveries_notification_id", "notification_id"),
)

verifications = Table(
    "verifications",
    metadata,
    # A one-time code sent with an authentication template. Only its HMAC is kept, never the code.
    Column("id", Id, primary_key=True),
    Column("notification_id", Id, ForeignKey("notifications.id")),
    Column("contact_id", Id, ForeignKey("contacts.id"), nullable=False),
    Column("channel_id", Id, ForeignKey("channels.id"), nullable=False),
    Column("message_id", Id, ForeignKey("messages.id")),
    Column("code_hash", String(64), nullable=False),
    Column("code_length", Integer, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("max_attempts", Integer, nullable=False),
    Column("state", String(16), nullable=False),  # pending | verified | expired | failed
    Column("verified_at", UTCDateTime),
    Column("verified_via", String(16)),  # api | customer
    Column("origin", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # The customer-typed-it-back check asks exactly this on every inbound text: keep it one index probe.
    Index("ix_verifications_contact_id_state", "contact_id", "state"),
    # …and the inbound transaction's one question: which contacts have a live pending code (usually none).
    Index("ix_verifications_state_expires_at", "state", "expires_at"),
)

notification_use_cases = Table(
    "notification_use_cases",
    metadata,
    # Use-case aliases the business configured (defaults in domain/notifications.py apply when absent).
    Column("id", Id, primary_key=True),
    Column("name", String(64), nullable=False),
    Column("template_name", String(512), nullable=False),
    Column("language", String(16)),
    Column("parameters", Json),  # default parameters / mappings ({"from": "payload.order.id"})
    Column("description", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("name"),
)

"""The tables. Schema changes go through Alembic (storage/migrations); keep both in agreement."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from centralino.storage.types import Id, Json, UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

channels = Table(
    "channels",
    metadata,
    Column("id", Id, primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("name", String(200), nullable=False),
    # WhatsApp: phone_number_id; other channels their own address. Routing key for webhooks.
    Column("address", String(200), nullable=False),
    Column("account_id", String(200)),  # WhatsApp: WABA id
    Column("display_address", String(200)),
    Column("config", Json, nullable=False, default=dict),  # non-secret settings (graph url, version)
    Column("secrets", LargeBinary),  # Fernet-encrypted JSON; never returned by the API
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("kind", "address"),
)

contacts = Table(
    "contacts",
    metadata,
    Column("id", Id, primary_key=True),
    Column("display_name", String(300)),
    Column("display_name_at", UTCDateTime),  # timestamp of the message that gave the name
    Column("username", String(300)),
    Column("merged_into_id", Id, ForeignKey("contacts.id")),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # The customer's language (BCP 47 / Meta's locale, e.g. "it", "en_US"): templates are sent in it.
    Column("language", String(16)),
    # Custom attributes the business keeps ({"tier": "gold", "city": "Milano"}): shown and edited on the
    # customer panel, used by campaign segments and template parameters.
    Column("attributes", Json, nullable=False, default=dict, server_default=text("'{}'")),
    # The WhatsApp profile name of the newest message (display_name_at is its time). display_name follows
    # it until an agent sets another name: then display_name differs from it and stays (issue 4).
    Column("profile_name", String(300)),
)

contact_tags = Table(
    "contact_tags",
    metadata,
    Column("contact_id", Id, ForeignKey("contacts.id"), primary_key=True),
    Column("tag", String(100), primary_key=True),  # lower-cased
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_contact_tags_tag", "tag"),
)

contact_identities = Table(
    "contact_identities",
    metadata,
    Column("id", Id, primary_key=True),
    Column("contact_id", Id, ForeignKey("contacts.id"), nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("value", String(300), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("kind", "value"),
)

conversations = Table(
    "conversations",
    metadata,
    Column("id", Id, primary_key=True),
    Column("contact_id", Id, ForeignKey("contacts.id"), nullable=False),
    Column("channel_id", Id, ForeignKey("channels.id"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("last_inbound_at", UTCDateTime),
    Column("window_expires_at", UTCDateTime),
    Column("last_message_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    # Access (docs/access.md): the agent it is assigned to, and the department it is routed to (null:
    # the departments serving its channel). Forward references: users and departments are defined below.
    Column("assignee_user_id", Id, ForeignKey("users.id")),
    Column("department_id", Id, ForeignKey("departments.id")),
    # Snoozed (status "snoozed"): out of the way until snoozed_until, or until the customer writes after
    # snoozed_at, whichever comes first (app/desk.py wake_snoozed).
    Column("snoozed_at", UTCDateTime),
    Column("snoozed_until", UTCDateTime),
    UniqueConstraint("contact_id", "channel_id"),
    Index("ix_conversations_activity", "last_message_at"),
    Index("ix_conversations_assignee", "assignee_user_id"),
)

messages = Table(
    "messages",
    metadata,
    Column("id", Id, primary_key=True),
    Column("conversation_id", Id, ForeignKey("conversations.id"), nullable=False),
    Column("channel_id", Id, ForeignKey("channels.id"), nullable=False),
    Column("contact_id", Id, ForeignKey("contacts.id"), nullable=False),
    Column("direction", String(3), nullable=False),
    Column("type", String(24), nullable=False),
    Column("raw_type", String(64), nullable=False),
    Column("external_id", String(200)),
    Column("text", Text),
    Column("content", Json, nullable=False),
    Column("status", String(16), nullable=False),
    Column("error_code", Integer),
    Column("error_title", String(500)),
    Column("error_details", Text),
    Column("reply_to_external_id", String(200)),
    Column("reply_to_message_id", Id, ForeignKey("messages.id")),
    Column("forwarded", Boolean, nullable=False, default=False),
    Column("frequently_forwarded", Boolean, nullable=False, default=False),
    Column("referral", Json),
    Column("sent_at", UTCDateTime, nullable=False),  # provider timestamp (customer's clock for inbound)
    Column("created_at", UTCDateTime, nullable=False),
    Column("delivery_id", Id, ForeignKey("webhook_deliveries.id")),
    Column("raw", Json),
    # Outbound only: who queued it (api, bot, agent:<id>), when, and when the provider accepted it.
    Column("origin", String(64)),
    Column("queued_at", UTCDateTime),
    Column("accepted_at", UTCDateTime),
    UniqueConstraint("channel_id", "external_id"),
    Index("ix_messages_conversation", "conversation_id", "sent_at"),
    Index("ix_messages_reply_to", "channel_id", "reply_to_external_id"),
)

message_media = Table(
    "message_media",
    metadata,
    Column("id", Id, primary_key=True),
    Column("message_id", Id, ForeignKey("messages.id"), nullable=False, unique=True),
    Column("channel_id", Id, ForeignKey("channels.id"), nullable=False),
    Column("provider_id", String(200)),
    Column("mime_type", String(200)),
    Column("sha256", String(200)),
    Column("filename", String(500)),
    Column("size", Integer),
    Column("voice", Boolean, nullable=False, default=False),
    Column("animated", Boolean, nullable=False, default=False),
    Column("state", String(16), nullable=False),  # pending | stored | failed
    Column("storage_path", String(500)),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime),
    Column("last_error", Text),
    Column("fetched_at", UTCDateTime),
    Index("ix_message_media_due", "state", "next_attempt_at"),
)

message_reactions = Table(
    "message_reactions",
    metadata,
    Column("id", Id, primary_key=True),
    Column("channel_id", Id, ForeignKey("channels.id"), nullable=False),
    Column("target_external_id", String(200), nullable=False),
    Column("target_message_id", Id, ForeignKey("messages.id")),
    Column("contact_id", Id, ForeignKey("contacts.id"), nullable=False),
    Column("emoji", String(64), nullable=False),  # "" = removed
    Column("reacted_at", UTCDateTime, nullable=False),
    Column("source_external_id", String(200), nullable=False),  # the reaction message's wamid
    UniqueConstraint("channel_id", "target_external_id", "contact_id"),
)

status_history = Table(
    "status_history",
    metadata,
    Column("id", Id, primary_key=True),
    Column("channel_id", Id, ForeignKey("channels.id"), nullable=False),
    Column("external_id", String(200), nullable=False),
    Column("message_id", Id, ForeignKey("messages.id"), index=True),  # null: wamid not known (yet)
    Column("status", String(16), nullable=False),
    Column("raw_status", String(64), nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("error_code", Integer),
    Column("error_title", String(500)),
    Column("error_details", Text),
    Column("pricing", Json),
    Column("recipient_id", String(200)),
    Column("raw", Json),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("channel_id", "external_id", "raw_status"),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Id, primary_key=True),
    Column("channel_kind", String(32), nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("body", LargeBinary, nullable=False),  # the exact bytes Meta signed
    Column("state", String(16), nullable=False),  # pending | processed | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("claimed_until", UTCDateTime),
    Column("processed_at", UTCDateTime),
    Column("error", Text),
    Index("ix_webhook_deliveries_pending", "state", "id"),
)

provider_notices = Table(
    "provider_notices",
    metadata,
    Column("id", Id, primary_key=True),
    Column("channel_id", Id, ForeignKey("channels.id")),
    Column("account_id", String(200)),
    Column("kind", String(32), nullable=False),
    Column("field", String(100), nullable=False),
    Column("contact_id", Id, ForeignKey("contacts.id")),
    Column("occurred_at", UTCDateTime),
    Column("data", Json, nullable=False),
    Column("dedupe_key", String(64), nullable=False, unique=True),
    Column("delivery_id", Id, ForeignKey("webhook_deliveries.id")),
    Column("created_at", UTCDateTime, nullable=False),
)

events = Table(
    "events",
    metadata,
    Column("id", Id, primary_key=True),
    Column("type", String(64), nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("payload", Json, nullable=False),
    Index("ix_events_type", "type", "id"),
)

# --- outbound ---------------------------------------------------------------------------------------------------

outbox = Table(
    "outbox",
    metadata,
    Column("id", Id, primary_key=True),
    Column("kind", String(16), nullable=False),  # message | read (domain/sending.py OutboxKind)
    Column("channel_id", Id, ForeignKey("channels.id"), nullable=False),
    Column("conversation_id", Id, ForeignKey("conversations.id"), nullable=False),
    Column("message_id", Id, ForeignKey("messages.id"), unique=True),  # the message going out (kind message)
    # read receipts: the customer's message; reactions: the message reacted to
    Column("target_message_id", Id, ForeignKey("messages.id")),
    Column("target_external_id", String(200)),
    Column("recipient_kind", String(32), nullable=False),  # an identity kind: whatsapp | whatsapp_bsuid
    Column("recipient", String(300), nullable=False),
    Column("state", String(16), nullable=False),  # queued | sending | unconfirmed | done | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("attempt_id", String(32)),  # the attempt in flight (or last made)
    Column("attempt_started_at", UTCDateTime),
    Column("claimed_until", UTCDateTime),  # lease of the attempt in flight
    Column("reconcile_until", UTCDateTime),  # unconfirmed: resent after this unless a status webhook names it
    Column("last_error_code", Integer),
    Column("last_error", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("completed_at", UTCDateTime),
    Index("ix_outbox_due", "state", "channel_id", "next_attempt_at"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("id", Id, primary_key=True),
    Column("scope", String(100), nullable=False),  # the API client (one token today: "api")
    Column("conversation_id", Id, ForeignKey("conversations.id"), nullable=False),
    Column("key", String(255), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("message_id", Id, ForeignKey("messages.id")),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("scope", "conversation_id", "key"),
)

outbound_media = Table(
    "outbound_media",
    metadata,
    Column("id", Id, primary_key=True),
    Column("sha256", String(64), nullable=False),
    Column("mime_type", String(200), nullable=False),
    Column("size", Integer, nullable=False),
    Column("filename", String(500)),
    Column("animated", Boolean, nullable=False, default=False),
    Column("storage_path", String(500), nullable=False),  # under the media folder, content-addressed
    Column("origin", String(64)),
    Column("created_at", UTCDateTime, nullable=False),
)

outbound_media_uploads = Table(
    "outbound_media_uploads",
    metadata,
    Column("id", Id, primary_key=True),
    Column("outbound_media_id", Id, ForeignKey("outbound_media.id"), nullable=False),
    Column("channel_id", Id, ForeignKey("channels.id"), nullable=False),
    Column("provider_media_id", String(200), nullable=False),
    Column("uploaded_at", UTCDateTime, nullable=False),
    UniqueConstraint("outbound_media_id", "channel_id"),
)

sender_leases = Table(
    "sender_leases",
    metadata,
    # One sender process at a time paces a channel, so its rate limits hold across processes.
    Column("channel_id", Id, ForeignKey("channels.id"), primary_key=True),
    Column("holder", String(64), nullable=False),
    Column("lease_until", UTCDateTime, nullable=False),
)

# --- users and access (docs/access.md) ----------------------------------------------------------------------------

users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True),
    Column("email", String(320), nullable=False, unique=True),  # stored lower-cased: unique case-insensitively
    Column("display_name", String(200), nullable=False),
    Column("role", String(16), nullable=False),  # agent | supervisor | admin (domain/access.py Role)
    Column("password_hash", String(300)),  # argon2id; null: cannot sign in with a password
    Column("active", Boolean, nullable=False, default=True),
    Column("language", String(8), nullable=False, default="it"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

departments = Table(
    "departments",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

department_members = Table(
    "department_members",
    metadata,
    Column("department_id", Id, ForeignKey("departments.id"), primary_key=True),
    Column("user_id", Id, ForeignKey("users.id"), primary_key=True),
    Index("ix_department_members_user", "user_id"),
)

department_channels = Table(
    "department_channels",
    metadata,
    # The channels a department serves: their conversations are the department's unless routed elsewhere.
    Column("department_id", Id, ForeignKey("departments.id"), primary_key=True),
    Column("channel_id", Id, ForeignKey("channels.id"), primary_key=True),
    Index("ix_department_channels_channel", "channel_id"),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", String(64), primary_key=True),  # sha256 of the cookie value; the value itself is never stored
    Column("user_id", Id, ForeignKey("users.id"), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),  # absolute end; the idle timeout counts from last_seen_at
    Column("user_agent", String(500)),
    Column("ip", String(64)),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),  # sha256 of the token (shown once)
    Column("prefix", String(16), nullable=False),  # the first characters, to recognise a token in lists
    Column("owner_user_id", Id, ForeignKey("users.id"), nullable=False),  # the token acts as this user
    Column("scopes", Json, nullable=False),  # ["read"] or ["read", "write"]
    Column("created_by", Id, ForeignKey("users.id")),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime),
    Column("revoked_at", UTCDateTime),
)

sign_in_attempts = Table(
    "sign_in_attempts",
    metadata,
    # Sign-in rate limiting across processes: failures per (email, ip) in a sliding window.
    Column("id", Id, primary_key=True),
    Column("email", String(320), nullable=False),
    Column("ip", String(64), nullable=False),
    Column("succeeded", Boolean, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_sign_in_attempts_key", "email", "ip", "at"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Id, primary_key=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor_user_id", Id, ForeignKey("users.id")),
    Column("actor", String(64), nullable=False),  # user:<id> | integration | anonymous
    Column("action", String(64), nullable=False),  # auth.sign_in, user.created, …
    Column("target_type", String(32)),
    Column("target_id", String(64)),
    Column("details", Json, nullable=False),
    Column("ip", String(64)),
    Index("ix_audit_log_at", "at"),
)


# Areas with their own table modules (same metadata); imported here so `metadata` is complete wherever
# tables.py is imported (Alembic, the tests' schema check).
from centralino.storage import (  # noqa: E402,F401
    tables_automation,
    tables_bot,
    tables_campaigns,
    tables_cases,
    tables_consent,
    tables_contacts_admin,
    tables_desk,
    tables_notifications,
    tables_routing,
    tables_service_levels,
    tables_templates,
    tables_timeline,
)

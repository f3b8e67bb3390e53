"""Tables for automation rules and their execution log, and customer-facing case updates (issue 7,
docs/automation.md).

Same metadata as storage/tables.py; schema changes go through Alembic (0016_automation.py)."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Table, Text

from centralino.storage.tables import metadata
from centralino.storage.types import Id, Json, UTCDateTime

automation_rules = Table(
    "automation_rules",
    metadata,
    # "when <trigger> if <conditions> then <actions>", as data (domain/automation.py checks it on save).
    Column("id", Id, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("trigger", String(64), nullable=False),
    Column("conditions", Json, nullable=False, default=dict),
    Column("actions", Json, nullable=False, default=list),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("position", Integer, nullable=False, default=0),  # rules of one trigger run in this order, then id
    Column("created_by", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_automation_rules_trigger", "trigger", "enabled"),
)

automation_executions = Table(
    "automation_executions",
    metadata,
    # One rule heard one event: whether it matched and what each action did. Append-only.
    Column("id", Id, primary_key=True),
    Column("rule_id", Id, ForeignKey("automation_rules.id", ondelete="CASCADE"), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("event", Json, nullable=False),  # the event's payload
    Column("matched", Boolean, nullable=False),
    # not_matched | done | partial (some actions failed) | failed | skipped (loop limit)
    Column("outcome", String(16), nullable=False),
    Column("depth", Integer, nullable=False),  # 0: a fact from outside; n: caused by a rule's action n levels up
    Column("actions", Json, nullable=False, default=list),  # [{"index", "type", "status", "error"?, "result"?}]
    Column("error", Text),
    Column("started_at", UTCDateTime, nullable=False),
    Column("duration_ms", Integer, nullable=False),
    Index("ix_automation_executions_rule", "rule_id", "id"),
)

automation_webhooks = Table(
    "automation_webhooks",
    metadata,
    # The durable outbox of the webhook action: posted, signed, by workers/automation_webhooks.py with retries.
    Column("id", Id, primary_key=True),
    Column("execution_id", Id, ForeignKey("automation_executions.id", ondelete="CASCADE")),
    Column("rule_id", Id, ForeignKey("automation_rules.id", ondelete="CASCADE"), nullable=False),
    Column("url", Text, nullable=False),
    Column("payload", Json, nullable=False),
    Column("state", String(16), nullable=False),  # pending | delivered | failed (gave up)
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("claimed_until", UTCDateTime),
    Column("last_status_code", Integer),
    Column("last_error", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("completed_at", UTCDateTime),
    Index("ix_automation_webhooks_state_next", "state", "next_attempt_at"),
)

case_update_settings = Table(
    "case_update_settings",
    metadata,
    # Per case type: which statuses notify the customer, the text per status and language, and the approved
    # utility template used outside the 24-hour window (parameters: case number, status).
    Column("case_type", String(100), primary_key=True),
    Column("statuses", Json, nullable=False, default=list),
    Column("texts", Json, nullable=False, default=dict),  # {"status": {"it": "…", "en": "…"}}
    Column("template_name", String(512)),
    Column("template_language", String(16)),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("updated_at", UTCDateTime, nullable=False),
)

case_updates = Table(
    "case_updates",
    metadata,
    # Each customer-facing update: sent (text or template) or skipped with the reason (consent, no channel…).
    Column("id", Id, primary_key=True),
    Column("case_id", Id, nullable=False),  # the cases table belongs to another module: no foreign key
    Column("contact_id", Id, ForeignKey("contacts.id"), nullable=False),
    Column("kind", String(16), nullable=False),  # status_changed | status_query
    Column("status", String(64), nullable=False),
    Column("outcome", String(16), nullable=False),  # text | template | skipped
    Column("reason", String(64)),  # why skipped: consent.refused, window.closed, no_conversation…
    Column("message_id", Id, ForeignKey("messages.id")),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_case_updates_case", "case_id", "id"),
)

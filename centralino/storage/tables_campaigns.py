"""Tables for campaigns and their recipients (issue 5, docs/campaigns.md).

Same metadata as storage/tables.py; schema changes go through Alembic (one migration per area).
Progress is counted from the recipients (one indexed GROUP BY), not kept in counters on the campaign
row: the status listeners tick one recipient each and would otherwise all contend for that one row.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint

from centralino.storage.tables import messages, metadata
from centralino.storage.types import Id, Json, UTCDateTime

campaigns = Table(
    "campaigns",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("channel_id", Id, ForeignKey("channels.id"), nullable=False),
    Column("template_id", Id, ForeignKey("templates.id"), nullable=False),
    Column("template_name", String(512), nullable=False),
    Column("template_language", String(16), nullable=False),
    Column("template_category", String(32), nullable=False),  # the consent purpose of every send
    # The template's definition as it was when the campaign was planned: every recipient gets this one.
    Column("template_components", Json),
    # {"kind": "segment", "tags": [...], "attributes": {...}, "consent": "opted_in" | "any"} or
    # {"kind": "csv", "filename": ..., "rows": n, "rejected": n}
    Column("audience", Json, nullable=False),
    # template variable -> {"text": literal} | {"field": "display_name" | "language"} | {"attribute": key},
    # each with an optional "default"; CSV campaigns take their columns instead
    Column("parameters", Json, nullable=False),
    Column("start_at", UTCDateTime),  # scheduled start (null: when started)
    Column("rate_per_s", Float, nullable=False),
    Column("daily_tier", String(16), nullable=False),  # 250 | 1k | 10k | 100k | unlimited
    Column("on_tier_limit", String(8), nullable=False),  # wait | skip
    # draft | scheduled | running | paused | cancelled | completed (domain/campaigns.py CampaignStatus)
    Column("status", String(16), nullable=False),
    Column("recipients_total", Integer, nullable=False, default=0),
    Column("rejected_total", Integer, nullable=False, default=0),  # CSV rows / contacts left out at planning
    Column("plan_report", Json),  # the rejected rows (capped) and why
    Column("created_by", Id, ForeignKey("users.id")),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("planned_at", UTCDateTime),
    Column("started_at", UTCDateTime),
    Column("finished_at", UTCDateTime),
    Column("waiting_reason", Text),  # why a running campaign is not feeding (the daily tier is used up)
    Index("ix_campaigns_status", "status"),
)

campaign_recipients = Table(
    "campaign_recipients",
    metadata,
    Column("id", Id, primary_key=True),
    # No foreign keys on this table (ids named in info["references"] are still followed by merges, GDPR exports
    # and erasure: storage/contact_refs.py): every id is written only by this area's code (the campaign locked while
    # it is planned, the contacts from its segment query, the campaign's channel, the message inserted in
    # the same transaction), and contacts are never deleted once referenced. The per-row checks were half
    # of the time to plan 100,000 recipients (migration 0019).
    Column("campaign_id", Id, nullable=False, info={"references": "campaigns.id"}),
    Column("contact_id", Id, nullable=False, info={"references": "contacts.id"}),  # merges, exports, erasure
    Column("channel_id", Id, nullable=False),
    Column("recipient_kind", String(32), nullable=False),  # an identity kind: whatsapp | whatsapp_bsuid
    Column("recipient", String(300), nullable=False),
    Column("params", Json, nullable=False),  # the rendered message (stored content), frozen at planning
    # planned | queued | sent | delivered | read | replied | failed | skipped_consent | skipped_tier | cancelled
    Column("state", String(16), nullable=False),
    Column("message_id", Id, unique=True),  # the message of the current attempt
    Column("attempts", Integer, nullable=False, default=0),
    Column("error_code", Integer),
    Column("error", Text),  # the failure's title, or why the recipient was skipped
    Column("planned_at", UTCDateTime, nullable=False),
    Column("queued_at", UTCDateTime),
    Column("sent_at", UTCDateTime),
    Column("delivered_at", UTCDateTime),
    Column("read_at", UTCDateTime),
    Column("replied_at", UTCDateTime),
    Column("failed_at", UTCDateTime),
    UniqueConstraint("campaign_id", "contact_id"),
    Index("ix_campaign_recipients_feed", "campaign_id", "state", "id"),  # the feeder, the funnel, the lists
    Index("ix_campaign_recipients_contact", "contact_id", "channel_id"),  # a reply marks "replied"
    Index("ix_campaign_recipients_tier", "channel_id", "queued_at"),  # the rolling 24 h per channel
)

# The daily messaging tier counts every business-initiated template message of a channel in the rolling
# 24 h (campaigns, notifications, agents' sends): one range scan on this index per feed batch.
Index("ix_messages_templates_out", messages.c.channel_id, messages.c.type, messages.c.direction,
      messages.c.created_at)

"""Tables for business hours, SLA policies and timers, customer contacts (episodes) and CSAT surveys (issue 6,
docs/service-levels.md).

Same metadata as storage/tables.py; schema changes go through Alembic (0012_service_levels.py)."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint

from centralino.storage.tables import metadata
from centralino.storage.types import Id, Json, UTCDateTime

queue_hours = Table(
    "queue_hours",
    metadata,
    # A queue's calendar (domain/business_hours.py calendar_to_dict) and what happens when a customer writes
    # while it is closed. No row: always open.
    Column("queue_id", Id, ForeignKey("routing_queues.id"), primary_key=True),
    Column("calendar", Json, nullable=False),
    Column("out_of_hours", String(16), nullable=False),  # auto_reply | bot | keep (domain/sla.py OutOfHours)
    Column("auto_reply", Json, nullable=False, default=dict),  # {"it": "Siamo chiusi…", "en": "We are closed…"}
    Column("updated_at", UTCDateTime, nullable=False),
)

out_of_hours_replies = Table(
    "out_of_hours_replies",
    metadata,
    # One auto-reply per conversation per closed period: reopens_at (the next opening) names the period.
    Column("conversation_id", Id, ForeignKey("conversations.id"), primary_key=True),
    Column("reopens_at", UTCDateTime, primary_key=True),
    Column("queue_id", Id, ForeignKey("routing_queues.id"), nullable=False),
    Column("action", String(16), nullable=False),  # what was done: auto_reply | bot | keep
    Column("message_id", Id, ForeignKey("messages.id")),  # the auto-reply queued (null: none could go)
    Column("created_at", UTCDateTime, nullable=False),
)

sla_policies = Table(
    "sla_policies",
    metadata,
    # Targets in seconds of business time (null: no target of that kind). queue_id/priority null: any; the
    # most specific active policy applies (queue and priority, then queue, then priority, then neither).
    Column("id", Id, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("queue_id", Id, ForeignKey("routing_queues.id")),
    Column("priority", Integer),
    Column("first_response_s", Integer),
    Column("next_response_s", Integer),
    Column("resolution_s", Integer),
    Column("warn_percent", Integer, nullable=False, default=80),  # sla.warning when this share has passed
    # [{"on": "breached", "action": "raise_priority", "by": 1}, {"on": "warning", "action": "alert_supervisor"}]
    Column("escalation", Json, nullable=False, default=list),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

sla_timers = Table(
    "sla_timers",
    metadata,
    # One target clock of one conversation. state: running | met | missed | cancelled. running_key is
    # "<conversation>:<kind>" while running, null after: one running timer per kind is a database guarantee.
    Column("id", Id, primary_key=True),
    Column("conversation_id", Id, ForeignKey("conversations.id"), nullable=False),
    Column("episode_id", Id, ForeignKey("service_episodes.id")),
    Column("policy_id", Id, ForeignKey("sla_policies.id"), nullable=False),
    Column("queue_id", Id, ForeignKey("routing_queues.id")),
    Column("kind", String(16), nullable=False),  # first_response | next_response | resolution
    Column("running_key", String(40), unique=True),
    Column("state", String(16), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("warn_at", UTCDateTime, nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("next_check_at", UTCDateTime),  # the worker's next look (warn_at, then due_at); null: nothing due
    Column("warned_at", UTCDateTime),
    Column("breached_at", UTCDateTime),
    Column("stopped_at", UTCDateTime),
    Column("business_s", Integer),  # business seconds from start to stop
    Index("ix_sla_timers_due", "next_check_at"),
    Index("ix_sla_timers_conversation", "conversation_id", "state"),
    Index("ix_sla_timers_started", "started_at"),
)

service_episodes = Table(
    "service_episodes",
    metadata,
    # One customer contact: from the customer's first message while none is open to the resolution. The
    # report figures are aggregates over these rows (integer seconds: the same SQL on SQLite and PostgreSQL).
    Column("id", Id, primary_key=True),
    Column("conversation_id", Id, ForeignKey("conversations.id"), nullable=False),
    Column("open_conversation_id", Id, unique=True),  # = conversation_id while open: one open episode each
    Column("channel_id", Id, ForeignKey("channels.id"), nullable=False),
    Column("queue_id", Id, ForeignKey("routing_queues.id")),
    Column("agent_user_id", Id, ForeignKey("users.id")),  # the agent who answered first
    Column("started_at", UTCDateTime, nullable=False),
    Column("local_hour", Integer, nullable=False),  # hour of started_at in the report time zone (0-23)
    Column("first_response_at", UTCDateTime),
    Column("first_response_s", Integer),
    Column("resolved_at", UTCDateTime),
    Column("resolution_s", Integer),
    Column("handle_s", Integer),  # first agent reply → resolution
    Index("ix_service_episodes_started", "started_at"),
    Index("ix_service_episodes_conversation", "conversation_id"),
)

csat_surveys = Table(
    "csat_surveys",
    metadata,
    # One survey per resolved episode; the buttons' ids carry the survey id (csat:<id>:<score>).
    Column("id", Id, primary_key=True),
    Column("episode_id", Id, ForeignKey("service_episodes.id"), unique=True),
    Column("conversation_id", Id, ForeignKey("conversations.id"), nullable=False),
    Column("agent_user_id", Id, ForeignKey("users.id")),
    Column("queue_id", Id, ForeignKey("routing_queues.id")),
    Column("channel_id", Id, ForeignKey("channels.id"), nullable=False),
    Column("mode", String(16), nullable=False),  # interactive | template
    Column("state", String(16), nullable=False),  # sent | answered | refused
    Column("message_id", Id, ForeignKey("messages.id")),
    Column("refused_reason", Text),
    Column("score", Integer),  # 1-5
    Column("answered_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_csat_surveys_conversation", "conversation_id", "state"),
    UniqueConstraint("conversation_id", "created_at"),
)

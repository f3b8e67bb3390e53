"""Tables for routing: skills, presence, capacity, queues and rules (issue 6, docs/routing.md).

Same metadata as storage/tables.py; schema changes go through Alembic (0011_routing.py)."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Table, text

from centralino.storage.tables import metadata
from centralino.storage.types import Id, Json, UTCDateTime

agent_skills = Table(
    "agent_skills",
    metadata,
    # "language:it", "product:mortgages" … (lower-case, domain/routing.py normalise_skill), level 1-5.
    Column("user_id", Id, ForeignKey("users.id"), primary_key=True),
    Column("skill", String(100), primary_key=True),
    Column("level", Integer, nullable=False),
    Index("ix_agent_skills_skill", "skill"),
)

agent_presence = Table(
    "agent_presence",
    metadata,
    # The agent's current state (online | busy | away | offline); no row = offline. Only online agents get work.
    Column("user_id", Id, ForeignKey("users.id"), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("reason", String(200)),
    Column("since", UTCDateTime, nullable=False),
    Column("set_by", Id, ForeignKey("users.id")),
    # When the agent last had nothing to do or last got work: "longest idle" ranks by it.
    Column("idle_since", UTCDateTime),
)

agent_presence_history = Table(
    "agent_presence_history",
    metadata,
    # One row per state an agent was in (ended_at null: the current one), for reports.
    Column("id", Id, primary_key=True),
    Column("user_id", Id, ForeignKey("users.id"), nullable=False),
    Column("state", String(16), nullable=False),
    Column("reason", String(200)),
    Column("started_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime),
    Column("set_by", Id, ForeignKey("users.id")),
    Index("ix_agent_presence_history_user", "user_id", "started_at"),
)

agent_capacity = Table(
    "agent_capacity",
    metadata,
    # Capacity per channel kind (whatsapp 5, voice 1, email 10) AND the live load counter in the same row:
    # the router takes a slot with UPDATE … SET active = active + 1 WHERE active < max_active, in the
    # assignment's transaction, so two routers can never push an agent over capacity.
    Column("user_id", Id, ForeignKey("users.id"), primary_key=True),
    Column("channel_kind", String(32), primary_key=True),
    Column("max_active", Integer, nullable=False),
    Column("active", Integer, nullable=False, default=0, server_default=text("0")),
    Column("last_assigned_at", UTCDateTime),
)

routing_queues = Table(
    "routing_queues",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("department_id", Id, ForeignKey("departments.id")),
    Column("priority", Integer, nullable=False, default=0),  # higher first
    # [{"skill": "language:it", "min_level": 3}, …] and the relaxation steps (domain/routing.py), as data.
    Column("required_skills", Json, nullable=False, default=list),
    Column("relaxation", Json, nullable=False, default=list),
    Column("overflow_queue_id", Id, ForeignKey("routing_queues.id")),
    Column("offer_timeout_s", Integer, nullable=False, default=120),  # time for the agent's first reply
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

routing_rules = Table(
    "routing_rules",
    metadata,
    # Ordered (position ascending): the first active rule whose conditions all match picks the queue.
    Column("id", Id, primary_key=True),
    Column("position", Integer, nullable=False),
    Column("name", String(100), nullable=False),
    Column("conditions", Json, nullable=False, default=dict),  # validated on save (domain/routing.py)
    Column("queue_id", Id, ForeignKey("routing_queues.id"), nullable=False),
    Column("priority", Integer),  # null: the queue's priority
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_routing_rules_position", "position"),
)

routing_items = Table(
    "routing_items",
    metadata,
    # A conversation's stay in a queue. state: waiting | offered | assigned | completed | abandoned | removed.
    # offered = an agent owns it but has not replied yet; assigned = the agent replied ("answered").
    Column("id", Id, primary_key=True),
    # No foreign key: a contact merge deletes the dropped contact's duplicate conversation (storage/contacts.py
    # merge); the contact.merged listener closes its item (app/routing.py).
    Column("conversation_id", Id, nullable=False),
    # = conversation_id while the item is live (waiting/offered/assigned), null once closed: the unique index
    # makes "one live item per conversation" a database guarantee, and is the hot path's one lookup.
    Column("open_conversation_id", Id, unique=True),
    Column("queue_id", Id, ForeignKey("routing_queues.id"), nullable=False),
    Column("channel_kind", String(32), nullable=False),
    Column("contact_id", Id, ForeignKey("contacts.id"), nullable=False),
    Column("priority", Integer, nullable=False, default=0),
    Column("enqueued_at", UTCDateTime, nullable=False),  # first entered a queue: the order of service
    Column("queue_entered_at", UTCDateTime, nullable=False),  # entered its current queue: relaxation counts
    Column("state", String(16), nullable=False),
    Column("owner_kind", String(16), nullable=False),  # queue | agent (bot-owned conversations have no item)
    Column("rule_id", Id, ForeignKey("routing_rules.id")),
    Column("previous_agent_id", Id, ForeignKey("users.id")),  # stickiness: who served this customer last
    Column("excluded_user_ids", Json, nullable=False, default=list),  # declined / timed out
    Column("offered_to", Id, ForeignKey("users.id")),
    Column("offered_at", UTCDateTime),
    Column("offer_expires_at", UTCDateTime),
    Column("assigned_to", Id, ForeignKey("users.id")),
    Column("assigned_at", UTCDateTime),
    Column("answered_at", UTCDateTime),
    # The requirement the agent met when the item was given (relaxation step, skills at that step).
    Column("relaxation_step", Integer),
    Column("matched_requirement", Json),
    Column("skill_match", Boolean),
    Column("attempts", Integer, nullable=False, default=0),
    Column("closed_at", UTCDateTime),
    Column("close_reason", String(64)),
    Index("ix_routing_items_waiting", "state", "priority", "enqueued_at"),
    Index("ix_routing_items_agent", "assigned_to", "state"),
    Index("ix_routing_items_offer", "state", "offer_expires_at"),
    Index("ix_routing_items_conversation", "conversation_id"),
)

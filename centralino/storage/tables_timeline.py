"""Tables for timeline entries: the customer's and the case's whole story (issue 7, docs/timeline.md).

Same metadata as storage/tables.py; schema changes go through Alembic (0014_timeline.py).

An entry says *that* something happened (kind, when, who, ids, statuses), never what a customer wrote:
the text of a message is read from `messages` at read time, so anonymising messages (GDPR) needs no
change here. Entries are append-only: on PostgreSQL a trigger refuses UPDATE (except of contact_id, which
contact_id and conversation_id, which a contact merge re-points) and DELETE; the same trigger guards `audit_log`."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, String, Table, text

from centralino.storage.tables import metadata
from centralino.storage.types import Id, Json, UTCDateTime

timeline_entries = Table(
    "timeline_entries",
    metadata,
    Column("id", Id, primary_key=True),
    # Merges re-point contact_id and conversation_id (their foreign keys are how storage/contact_refs.py finds
    # them); an erasure keeps the entries: nothing personal is here, and the trigger refuses DELETE.
    # Null only for a case with no customer (its story is read by case_id).
    Column("contact_id", Id, ForeignKey("contacts.id"), info={"gdpr_erase": "keep"}),
    Column("case_id", Id),  # the case it belongs to (no foreign key: cases live in their own module)
    Column("conversation_id", Id, ForeignKey("conversations.id")),
    # No foreign key: an erased message may go, its entry stays ("message erased"). Text, media and ticks
    # are joined from messages at read time.
    Column("message_id", Id),
    Column("occurred_at", UTCDateTime, nullable=False),  # the event's time (a backfilled message: its created_at)
    Column("kind", String(32), nullable=False),  # message_in, message_out, note, case_created… (app/timeline.py)
    Column("channel_kind", String(32)),  # whatsapp, email… of the message or conversation
    Column("actor", String(64)),  # user:<id>, customer, system, integration… as the event names it
    Column("ref", String(64)),  # what else it points at: "notification:7", "consent:3", "task:12", "campaign:2"
    Column("summary", Json, nullable=False),  # ids, statuses, from/to; never free text
    Column("recorded_at", UTCDateTime, nullable=False),
    # First page of a customer's / a case's story, newest first, keyset on (occurred_at, id).
    Index("ix_timeline_entries_contact", "contact_id", "occurred_at", "id"),
    # Partial: most entries (messages) belong to no case, and the inbound path need not index them here.
    Index("ix_timeline_entries_case", "case_id", "occurred_at", "id", postgresql_where=text("case_id IS NOT NULL"),
          sqlite_where=text("case_id IS NOT NULL")),
    # A case's story also shows the messages of the conversations linked to it.
    Index("ix_timeline_entries_conversation", "conversation_id", "occurred_at", "id"),
    Index("ix_timeline_entries_message", "message_id"),
)

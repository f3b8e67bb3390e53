"""Tables for the agent desktop's extras: read markers (unread counts) and quick replies (issue 4).

Same metadata as storage/tables.py; schema changes go through Alembic (0006_desk.py)."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, String, Table, Text

from centralino.storage.tables import metadata
from centralino.storage.types import Id, UTCDateTime

conversation_reads = Table(
    "conversation_reads",
    metadata,
    # Where agents last read a conversation (shared by its agents): customer messages with a larger id are
    # unread. Written when an agent opens it; nothing is written on the inbound hot path.
    Column("conversation_id", Id, ForeignKey("conversations.id"), primary_key=True),
    Column("last_read_message_id", Id, nullable=False),
    Column("read_by_user_id", Id, ForeignKey("users.id")),
    Column("read_at", UTCDateTime, nullable=False),
)

quick_replies = Table(
    "quick_replies",
    metadata,
    # Canned answers. owner_user_id set: personal (that agent's only); null: shared, for everyone or, with
    # department_id, for that department's people. The body may hold {{variables}} (domain/quick_replies.py).
    Column("id", Id, primary_key=True),
    Column("owner_user_id", Id, ForeignKey("users.id")),
    Column("department_id", Id, ForeignKey("departments.id")),
    Column("title", String(100), nullable=False),
    Column("shortcut", String(32), nullable=False),  # lower-case, what "/" in the composer filters by
    Column("body", Text, nullable=False),
    Column("created_by", Id, ForeignKey("users.id")),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_quick_replies_owner", "owner_user_id"),
    Index("ix_quick_replies_shortcut", "shortcut"),
)

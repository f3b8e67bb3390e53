"""Tables for WhatsApp message templates and their status history (issue 5).

Same metadata as storage/tables.py; schema changes go through Alembic (one migration per area).
A template's definition is kept in Meta's own JSON shape (`components`), the language both sides speak.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint

from centralino.storage.tables import metadata
from centralino.storage.types import Id, Json, UTCDateTime

templates = Table(
    "templates",
    metadata,
    Column("id", Id, primary_key=True),
    Column("account_id", String(200), nullable=False),  # the WABA id (channels.account_id)
    Column("name", String(512), nullable=False),
    Column("language", String(16), nullable=False),  # Meta's code: it, en_US, …
    Column("category", String(32), nullable=False),  # marketing | utility | authentication (lower-case)
    Column("parameter_format", String(16), nullable=False),  # positional | named
    Column("components", Json, nullable=False),  # Meta's components array, examples included
    # draft (ours, never submitted) | Meta's status lower-cased (domain/enums.py TemplateStatus)
    Column("status", String(32), nullable=False),
    Column("status_reason", Text),  # the rejection / pause / disable reason Meta gave
    Column("quality", String(32)),  # green | yellow | red | unknown
    Column("provider_id", String(200)),  # Meta's template id (hsm id)
    Column("submitted_at", UTCDateTime),
    Column("status_at", UTCDateTime),
    Column("created_by", Id, ForeignKey("users.id")),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("account_id", "name", "language"),
    Index("ix_templates_provider_id", "provider_id"),
)

template_events = Table(
    "template_events",
    metadata,
    # The history: every status, quality and category change, submission and edit, oldest first.
    Column("id", Id, primary_key=True),
    Column("template_id", Id, ForeignKey("templates.id"), nullable=False, index=True),
    Column("kind", String(32), nullable=False),  # created | submitted | status | quality | category | synced | edited
    Column("status", String(32)),
    Column("detail", Json, nullable=False),  # reason, previous values, the raw webhook value
    Column("actor", String(64), nullable=False),  # user:<id> | meta | sync | api
    Column("at", UTCDateTime, nullable=False),
    Column("sequence", Integer, nullable=False, default=0),
)

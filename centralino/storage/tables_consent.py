"""Tables for the consent ledger (issue 5).

Same metadata as storage/tables.py; schema changes go through Alembic (one migration per area).
`consent_records` is append-only: rows are inserted, never updated or deleted (storage/consent.py has no
such statement); the current state is derived from them (domain/consent.py)."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, String, Table, Text

from centralino.storage.tables import metadata
from centralino.storage.types import Id, Json, UTCDateTime

consent_records = Table(
    "consent_records",
    metadata,
    Column("id", Id, primary_key=True),
    Column("contact_id", Id, ForeignKey("contacts.id"), nullable=False),
    Column("channel_id", Id, ForeignKey("channels.id")),  # None: every channel
    Column("purpose", String(32), nullable=False),  # service | utility | marketing | authentication | all
    Column("action", String(16), nullable=False),  # opt_in | opt_out
    Column("source", String(32), nullable=False),  # web_form | import | api | agent | keyword | … (domain Source)
    Column("evidence", Json, nullable=False),  # what proves it: the message, the form's wording, the note
    Column("actor", String(64), nullable=False),  # user:<id> | integration | customer | meta | import:<user>
    Column("occurred_at", UTCDateTime, nullable=False),  # when the customer said so
    Column("recorded_at", UTCDateTime, nullable=False),  # when we wrote it down
    # Idempotency for imports and webhooks: the same fact recorded twice is one row.
    Column("dedupe_key", String(128), unique=True),
    Column("note", Text),
    Index("ix_consent_records_contact_id_id", "contact_id", "id"),
)

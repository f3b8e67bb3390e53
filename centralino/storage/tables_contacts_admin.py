"""Tables for contact merges, imports, GDPR requests and retention policies (issue 7).

Same metadata as storage/tables.py; schema changes go through Alembic (0015_contacts_admin.py).

Foreign keys to contacts.id here are history: a merge never re-points them (`info={"contact_merge": "stay"}`,
read by storage/contact_refs.py), so "B was merged into A" still names B after A is merged into C."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, LargeBinary, String, Table, Text

from centralino.storage.tables import metadata
from centralino.storage.types import Id, Json, UTCDateTime

STAY = {"contact_merge": "stay"}

contact_merges = Table(
    "contact_merges",
    metadata,
    Column("id", Id, primary_key=True),
    Column("survivor_id", Id, ForeignKey("contacts.id"), nullable=False, info=STAY),
    Column("merged_id", Id, ForeignKey("contacts.id"), nullable=False, info=STAY),
    Column("actor", String(64), nullable=False),  # user:<id> | integration
    Column("merged_at", UTCDateTime, nullable=False),
    # What moved: rows re-pointed per table.column, conversations folded, rows left on the tombstone
    # (unique collisions), profile conflicts (the survivor's value kept, the other's recorded here).
    Column("details", Json, nullable=False),
    Index("ix_contact_merges_survivor_id", "survivor_id"),
    Index("ix_contact_merges_merged_id", "merged_id"),
)

contact_imports = Table(
    "contact_imports",
    metadata,
    Column("id", Id, primary_key=True),
    Column("state", String(16), nullable=False),  # previewed | running | done | failed
    Column("filename", String(300)),
    Column("file_sha256", String(64), nullable=False),
    Column("content", LargeBinary, nullable=False),  # the CSV as uploaded: the run re-reads it in chunks
    Column("valid_rows_only", Boolean, nullable=False, default=False),
    Column("total_rows", Integer, nullable=False, default=0),
    Column("invalid_rows", Integer, nullable=False, default=0),
    Column("processed_rows", Integer, nullable=False, default=0),  # rows of the file done (the resume point)
    Column("created_count", Integer, nullable=False, default=0),
    Column("updated_count", Integer, nullable=False, default=0),
    Column("unchanged_count", Integer, nullable=False, default=0),
    Column("skipped_count", Integer, nullable=False, default=0),  # invalid rows left out ("import valid rows")
    Column("errors", Json, nullable=False),  # [{row, column, message}], capped
    Column("preview", Json, nullable=False),  # {columns, would_create, would_update}
    Column("actor", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),  # heartbeat while running: a stale run may be resumed
    Column("finished_at", UTCDateTime),
)

gdpr_requests = Table(
    "gdpr_requests",
    metadata,
    # The record of a data subject's request: kept after an erasure (the contact is anonymous by then).
    Column("id", Id, primary_key=True),
    Column("contact_id", Id, ForeignKey("contacts.id"), nullable=False, info=STAY),
    Column("kind", String(16), nullable=False),  # export | erase
    Column("actor", String(64), nullable=False),
    Column("reason", Text),
    Column("requested_at", UTCDateTime, nullable=False),
    Column("details", Json, nullable=False),  # erase: rows changed per table, files deleted
    Index("ix_gdpr_requests_contact_id", "contact_id"),
)

retention_policies = Table(
    "retention_policies",
    metadata,
    # Days to keep each kind of data (app/retention.py KINDS); a kind without a row is kept forever.
    Column("kind", String(32), primary_key=True),
    Column("days", Integer, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("updated_by", String(64), nullable=False),
)

retention_runs = Table(
    "retention_runs",
    metadata,
    # One row per batch the retention loop applied: what it removed, up to which cutoff.
    Column("id", Id, primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("ran_at", UTCDateTime, nullable=False),
    Column("cutoff", UTCDateTime, nullable=False),
    Column("removed", Integer, nullable=False),
    Column("details", Json, nullable=False),
    Index("ix_retention_runs_ran_at", "ran_at"),
)

"""The Alembic migrations build exactly the schema storage/tables.py describes, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from centralino.storage.tables import metadata


def test_migrated_schema_matches_the_tables(services):
    with services.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
        tables = set(inspect(conn).get_table_names())
    assert diff == []
    assert {"outbox", "idempotency_keys", "outbound_media", "outbound_media_uploads", "sender_leases"} <= tables

"""Tables for contact merges, imports, GDPR requests and retention policies (issue 7).

Same metadata as storage/tables.py; schema changes go through Alembic (0015_contacts_admin.py)."""

from __future__ import annotations

from centralino.storage.tables import metadata  # noqa: F401

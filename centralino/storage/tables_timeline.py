"""Tables for timeline entries: the customer's and the case's whole story (issue 7).

Same metadata as storage/tables.py; schema changes go through Alembic (0014_timeline.py)."""

from __future__ import annotations

from centralino.storage.tables import metadata  # noqa: F401

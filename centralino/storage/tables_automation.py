"""Tables for automation rules and their execution log (issue 7).

Same metadata as storage/tables.py; schema changes go through Alembic (0016_automation.py)."""

from __future__ import annotations

from centralino.storage.tables import metadata  # noqa: F401

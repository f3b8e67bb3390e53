"""Tables for cases, case types and workflows, tasks, hand-offs (issue 7).

Same metadata as storage/tables.py; schema changes go through Alembic (0013_cases.py)."""

from __future__ import annotations

from centralino.storage.tables import metadata  # noqa: F401

"""Tables for business hours, SLA policies and timers, CSAT surveys (issue 6).

Same metadata as storage/tables.py; schema changes go through Alembic (one migration per area)."""

from __future__ import annotations

from centralino.storage.tables import metadata  # noqa: F401

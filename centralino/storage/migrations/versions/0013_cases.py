"""cases, case types and workflows, tasks, hand-offs (issue 7)

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-25 19:25:00
"""

from __future__ import annotations

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

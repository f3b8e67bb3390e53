"""contact merges, imports, GDPR requests and retention policies (issue 7)

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-25 19:25:00
"""

from __future__ import annotations

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

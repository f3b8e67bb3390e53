"""the agent desktop's extras (quick replies, unread counts, agent-set names)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 16:10:00
"""

from __future__ import annotations

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

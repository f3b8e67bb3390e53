"""conversations can be snoozed: when (snoozed_at) and until when (snoozed_until)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 15:12:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import centralino.storage.types

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain nullable columns: no table copy on SQLite
    op.add_column('conversations', sa.Column('snoozed_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=True))
    op.add_column('conversations', sa.Column('snoozed_until', centralino.storage.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_column('snoozed_until')
        batch_op.drop_column('snoozed_at')

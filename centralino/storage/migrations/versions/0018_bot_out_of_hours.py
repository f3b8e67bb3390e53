"""the bot holds a conversation out of hours: bot_sessions.held_until (the queue's next opening)

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-26 01:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import centralino.storage.types

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a plain nullable column: no table copy on SQLite
    op.add_column('bot_sessions', sa.Column('held_until', centralino.storage.types.UTCDateTime(timezone=True),
                                            nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('bot_sessions', schema=None) as batch_op:
        batch_op.drop_column('held_until')

"""the agent desktop's extras (quick replies, unread counts, agent-set names)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 16:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import centralino.storage.types

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('contacts', sa.Column('profile_name', sa.String(length=300), nullable=True))
    # names that came from WhatsApp (they have the message's time) are the profile name so far
    op.execute("UPDATE contacts SET profile_name = display_name WHERE display_name_at IS NOT NULL")
    op.create_table(
        'conversation_reads',
        sa.Column('conversation_id', centralino.storage.types.Id, nullable=False),
        sa.Column('last_read_message_id', centralino.storage.types.Id, nullable=False),
        sa.Column('read_by_user_id', centralino.storage.types.Id, nullable=True),
        sa.Column('read_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'],
                                name=op.f('fk_conversation_reads_conversation_id_conversations')),
        sa.ForeignKeyConstraint(['read_by_user_id'], ['users.id'],
                                name=op.f('fk_conversation_reads_read_by_user_id_users')),
        sa.PrimaryKeyConstraint('conversation_id', name=op.f('pk_conversation_reads')),
    )
    op.create_table(
        'quick_replies',
        sa.Column('id', centralino.storage.types.Id, nullable=False),
        sa.Column('owner_user_id', centralino.storage.types.Id, nullable=True),
        sa.Column('department_id', centralino.storage.types.Id, nullable=True),
        sa.Column('title', sa.String(length=100), nullable=False),
        sa.Column('shortcut', sa.String(length=32), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('created_by', centralino.storage.types.Id, nullable=True),
        sa.Column('created_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['owner_user_id'], ['users.id'], name=op.f('fk_quick_replies_owner_user_id_users')),
        sa.ForeignKeyConstraint(['department_id'], ['departments.id'],
                                name=op.f('fk_quick_replies_department_id_departments')),
        sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_quick_replies_created_by_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_quick_replies')),
    )
    op.create_index('ix_quick_replies_owner', 'quick_replies', ['owner_user_id'], unique=False)
    op.create_index('ix_quick_replies_shortcut', 'quick_replies', ['shortcut'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_quick_replies_shortcut', table_name='quick_replies')
    op.drop_index('ix_quick_replies_owner', table_name='quick_replies')
    op.drop_table('quick_replies')
    op.drop_table('conversation_reads')
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_column('profile_name')

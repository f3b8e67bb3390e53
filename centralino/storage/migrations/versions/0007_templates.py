"""WhatsApp message templates and their status history

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 16:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import centralino.storage.types

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'templates',
        sa.Column('id', centralino.storage.types.Id, nullable=False),
        sa.Column('account_id', sa.String(length=200), nullable=False),
        sa.Column('name', sa.String(length=512), nullable=False),
        sa.Column('language', sa.String(length=16), nullable=False),
        sa.Column('category', sa.String(length=32), nullable=False),
        sa.Column('parameter_format', sa.String(length=16), nullable=False),
        sa.Column('components', centralino.storage.types.Json, nullable=False),
        sa.Column('status', sa.String(length=32), nullable=False),
        sa.Column('status_reason', sa.Text(), nullable=True),
        sa.Column('quality', sa.String(length=32), nullable=True),
        sa.Column('provider_id', sa.String(length=200), nullable=True),
        sa.Column('submitted_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('status_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('created_by', centralino.storage.types.Id, nullable=True),
        sa.Column('created_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_templates_created_by_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_templates')),
        sa.UniqueConstraint('account_id', 'name', 'language', name=op.f('uq_templates_account_id_name_language')),
    )
    op.create_index('ix_templates_provider_id', 'templates', ['provider_id'], unique=False)
    op.create_table(
        'template_events',
        sa.Column('id', centralino.storage.types.Id, nullable=False),
        sa.Column('template_id', centralino.storage.types.Id, nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('status', sa.String(length=32), nullable=True),
        sa.Column('detail', centralino.storage.types.Json, nullable=False),
        sa.Column('actor', sa.String(length=64), nullable=False),
        sa.Column('at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('sequence', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['template_id'], ['templates.id'],
                                name=op.f('fk_template_events_template_id_templates')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_template_events')),
    )
    op.create_index(op.f('ix_template_events_template_id'), 'template_events', ['template_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_template_events_template_id'), table_name='template_events')
    op.drop_table('template_events')
    op.drop_index('ix_templates_provider_id', table_name='templates')
    op.drop_table('templates')

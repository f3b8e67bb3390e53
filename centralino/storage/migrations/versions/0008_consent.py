"""the consent ledger

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 16:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import centralino.storage.types

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'consent_records',
        sa.Column('id', centralino.storage.types.Id, nullable=False),
        sa.Column('contact_id', centralino.storage.types.Id, nullable=False),
        sa.Column('channel_id', centralino.storage.types.Id, nullable=True),
        sa.Column('purpose', sa.String(length=32), nullable=False),
        sa.Column('action', sa.String(length=16), nullable=False),
        sa.Column('source', sa.String(length=32), nullable=False),
        sa.Column('evidence', centralino.storage.types.Json, nullable=False),
        sa.Column('actor', sa.String(length=64), nullable=False),
        sa.Column('occurred_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('recorded_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('dedupe_key', sa.String(length=128), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_consent_records_contact_id_contacts')),
        sa.ForeignKeyConstraint(['channel_id'], ['channels.id'], name=op.f('fk_consent_records_channel_id_channels')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_records')),
        sa.UniqueConstraint('dedupe_key', name=op.f('uq_consent_records_dedupe_key')),
    )
    op.create_index('ix_consent_records_contact_id_id', 'consent_records', ['contact_id', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_consent_records_contact_id_id', table_name='consent_records')
    op.drop_table('consent_records')

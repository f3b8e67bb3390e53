"""contact merges, imports, GDPR requests and retention policies (issue 7)

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-25 19:25:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import centralino.storage.types

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

Id = centralino.storage.types.Id
Json = centralino.storage.types.Json
UTC = centralino.storage.types.UTCDateTime


def upgrade() -> None:
    op.create_table('contact_merges',
    sa.Column('id', Id, nullable=False),
    sa.Column('survivor_id', Id, nullable=False),
    sa.Column('merged_id', Id, nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('merged_at', UTC(timezone=True), nullable=False),
    sa.Column('details', Json, nullable=False),
    sa.ForeignKeyConstraint(['survivor_id'], ['contacts.id'], name=op.f('fk_contact_merges_survivor_id_contacts')),
    sa.ForeignKeyConstraint(['merged_id'], ['contacts.id'], name=op.f('fk_contact_merges_merged_id_contacts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_merges'))
    )
    op.create_index('ix_contact_merges_survivor_id', 'contact_merges', ['survivor_id'], unique=False)
    op.create_index('ix_contact_merges_merged_id', 'contact_merges', ['merged_id'], unique=False)
    op.create_table('contact_imports',
    sa.Column('id', Id, nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('filename', sa.String(length=300), nullable=True),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('valid_rows_only', sa.Boolean(), nullable=False),
    sa.Column('total_rows', sa.Integer(), nullable=False),
    sa.Column('invalid_rows', sa.Integer(), nullable=False),
    sa.Column('processed_rows', sa.Integer(), nullable=False),
    sa.Column('created_count', sa.Integer(), nullable=False),
    sa.Column('updated_count', sa.Integer(), nullable=False),
    sa.Column('unchanged_count', sa.Integer(), nullable=False),
    sa.Column('skipped_count', sa.Integer(), nullable=False),
    sa.Column('errors', Json, nullable=False),
    sa.Column('preview', Json, nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('created_at', UTC(timezone=True), nullable=False),
    sa.Column('updated_at', UTC(timezone=True), nullable=False),
    sa.Column('finished_at', UTC(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_imports'))
    )
    op.create_table('gdpr_requests',
    sa.Column('id', Id, nullable=False),
    sa.Column('contact_id', Id, nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('requested_at', UTC(timezone=True), nullable=False),
    sa.Column('details', Json, nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_gdpr_requests_contact_id_contacts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gdpr_requests'))
    )
    op.create_index('ix_gdpr_requests_contact_id', 'gdpr_requests', ['contact_id'], unique=False)
    op.create_table('retention_policies',
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('updated_at', UTC(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('kind', name=op.f('pk_retention_policies'))
    )
    op.create_table('retention_runs',
    sa.Column('id', Id, nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('ran_at', UTC(timezone=True), nullable=False),
    sa.Column('cutoff', UTC(timezone=True), nullable=False),
    sa.Column('removed', sa.Integer(), nullable=False),
    sa.Column('details', Json, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_retention_runs'))
    )
    op.create_index('ix_retention_runs_ran_at', 'retention_runs', ['ran_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_retention_runs_ran_at', table_name='retention_runs')
    op.drop_table('retention_runs')
    op.drop_table('retention_policies')
    op.drop_index('ix_gdpr_requests_contact_id', table_name='gdpr_requests')
    op.drop_table('gdpr_requests')
    op.drop_table('contact_imports')
    op.drop_index('ix_contact_merges_merged_id', table_name='contact_merges')
    op.drop_index('ix_contact_merges_survivor_id', table_name='contact_merges')
    op.drop_table('contact_merges')

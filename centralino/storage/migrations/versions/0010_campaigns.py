"""campaigns and their recipients

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 16:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import centralino.storage.types

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

T = centralino.storage.types


def upgrade() -> None:
    op.create_table(
        'campaigns',
        sa.Column('id', T.Id, nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('channel_id', T.Id, nullable=False),
        sa.Column('template_id', T.Id, nullable=False),
        sa.Column('template_name', sa.String(length=512), nullable=False),
        sa.Column('template_language', sa.String(length=16), nullable=False),
        sa.Column('template_category', sa.String(length=32), nullable=False),
        sa.Column('template_components', T.Json, nullable=True),
        sa.Column('audience', T.Json, nullable=False),
        sa.Column('parameters', T.Json, nullable=False),
        sa.Column('start_at', T.UTCDateTime(timezone=True), nullable=True),
        sa.Column('rate_per_s', sa.Float(), nullable=False),
        sa.Column('daily_tier', sa.String(length=16), nullable=False),
        sa.Column('on_tier_limit', sa.String(length=8), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('recipients_total', sa.Integer(), nullable=False),
        sa.Column('rejected_total', sa.Integer(), nullable=False),
        sa.Column('plan_report', T.Json, nullable=True),
        sa.Column('created_by', T.Id, nullable=True),
        sa.Column('created_at', T.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', T.UTCDateTime(timezone=True), nullable=False),
        sa.Column('planned_at', T.UTCDateTime(timezone=True), nullable=True),
        sa.Column('started_at', T.UTCDateTime(timezone=True), nullable=True),
        sa.Column('finished_at', T.UTCDateTime(timezone=True), nullable=True),
        sa.Column('waiting_reason', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['channel_id'], ['channels.id'], name=op.f('fk_campaigns_channel_id_channels')),
        sa.ForeignKeyConstraint(['template_id'], ['templates.id'], name=op.f('fk_campaigns_template_id_templates')),
        sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_campaigns_created_by_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns')),
    )
    op.create_index('ix_campaigns_status', 'campaigns', ['status'], unique=False)
    op.create_table(
        'campaign_recipients',
        sa.Column('id', T.Id, nullable=False),
        sa.Column('campaign_id', T.Id, nullable=False),
        sa.Column('contact_id', T.Id, nullable=False),
        sa.Column('channel_id', T.Id, nullable=False),
        sa.Column('recipient_kind', sa.String(length=32), nullable=False),
        sa.Column('recipient', sa.String(length=300), nullable=False),
        sa.Column('params', T.Json, nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('message_id', T.Id, nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('error_code', sa.Integer(), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('planned_at', T.UTCDateTime(timezone=True), nullable=False),
        sa.Column('queued_at', T.UTCDateTime(timezone=True), nullable=True),
        sa.Column('sent_at', T.UTCDateTime(timezone=True), nullable=True),
        sa.Column('delivered_at', T.UTCDateTime(timezone=True), nullable=True),
        sa.Column('read_at', T.UTCDateTime(timezone=True), nullable=True),
        sa.Column('replied_at', T.UTCDateTime(timezone=True), nullable=True),
        sa.Column('failed_at', T.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'],
                                name=op.f('fk_campaign_recipients_campaign_id_campaigns')),
        sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'],
                                name=op.f('fk_campaign_recipients_contact_id_contacts')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_recipients')),
        sa.UniqueConstraint('campaign_id', 'contact_id', name=op.f('uq_campaign_recipients_campaign_id_contact_id')),
        sa.UniqueConstraint('message_id', name=op.f('uq_campaign_recipients_message_id')),
    )
    op.create_index('ix_campaign_recipients_feed', 'campaign_recipients', ['campaign_id', 'state', 'id'])
    op.create_index('ix_campaign_recipients_contact', 'campaign_recipients', ['contact_id', 'channel_id'])
    op.create_index('ix_campaign_recipients_tier', 'campaign_recipients', ['channel_id', 'queued_at'])
    op.create_index('ix_messages_templates_out', 'messages', ['channel_id', 'type', 'direction', 'created_at'])


def downgrade() -> None:
    op.drop_index('ix_messages_templates_out', table_name='messages')
    op.drop_index('ix_campaign_recipients_tier', table_name='campaign_recipients')
    op.drop_index('ix_campaign_recipients_contact', table_name='campaign_recipients')
    op.drop_index('ix_campaign_recipients_feed', table_name='campaign_recipients')
    op.drop_table('campaign_recipients')
    op.drop_index('ix_campaigns_status', table_name='campaigns')
    op.drop_table('campaigns')

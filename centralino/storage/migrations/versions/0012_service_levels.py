"""business hours, SLA policies and timers, customer contacts (episodes), CSAT surveys

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-25 16:35:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import centralino.storage.types

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('queue_hours',
    sa.Column('queue_id', centralino.storage.types.Id, nullable=False),
    sa.Column('calendar', centralino.storage.types.Json, nullable=False),
    sa.Column('out_of_hours', sa.String(length=16), nullable=False),
    sa.Column('auto_reply', centralino.storage.types.Json, nullable=False),
    sa.Column('updated_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['queue_id'], ['routing_queues.id'], name=op.f('fk_queue_hours_queue_id_routing_queues')),
    sa.PrimaryKeyConstraint('queue_id', name=op.f('pk_queue_hours'))
    )
    op.create_table('service_episodes',
    sa.Column('id', centralino.storage.types.Id, nullable=False),
    sa.Column('conversation_id', centralino.storage.types.Id, nullable=False),
    sa.Column('open_conversation_id', centralino.storage.types.Id, nullable=True),
    sa.Column('channel_id', centralino.storage.types.Id, nullable=False),
    sa.Column('queue_id', centralino.storage.types.Id, nullable=True),
    sa.Column('agent_user_id', centralino.storage.types.Id, nullable=True),
    sa.Column('started_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('local_hour', sa.Integer(), nullable=False),
    sa.Column('first_response_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('first_response_s', sa.Integer(), nullable=True),
    sa.Column('resolved_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolution_s', sa.Integer(), nullable=True),
    sa.Column('handle_s', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['agent_user_id'], ['users.id'], name=op.f('fk_service_episodes_agent_user_id_users')),
    sa.ForeignKeyConstraint(['channel_id'], ['channels.id'], name=op.f('fk_service_episodes_channel_id_channels')),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_service_episodes_conversation_id_conversations')),
    sa.ForeignKeyConstraint(['queue_id'], ['routing_queues.id'], name=op.f('fk_service_episodes_queue_id_routing_queues')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_episodes')),
    sa.UniqueConstraint('open_conversation_id', name=op.f('uq_service_episodes_open_conversation_id'))
    )
    op.create_index('ix_service_episodes_conversation', 'service_episodes', ['conversation_id'], unique=False)
    op.create_index('ix_service_episodes_started', 'service_episodes', ['started_at'], unique=False)
    op.create_table('sla_policies',
    sa.Column('id', centralino.storage.types.Id, nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('queue_id', centralino.storage.types.Id, nullable=True),
    sa.Column('priority', sa.Integer(), nullable=True),
    sa.Column('first_response_s', sa.Integer(), nullable=True),
    sa.Column('next_response_s', sa.Integer(), nullable=True),
    sa.Column('resolution_s', sa.Integer(), nullable=True),
    sa.Column('warn_percent', sa.Integer(), nullable=False),
    sa.Column('escalation', centralino.storage.types.Json, nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['queue_id'], ['routing_queues.id'], name=op.f('fk_sla_policies_queue_id_routing_queues')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_policies')),
    sa.UniqueConstraint('name', name=op.f('uq_sla_policies_name'))
    )
    op.create_table('csat_surveys',
    sa.Column('id', centralino.storage.types.Id, nullable=False),
    sa.Column('episode_id', centralino.storage.types.Id, nullable=True),
    sa.Column('conversation_id', centralino.storage.types.Id, nullable=False),
    sa.Column('agent_user_id', centralino.storage.types.Id, nullable=True),
    sa.Column('queue_id', centralino.storage.types.Id, nullable=True),
    sa.Column('channel_id', centralino.storage.types.Id, nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('message_id', centralino.storage.types.Id, nullable=True),
    sa.Column('refused_reason', sa.Text(), nullable=True),
    sa.Column('score', sa.Integer(), nullable=True),
    sa.Column('answered_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agent_user_id'], ['users.id'], name=op.f('fk_csat_surveys_agent_user_id_users')),
    sa.ForeignKeyConstraint(['channel_id'], ['channels.id'], name=op.f('fk_csat_surveys_channel_id_channels')),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_csat_surveys_conversation_id_conversations')),
    sa.ForeignKeyConstraint(['episode_id'], ['service_episodes.id'], name=op.f('fk_csat_surveys_episode_id_service_episodes')),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_csat_surveys_message_id_messages')),
    sa.ForeignKeyConstraint(['queue_id'], ['routing_queues.id'], name=op.f('fk_csat_surveys_queue_id_routing_queues')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_csat_surveys')),
    sa.UniqueConstraint('conversation_id', 'created_at', name=op.f('uq_csat_surveys_conversation_id_created_at')),
    sa.UniqueConstraint('episode_id', name=op.f('uq_csat_surveys_episode_id'))
    )
    op.create_index('ix_csat_surveys_conversation', 'csat_surveys', ['conversation_id', 'state'], unique=False)
    op.create_table('out_of_hours_replies',
    sa.Column('conversation_id', centralino.storage.types.Id, nullable=False),
    sa.Column('reopens_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('queue_id', centralino.storage.types.Id, nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('message_id', centralino.storage.types.Id, nullable=True),
    sa.Column('created_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_out_of_hours_replies_conversation_id_conversations')),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_out_of_hours_replies_message_id_messages')),
    sa.ForeignKeyConstraint(['queue_id'], ['routing_queues.id'], name=op.f('fk_out_of_hours_replies_queue_id_routing_queues')),
    sa.PrimaryKeyConstraint('conversation_id', 'reopens_at', name=op.f('pk_out_of_hours_replies'))
    )
    op.create_table('sla_timers',
    sa.Column('id', centralino.storage.types.Id, nullable=False),
    sa.Column('conversation_id', centralino.storage.types.Id, nullable=False),
    sa.Column('episode_id', centralino.storage.types.Id, nullable=True),
    sa.Column('policy_id', centralino.storage.types.Id, nullable=False),
    sa.Column('queue_id', centralino.storage.types.Id, nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('running_key', sa.String(length=40), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('started_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('warn_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('due_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('next_check_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('warned_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('breached_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('stopped_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('business_s', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_sla_timers_conversation_id_conversations')),
    sa.ForeignKeyConstraint(['episode_id'], ['service_episodes.id'], name=op.f('fk_sla_timers_episode_id_service_episodes')),
    sa.ForeignKeyConstraint(['policy_id'], ['sla_policies.id'], name=op.f('fk_sla_timers_policy_id_sla_policies')),
    sa.ForeignKeyConstraint(['queue_id'], ['routing_queues.id'], name=op.f('fk_sla_timers_queue_id_routing_queues')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_timers')),
    sa.UniqueConstraint('running_key', name=op.f('uq_sla_timers_running_key'))
    )
    op.create_index('ix_sla_timers_conversation', 'sla_timers', ['conversation_id', 'state'], unique=False)
    op.create_index('ix_sla_timers_due', 'sla_timers', ['next_check_at'], unique=False)
    op.create_index('ix_sla_timers_started', 'sla_timers', ['started_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_sla_timers_started', table_name='sla_timers')
    op.drop_index('ix_sla_timers_due', table_name='sla_timers')
    op.drop_index('ix_sla_timers_conversation', table_name='sla_timers')
    op.drop_table('sla_timers')
    op.drop_table('out_of_hours_replies')
    op.drop_index('ix_csat_surveys_conversation', table_name='csat_surveys')
    op.drop_table('csat_surveys')
    op.drop_table('sla_policies')
    op.drop_index('ix_service_episodes_started', table_name='service_episodes')
    op.drop_index('ix_service_episodes_conversation', table_name='service_episodes')
    op.drop_table('service_episodes')
    op.drop_table('queue_hours')

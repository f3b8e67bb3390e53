"""routing: skills, presence, capacity, queues and rules

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25 16:35:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import centralino.storage.types

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('agent_capacity',
    sa.Column('user_id', centralino.storage.types.Id, nullable=False),
    sa.Column('channel_kind', sa.String(length=32), nullable=False),
    sa.Column('max_active', sa.Integer(), nullable=False),
    sa.Column('active', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('last_assigned_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_agent_capacity_user_id_users')),
    sa.PrimaryKeyConstraint('user_id', 'channel_kind', name=op.f('pk_agent_capacity'))
    )
    op.create_table('agent_presence',
    sa.Column('user_id', centralino.storage.types.Id, nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('since', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('set_by', centralino.storage.types.Id, nullable=True),
    sa.Column('idle_since', centralino.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['set_by'], ['users.id'], name=op.f('fk_agent_presence_set_by_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_agent_presence_user_id_users')),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_agent_presence'))
    )
    op.create_table('agent_presence_history',
    sa.Column('id', centralino.storage.types.Id, nullable=False),
    sa.Column('user_id', centralino.storage.types.Id, nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('started_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('set_by', centralino.storage.types.Id, nullable=True),
    sa.ForeignKeyConstraint(['set_by'], ['users.id'], name=op.f('fk_agent_presence_history_set_by_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_agent_presence_history_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agent_presence_history'))
    )
    op.create_index('ix_agent_presence_history_user', 'agent_presence_history', ['user_id', 'started_at'], unique=False)
    op.create_table('agent_skills',
    sa.Column('user_id', centralino.storage.types.Id, nullable=False),
    sa.Column('skill', sa.String(length=100), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_agent_skills_user_id_users')),
    sa.PrimaryKeyConstraint('user_id', 'skill', name=op.f('pk_agent_skills'))
    )
    op.create_index('ix_agent_skills_skill', 'agent_skills', ['skill'], unique=False)
    op.create_table('routing_queues',
    sa.Column('id', centralino.storage.types.Id, nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('department_id', centralino.storage.types.Id, nullable=True),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('required_skills', centralino.storage.types.Json, nullable=False),
    sa.Column('relaxation', centralino.storage.types.Json, nullable=False),
    sa.Column('overflow_queue_id', centralino.storage.types.Id, nullable=True),
    sa.Column('offer_timeout_s', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_routing_queues_department_id_departments')),
    sa.ForeignKeyConstraint(['overflow_queue_id'], ['routing_queues.id'], name=op.f('fk_routing_queues_overflow_queue_id_routing_queues')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routing_queues')),
    sa.UniqueConstraint('name', name=op.f('uq_routing_queues_name'))
    )
    op.create_table('routing_rules',
    sa.Column('id', centralino.storage.types.Id, nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('conditions', centralino.storage.types.Json, nullable=False),
    sa.Column('queue_id', centralino.storage.types.Id, nullable=False),
    sa.Column('priority', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['queue_id'], ['routing_queues.id'], name=op.f('fk_routing_rules_queue_id_routing_queues')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routing_rules'))
    )
    op.create_index('ix_routing_rules_position', 'routing_rules', ['position'], unique=False)
    op.create_table('routing_items',
    sa.Column('id', centralino.storage.types.Id, nullable=False),
    sa.Column('conversation_id', centralino.storage.types.Id, nullable=False),
    sa.Column('open_conversation_id', centralino.storage.types.Id, nullable=True),
    sa.Column('queue_id', centralino.storage.types.Id, nullable=False),
    sa.Column('channel_kind', sa.String(length=32), nullable=False),
    sa.Column('contact_id', centralino.storage.types.Id, nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('enqueued_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('queue_entered_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('owner_kind', sa.String(length=16), nullable=False),
    sa.Column('rule_id', centralino.storage.types.Id, nullable=True),
    sa.Column('previous_agent_id', centralino.storage.types.Id, nullable=True),
    sa.Column('excluded_user_ids', centralino.storage.types.Json, nullable=False),
    sa.Column('offered_to', centralino.storage.types.Id, nullable=True),
    sa.Column('offered_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('offer_expires_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('assigned_to', centralino.storage.types.Id, nullable=True),
    sa.Column('assigned_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('answered_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('relaxation_step', sa.Integer(), nullable=True),
    sa.Column('matched_requirement', centralino.storage.types.Json, nullable=True),
    sa.Column('skill_match', sa.Boolean(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('closed_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('close_reason', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['assigned_to'], ['users.id'], name=op.f('fk_routing_items_assigned_to_users')),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_routing_items_contact_id_contacts')),
    sa.ForeignKeyConstraint(['offered_to'], ['users.id'], name=op.f('fk_routing_items_offered_to_users')),
    sa.ForeignKeyConstraint(['previous_agent_id'], ['users.id'], name=op.f('fk_routing_items_previous_agent_id_users')),
    sa.ForeignKeyConstraint(['queue_id'], ['routing_queues.id'], name=op.f('fk_routing_items_queue_id_routing_queues')),
    sa.ForeignKeyConstraint(['rule_id'], ['routing_rules.id'], name=op.f('fk_routing_items_rule_id_routing_rules')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routing_items')),
    sa.UniqueConstraint('open_conversation_id', name=op.f('uq_routing_items_open_conversation_id'))
    )
    op.create_index('ix_routing_items_agent', 'routing_items', ['assigned_to', 'state'], unique=False)
    op.create_index('ix_routing_items_conversation', 'routing_items', ['conversation_id'], unique=False)
    op.create_index('ix_routing_items_offer', 'routing_items', ['state', 'offer_expires_at'], unique=False)
    op.create_index('ix_routing_items_waiting', 'routing_items', ['state', 'priority', 'enqueued_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_routing_items_waiting', table_name='routing_items')
    op.drop_index('ix_routing_items_offer', table_name='routing_items')
    op.drop_index('ix_routing_items_conversation', table_name='routing_items')
    op.drop_index('ix_routing_items_agent', table_name='routing_items')
    op.drop_table('routing_items')
    op.drop_index('ix_routing_rules_position', table_name='routing_rules')
    op.drop_table('routing_rules')
    op.drop_table('routing_queues')
    op.drop_index('ix_agent_skills_skill', table_name='agent_skills')
    op.drop_table('agent_skills')
    op.drop_index('ix_agent_presence_history_user', table_name='agent_presence_history')
    op.drop_table('agent_presence_history')
    op.drop_table('agent_presence')
    op.drop_table('agent_capacity')

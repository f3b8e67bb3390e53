"""the virtual agent: intents, examples, flows, services, model versions, sessions, turns, candidates (issue 8)

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-25 22:23:41.984386
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import centralino.storage.types

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bot_flows',
    sa.Column('id', centralino.storage.types.Id, nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('definition', centralino.storage.types.Json, nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bot_flows')),
    sa.UniqueConstraint('name', name=op.f('uq_bot_flows_name'))
    )
    op.create_table('bot_models',
    sa.Column('id', centralino.storage.types.Id, nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('encoder', sa.String(length=32), nullable=False),
    sa.Column('blob', sa.LargeBinary(), nullable=False),
    sa.Column('metrics', centralino.storage.types.Json, nullable=False),
    sa.Column('trained_examples', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('trained_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('activated_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bot_models')),
    sa.UniqueConstraint('version', name=op.f('uq_bot_models_version'))
    )
    op.create_table('bot_services',
    sa.Column('id', centralino.storage.types.Id, nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('method', sa.String(length=8), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('auth_header', sa.String(length=64), nullable=True),
    sa.Column('auth_secret', sa.Text(), nullable=True),
    sa.Column('request_template', sa.Text(), nullable=True),
    sa.Column('response_mapping', centralino.storage.types.Json, nullable=False),
    sa.Column('timeout_s', sa.Float(), nullable=False),
    sa.Column('retries', sa.Integer(), nullable=False),
    sa.Column('created_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bot_services')),
    sa.UniqueConstraint('name', name=op.f('uq_bot_services_name'))
    )
    op.create_table('bot_intents',
    sa.Column('id', centralino.storage.types.Id, nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('automation', sa.String(length=16), nullable=False),
    sa.Column('threshold', sa.Float(), nullable=False),
    sa.Column('answers', centralino.storage.types.Json, nullable=False),
    sa.Column('flow_id', centralino.storage.types.Id, nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['flow_id'], ['bot_flows.id'], name=op.f('fk_bot_intents_flow_id_bot_flows'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bot_intents')),
    sa.UniqueConstraint('name', name=op.f('uq_bot_intents_name'))
    )
    op.create_table('bot_settings',
    sa.Column('channel_id', centralino.storage.types.Id, nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('default_language', sa.String(length=8), nullable=False),
    sa.Column('rephrase_limit', sa.Integer(), nullable=False),
    sa.Column('texts', centralino.storage.types.Json, nullable=False),
    sa.Column('updated_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['channel_id'], ['channels.id'], name=op.f('fk_bot_settings_channel_id_channels'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('channel_id', name=op.f('pk_bot_settings'))
    )
    op.create_table('bot_examples',
    sa.Column('id', centralino.storage.types.Id, nullable=False),
    sa.Column('intent_id', centralino.storage.types.Id, nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('split', sa.String(length=8), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['intent_id'], ['bot_intents.id'], name=op.f('fk_bot_examples_intent_id_bot_intents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bot_examples')),
    sa.UniqueConstraint('intent_id', 'text', name=op.f('uq_bot_examples_intent_id_text'))
    )
    with op.batch_alter_table('bot_examples', schema=None) as batch_op:
        batch_op.create_index('ix_bot_examples_intent', ['intent_id'], unique=False)

    op.create_table('bot_sessions',
    sa.Column('conversation_id', centralino.storage.types.Id, nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('flow_id', centralino.storage.types.Id, nullable=True),
    sa.Column('dialog', centralino.storage.types.Json, nullable=False),
    sa.Column('rephrased', sa.Integer(), nullable=False),
    sa.Column('intent', sa.String(length=64), nullable=True),
    sa.Column('entities', centralino.storage.types.Json, nullable=False),
    sa.Column('summary', centralino.storage.types.Json, nullable=False),
    sa.Column('started_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_bot_sessions_conversation_id_conversations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['flow_id'], ['bot_flows.id'], name=op.f('fk_bot_sessions_flow_id_bot_flows'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('conversation_id', name=op.f('pk_bot_sessions'))
    )
    with op.batch_alter_table('bot_sessions', schema=None) as batch_op:
        batch_op.create_index('ix_bot_sessions_state', ['state'], unique=False)

    op.create_table('bot_candidates',
    sa.Column('id', centralino.storage.types.Id, nullable=False),
    sa.Column('message_id', centralino.storage.types.Id, nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('predicted_intent', sa.String(length=64), nullable=True),
    sa.Column('confidence', sa.Float(), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('label_intent_id', centralino.storage.types.Id, nullable=True),
    sa.Column('labelled_by', sa.String(length=64), nullable=True),
    sa.Column('created_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('labelled_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['label_intent_id'], ['bot_intents.id'], name=op.f('fk_bot_candidates_label_intent_id_bot_intents'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_bot_candidates_message_id_messages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bot_candidates')),
    sa.UniqueConstraint('message_id', name=op.f('uq_bot_candidates_message_id'))
    )
    with op.batch_alter_table('bot_candidates', schema=None) as batch_op:
        batch_op.create_index('ix_bot_candidates_state', ['state', 'id'], unique=False)

    op.create_table('bot_turns',
    sa.Column('id', centralino.storage.types.Id, nullable=False),
    sa.Column('message_id', centralino.storage.types.Id, nullable=False),
    sa.Column('conversation_id', centralino.storage.types.Id, nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('intent', sa.String(length=64), nullable=True),
    sa.Column('confidence', sa.Float(), nullable=True),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('entities', centralino.storage.types.Json, nullable=False),
    sa.Column('decision', sa.String(length=16), nullable=True),
    sa.Column('suggestion', sa.Text(), nullable=True),
    sa.Column('reply_message_id', centralino.storage.types.Id, nullable=True),
    sa.Column('model_version', sa.Integer(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('done_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('claimed_by', sa.String(length=64), nullable=True),
    sa.Column('claimed_until', centralino.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_bot_turns_conversation_id_conversations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_bot_turns_message_id_messages'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reply_message_id'], ['messages.id'], name=op.f('fk_bot_turns_reply_message_id_messages'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bot_turns')),
    sa.UniqueConstraint('message_id', name=op.f('uq_bot_turns_message_id'))
    )
    with op.batch_alter_table('bot_turns', schema=None) as batch_op:
        batch_op.create_index('ix_bot_turns_conversation', ['conversation_id', 'id'], unique=False)
        batch_op.create_index('ix_bot_turns_pending', ['state', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('bot_turns', schema=None) as batch_op:
        batch_op.drop_index('ix_bot_turns_pending')
        batch_op.drop_index('ix_bot_turns_conversation')

    op.drop_table('bot_turns')
    with op.batch_alter_table('bot_candidates', schema=None) as batch_op:
        batch_op.drop_index('ix_bot_candidates_state')

    op.drop_table('bot_candidates')
    with op.batch_alter_table('bot_sessions', schema=None) as batch_op:
        batch_op.drop_index('ix_bot_sessions_state')

    op.drop_table('bot_sessions')
    with op.batch_alter_table('bot_examples', schema=None) as batch_op:
        batch_op.drop_index('ix_bot_examples_intent')

    op.drop_table('bot_examples')
    op.drop_table('bot_settings')
    op.drop_table('bot_intents')
    op.drop_table('bot_services')
    op.drop_table('bot_models')
    op.drop_table('bot_flows')

"""automation rules and their execution log, webhook deliveries; customer-facing case updates (issue 7)

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-25 19:25:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import centralino.storage.types

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('automation_rules',
    sa.Column('id', centralino.storage.types.Id, nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('trigger', sa.String(length=64), nullable=False),
    sa.Column('conditions', centralino.storage.types.Json, nullable=False),
    sa.Column('actions', centralino.storage.types.Json, nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_automation_rules'))
    )
    op.create_index('ix_automation_rules_trigger', 'automation_rules', ['trigger', 'enabled'], unique=False)
    op.create_table('automation_executions',
    sa.Column('id', centralino.storage.types.Id, nullable=False),
    sa.Column('rule_id', centralino.storage.types.Id, nullable=False),
    sa.Column('event_type', sa.String(length=64), nullable=False),
    sa.Column('event', centralino.storage.types.Json, nullable=False),
    sa.Column('matched', sa.Boolean(), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('depth', sa.Integer(), nullable=False),
    sa.Column('actions', centralino.storage.types.Json, nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('started_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['rule_id'], ['automation_rules.id'],
                            name=op.f('fk_automation_executions_rule_id_automation_rules'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_automation_executions'))
    )
    op.create_index('ix_automation_executions_rule', 'automation_executions', ['rule_id', 'id'], unique=False)
    op.create_table('automation_webhooks',
    sa.Column('id', centralino.storage.types.Id, nullable=False),
    sa.Column('execution_id', centralino.storage.types.Id, nullable=True),
    sa.Column('rule_id', centralino.storage.types.Id, nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('payload', centralino.storage.types.Json, nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('claimed_until', centralino.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_status_code', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('completed_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['execution_id'], ['automation_executions.id'],
                            name=op.f('fk_automation_webhooks_execution_id_automation_executions'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['rule_id'], ['automation_rules.id'],
                            name=op.f('fk_automation_webhooks_rule_id_automation_rules'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_automation_webhooks'))
    )
    op.create_index('ix_automation_webhooks_state_next', 'automation_webhooks', ['state', 'next_attempt_at'],
                    unique=False)
    op.create_table('case_update_settings',
    sa.Column('case_type', sa.String(length=100), nullable=False),
    sa.Column('statuses', centralino.storage.types.Json, nullable=False),
    sa.Column('texts', centralino.storage.types.Json, nullable=False),
    sa.Column('template_name', sa.String(length=512), nullable=True),
    sa.Column('template_language', sa.String(length=16), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('updated_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('case_type', name=op.f('pk_case_update_settings'))
    )
    op.create_table('case_updates',
    sa.Column('id', centralino.storage.types.Id, nullable=False),
    sa.Column('case_id', centralino.storage.types.Id, nullable=False),
    sa.Column('contact_id', centralino.storage.types.Id, nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=64), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=64), nullable=True),
    sa.Column('message_id', centralino.storage.types.Id, nullable=True),
    sa.Column('created_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_case_updates_contact_id_contacts')),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_case_updates_message_id_messages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_updates'))
    )
    op.create_index('ix_case_updates_case', 'case_updates', ['case_id', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_case_updates_case', table_name='case_updates')
    op.drop_table('case_updates')
    op.drop_table('case_update_settings')
    op.drop_index('ix_automation_webhooks_state_next', table_name='automation_webhooks')
    op.drop_table('automation_webhooks')
    op.drop_index('ix_automation_executions_rule', table_name='automation_executions')
    op.drop_table('automation_executions')
    op.drop_index('ix_automation_rules_trigger', table_name='automation_rules')
    op.drop_table('automation_rules')

"""transactional notifications, status callbacks, one-time codes

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 16:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import centralino.storage.types

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

Id = centralino.storage.types.Id
Json = centralino.storage.types.Json


def _at(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, centralino.storage.types.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        'notifications',
        sa.Column('id', Id, nullable=False),
        sa.Column('use_case', sa.String(length=64), nullable=True),
        sa.Column('template_name', sa.String(length=512), nullable=False),
        sa.Column('template_language', sa.String(length=16), nullable=False),
        sa.Column('recipient', sa.String(length=64), nullable=False),
        sa.Column('contact_id', Id, nullable=False),
        sa.Column('channel_id', Id, nullable=False),
        sa.Column('conversation_id', Id, nullable=False),
        sa.Column('message_id', Id, nullable=False),
        sa.Column('callback_url', sa.Text(), nullable=True),
        sa.Column('origin', sa.String(length=64), nullable=False),
        sa.Column('idempotency_scope', sa.String(length=64), nullable=True),
        sa.Column('idempotency_key', sa.String(length=255), nullable=True),
        sa.Column('request_hash', sa.String(length=64), nullable=True),
        sa.Column('status', sa.String(length=32), nullable=False),
        sa.Column('error_code', sa.Integer(), nullable=True),
        _at('created_at'),
        _at('status_at'),
        sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_notifications_contact_id_contacts')),
        sa.ForeignKeyConstraint(['channel_id'], ['channels.id'], name=op.f('fk_notifications_channel_id_channels')),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'],
                                name=op.f('fk_notifications_conversation_id_conversations')),
        sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_notifications_message_id_messages')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
        sa.UniqueConstraint('message_id', name=op.f('uq_notifications_message_id')),
        sa.UniqueConstraint('idempotency_scope', 'idempotency_key',
                            name=op.f('uq_notifications_idempotency_scope_idempotency_key')),
    )
    op.create_index('ix_notifications_created_at', 'notifications', ['created_at'], unique=False)
    op.create_index('ix_notifications_status', 'notifications', ['status'], unique=False)
    op.create_index('ix_notifications_use_case', 'notifications', ['use_case'], unique=False)
    op.create_index('ix_notifications_recipient', 'notifications', ['recipient'], unique=False)
    op.create_table(
        'callback_deliveries',
        sa.Column('id', Id, nullable=False),
        sa.Column('notification_id', Id, nullable=False),
        sa.Column('url', sa.Text(), nullable=False),
        sa.Column('payload', Json, nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        _at('next_attempt_at'),
        _at('claimed_until', True),
        sa.Column('last_status_code', sa.Integer(), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        _at('created_at'),
        _at('completed_at', True),
        sa.ForeignKeyConstraint(['notification_id'], ['notifications.id'],
                                name=op.f('fk_callback_deliveries_notification_id_notifications')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_callback_deliveries')),
    )
    op.create_index('ix_callback_deliveries_state_next_attempt_at', 'callback_deliveries',
                    ['state', 'next_attempt_at'], unique=False)
    op.create_index('ix_callback_deliveries_notification_id', 'callback_deliveries', ['notification_id'],
                    unique=False)
    op.create_table(
        'verifications',
        sa.Column('id', Id, nullable=False),
        sa.Column('notification_id', Id, nullable=True),
        sa.Column('contact_id', Id, nullable=False),
        sa.Column('channel_id', Id, nullable=False),
        sa.Column('message_id', Id, nullable=True),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('code_length', sa.Integer(), nullable=False),
        _at('expires_at'),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('max_attempts', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        _at('verified_at', True),
        sa.Column('verified_via', sa.String(length=16), nullable=True),
        sa.Column('origin', sa.String(length=64), nullable=False),
        _at('created_at'),
        sa.ForeignKeyConstraint(['notification_id'], ['notifications.id'],
                                name=op.f('fk_verifications_notification_id_notifications')),
        sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_verifications_contact_id_contacts')),
        sa.ForeignKeyConstraint(['channel_id'], ['channels.id'], name=op.f('fk_verifications_channel_id_channels')),
        sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_verifications_message_id_messages')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_verifications')),
    )
    op.create_index('ix_verifications_contact_id_state', 'verifications', ['contact_id', 'state'], unique=False)
    op.create_index('ix_verifications_state_expires_at', 'verifications', ['state', 'expires_at'], unique=False)
    op.create_table(
        'notification_use_cases',
        sa.Column('id', Id, nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('template_name', sa.String(length=512), nullable=False),
        sa.Column('language', sa.String(length=16), nullable=True),
        sa.Column('parameters', Json, nullable=True),
        sa.Column('description', sa.Text(), nullable=True),
        _at('created_at'),
        _at('updated_at'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_use_cases')),
        sa.UniqueConstraint('name', name=op.f('uq_notification_use_cases_name')),
    )


def downgrade() -> None:
    op.drop_table('notification_use_cases')
    op.drop_index('ix_verifications_state_expires_at', table_name='verifications')
    op.drop_index('ix_verifications_contact_id_state', table_name='verifications')
    op.drop_table('verifications')
    op.drop_index('ix_callback_deliveries_notification_id', table_name='callback_deliveries')
    op.drop_index('ix_callback_deliveries_state_next_attempt_at', table_name='callback_deliveries')
    op.drop_table('callback_deliveries')
    op.drop_index('ix_notifications_recipient', table_name='notifications')
    op.drop_index('ix_notifications_use_case', table_name='notifications')
    op.drop_index('ix_notifications_status', table_name='notifications')
    op.drop_index('ix_notifications_created_at', table_name='notifications')
    op.drop_table('notifications')

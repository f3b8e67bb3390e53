"""timeline entries: the customer's and the case's whole story (issue 7); append-only guards on
timeline_entries and audit_log

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-25 19:25:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import centralino.storage.types

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

# PostgreSQL: row triggers refuse DELETE and any UPDATE except re-pointing an entry's contact_id /
# conversation_id (a contact merge). audit_log: DELETE refused; UPDATE of `details` only, and only in a
# transaction that said `SET LOCAL centralino.audit_redaction = 'on'` (a GDPR redaction). TRUNCATE is not
# a row operation and stays possible for the owner (tests, a full reset). See docs/timeline.md.
PG_UP = [
    """CREATE FUNCTION timeline_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND (to_jsonb(NEW) - 'contact_id' - 'conversation_id') = (to_jsonb(OLD) - 'contact_id' - 'conversation_id') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'timeline_entries is append-only: % refused', TG_OP;
END $$""",
    """CREATE TRIGGER timeline_entries_append_only BEFORE UPDATE OR DELETE ON timeline_entries
FOR EACH ROW EXECUTE FUNCTION timeline_entries_append_only()""",
    """CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND current_setting('centralino.audit_redaction', true) = 'on'
       AND (to_jsonb(NEW) - 'details') = (to_jsonb(OLD) - 'details') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP;
END $$""",
    """CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()""",
]
PG_DOWN = [
    "DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log",
    "DROP FUNCTION IF EXISTS audit_log_append_only()",
    "DROP TRIGGER IF EXISTS timeline_entries_append_only ON timeline_entries",
    "DROP FUNCTION IF EXISTS timeline_entries_append_only()",
]
# SQLite (the embedded default): the same rule with RAISE(ABORT); UPDATE OF names the guarded columns.
_TIMELINE_FIXED = "id, case_id, message_id, occurred_at, kind, channel_kind, actor, ref, summary, recorded_at"
_AUDIT_FIXED = "id, at, actor_user_id, actor, action, target_type, target_id, ip"
SQLITE_UP = [
    "CREATE TRIGGER timeline_entries_no_delete BEFORE DELETE ON timeline_entries "
    "BEGIN SELECT RAISE(ABORT, 'timeline_entries is append-only: DELETE refused'); END",
    f"CREATE TRIGGER timeline_entries_no_update BEFORE UPDATE OF {_TIMELINE_FIXED} ON timeline_entries "
    "BEGIN SELECT RAISE(ABORT, 'timeline_entries is append-only: UPDATE refused'); END",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused'); END",
    f"CREATE TRIGGER audit_log_no_update BEFORE UPDATE OF {_AUDIT_FIXED} ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused'); END",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS audit_log_no_update",
    "DROP TRIGGER IF EXISTS audit_log_no_delete",
    "DROP TRIGGER IF EXISTS timeline_entries_no_update",
    "DROP TRIGGER IF EXISTS timeline_entries_no_delete",
]


def upgrade() -> None:
    op.create_table('timeline_entries',
    sa.Column('id', centralino.storage.types.Id, nullable=False),
    sa.Column('contact_id', centralino.storage.types.Id, nullable=True),
    sa.Column('case_id', centralino.storage.types.Id, nullable=True),
    sa.Column('conversation_id', centralino.storage.types.Id, nullable=True),
    sa.Column('message_id', centralino.storage.types.Id, nullable=True),
    sa.Column('occurred_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('channel_kind', sa.String(length=32), nullable=True),
    sa.Column('actor', sa.String(length=64), nullable=True),
    sa.Column('ref', sa.String(length=64), nullable=True),
    sa.Column('summary', centralino.storage.types.Json, nullable=False),
    sa.Column('recorded_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_timeline_entries_contact_id_contacts')),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'],
                            name=op.f('fk_timeline_entries_conversation_id_conversations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_timeline_entries'))
    )
    op.create_index('ix_timeline_entries_contact', 'timeline_entries', ['contact_id', 'occurred_at', 'id'],
                    unique=False)
    op.create_index('ix_timeline_entries_case', 'timeline_entries', ['case_id', 'occurred_at', 'id'], unique=False,
                    postgresql_where=sa.text('case_id IS NOT NULL'), sqlite_where=sa.text('case_id IS NOT NULL'))
    op.create_index('ix_timeline_entries_conversation', 'timeline_entries', ['conversation_id', 'occurred_at', 'id'],
                    unique=False)
    op.create_index('ix_timeline_entries_message', 'timeline_entries', ['message_id'], unique=False)
    for statement in PG_UP if op.get_bind().dialect.name == "postgresql" else SQLITE_UP:
        op.execute(statement)


def downgrade() -> None:
    for statement in PG_DOWN if op.get_bind().dialect.name == "postgresql" else SQLITE_DOWN:
        op.execute(statement)
    op.drop_index('ix_timeline_entries_message', table_name='timeline_entries')
    op.drop_index('ix_timeline_entries_conversation', table_name='timeline_entries')
    op.drop_index('ix_timeline_entries_case', table_name='timeline_entries')
    op.drop_index('ix_timeline_entries_contact', table_name='timeline_entries')
    op.drop_table('timeline_entries')

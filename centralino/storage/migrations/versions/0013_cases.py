"""cases, case types and workflows, tasks, hand-offs (issue 7)

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-25 19:25:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import centralino.storage.types

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('case_counters',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last_value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_case_counters'))
    )
    op.create_table('case_types',
    sa.Column('id', centralino.storage.types.Id, nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('definition', centralino.storage.types.Json, nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_types')),
    sa.UniqueConstraint('key', name=op.f('uq_case_types_key'))
    )
    op.create_table('cases',
    sa.Column('id', centralino.storage.types.Id, nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('case_type_id', centralino.storage.types.Id, nullable=False),
    sa.Column('status', sa.String(length=64), nullable=False),
    sa.Column('priority', sa.String(length=16), nullable=False),
    sa.Column('owner_user_id', centralino.storage.types.Id, nullable=True),
    sa.Column('department_id', centralino.storage.types.Id, nullable=True),
    sa.Column('contact_id', centralino.storage.types.Id, nullable=True),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('fields', centralino.storage.types.Json, nullable=False),
    sa.Column('tags', centralino.storage.types.Json, nullable=False),
    sa.Column('due_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('first_response_due_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('first_responded_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolution_due_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('open_department_id', centralino.storage.types.Id, nullable=True),
    sa.Column('work_due_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_type_id'], ['case_types.id'], name=op.f('fk_cases_case_type_id_case_types')),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_cases_contact_id_contacts')),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_cases_department_id_departments')),
    sa.ForeignKeyConstraint(['owner_user_id'], ['users.id'], name=op.f('fk_cases_owner_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cases')),
    sa.UniqueConstraint('number', name=op.f('uq_cases_number'))
    )
    op.create_index('ix_cases_contact', 'cases', ['contact_id', 'created_at'], unique=False)
    op.create_index('ix_cases_department', 'cases', ['department_id', 'updated_at'], unique=False)
    op.create_index('ix_cases_owner', 'cases', ['owner_user_id', 'status'], unique=False)
    op.create_index('ix_cases_updated', 'cases', ['updated_at'], unique=False)
    op.create_index('ix_cases_work', 'cases', ['open_department_id', 'work_due_at', 'id'], unique=False)
    op.create_table('case_links',
    sa.Column('id', centralino.storage.types.Id, nullable=False),
    sa.Column('case_id', centralino.storage.types.Id, nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('ref_id', centralino.storage.types.Id, nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_links_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_links')),
    sa.UniqueConstraint('case_id', 'kind', 'ref_id', name=op.f('uq_case_links_case_id_kind_ref_id'))
    )
    op.create_index('ix_case_links_ref', 'case_links', ['kind', 'ref_id'], unique=False)
    op.create_table('tasks',
    sa.Column('id', centralino.storage.types.Id, nullable=False),
    sa.Column('case_id', centralino.storage.types.Id, nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('department_id', centralino.storage.types.Id, nullable=True),
    sa.Column('assignee_user_id', centralino.storage.types.Id, nullable=True),
    sa.Column('due_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sla_due_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('checklist', centralino.storage.types.Json, nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('open_department_id', centralino.storage.types.Id, nullable=True),
    sa.Column('work_due_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assignee_user_id'], ['users.id'], name=op.f('fk_tasks_assignee_user_id_users')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_tasks_case_id_cases')),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_tasks_department_id_departments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tasks'))
    )
    op.create_index('ix_tasks_assignee', 'tasks', ['assignee_user_id', 'status'], unique=False)
    op.create_index('ix_tasks_case', 'tasks', ['case_id'], unique=False)
    op.create_index('ix_tasks_department', 'tasks', ['department_id', 'case_id'], unique=False)
    op.create_index('ix_tasks_work', 'tasks', ['open_department_id', 'work_due_at', 'id'], unique=False)
    op.create_table('case_sla_timers',
    sa.Column('id', centralino.storage.types.Id, nullable=False),
    sa.Column('timer_key', sa.String(length=64), nullable=False),
    sa.Column('case_id', centralino.storage.types.Id, nullable=False),
    sa.Column('task_id', centralino.storage.types.Id, nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('started_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('warn_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('due_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('warned_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('breached_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('stopped_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('next_check_at', centralino.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_sla_timers_case_id_cases')),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_case_sla_timers_task_id_tasks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_sla_timers')),
    sa.UniqueConstraint('timer_key', name=op.f('uq_case_sla_timers_timer_key'))
    )
    op.create_index('ix_case_sla_timers_case', 'case_sla_timers', ['case_id'], unique=False)
    op.create_index('ix_case_sla_timers_next', 'case_sla_timers', ['next_check_at'], unique=False)
    op.create_table('handoffs',
    sa.Column('id', centralino.storage.types.Id, nullable=False),
    sa.Column('case_id', centralino.storage.types.Id, nullable=False),
    sa.Column('task_id', centralino.storage.types.Id, nullable=True),
    sa.Column('from_department_id', centralino.storage.types.Id, nullable=True),
    sa.Column('to_department_id', centralino.storage.types.Id, nullable=True),
    sa.Column('by_user_id', centralino.storage.types.Id, nullable=True),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('at', centralino.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('held_seconds', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['by_user_id'], ['users.id'], name=op.f('fk_handoffs_by_user_id_users')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_handoffs_case_id_cases')),
    sa.ForeignKeyConstraint(['from_department_id'], ['departments.id'], name=op.f('fk_handoffs_from_department_id_departments')),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_handoffs_task_id_tasks')),
    sa.ForeignKeyConstraint(['to_department_id'], ['departments.id'], name=op.f('fk_handoffs_to_department_id_departments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_handoffs'))
    )
    op.create_index('ix_handoffs_case', 'handoffs', ['case_id', 'at'], unique=False)
    op.create_index('ix_handoffs_task', 'handoffs', ['task_id', 'at'], unique=False)
    op.create_table('task_dependencies',
    sa.Column('task_id', centralino.storage.types.Id, nullable=False),
    sa.Column('depends_on_task_id', centralino.storage.types.Id, nullable=False),
    sa.ForeignKeyConstraint(['depends_on_task_id'], ['tasks.id'], name=op.f('fk_task_dependencies_depends_on_task_id_tasks')),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_task_dependencies_task_id_tasks')),
    sa.PrimaryKeyConstraint('task_id', 'depends_on_task_id', name=op.f('pk_task_dependencies'))
    )
    op.create_index('ix_task_dependencies_depends_on', 'task_dependencies', ['depends_on_task_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_task_dependencies_depends_on', table_name='task_dependencies')
    op.drop_table('task_dependencies')
    op.drop_index('ix_handoffs_task', table_name='handoffs')
    op.drop_index('ix_handoffs_case', table_name='handoffs')
    op.drop_table('handoffs')
    op.drop_index('ix_case_sla_timers_next', table_name='case_sla_timers')
    op.drop_index('ix_case_sla_timers_case', table_name='case_sla_timers')
    op.drop_table('case_sla_timers')
    op.drop_index('ix_tasks_work', table_name='tasks')
    op.drop_index('ix_tasks_department', table_name='tasks')
    op.drop_index('ix_tasks_case', table_name='tasks')
    op.drop_index('ix_tasks_assignee', table_name='tasks')
    op.drop_table('tasks')
    op.drop_index('ix_case_links_ref', table_name='case_links')
    op.drop_table('case_links')
    op.drop_index('ix_cases_work', table_name='cases')
    op.drop_index('ix_cases_updated', table_name='cases')
    op.drop_index('ix_cases_owner', table_name='cases')
    op.drop_index('ix_cases_department', table_name='cases')
    op.drop_index('ix_cases_contact', table_name='cases')
    op.drop_table('cases')
    op.drop_table('case_types')
    op.drop_table('case_counters')

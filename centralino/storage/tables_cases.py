"""Tables for cases, case types and workflows, tasks, hand-offs (issue 7, docs/cases.md).

Same metadata as storage/tables.py; schema changes go through Alembic (0013_cases.py)."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint

from centralino.storage.tables import metadata
from centralino.storage.types import Id, Json, UTCDateTime

case_types = Table(
    "case_types",
    metadata,
    Column("id", Id, primary_key=True),
    Column("key", String(64), nullable=False, unique=True),
    # The whole definition (domain/cases.py case_type_to_dict): names, workflow, fields, priority, SLA.
    Column("definition", Json, nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

case_counters = Table(
    "case_counters",
    metadata,
    # One row per year: the case number's sequence (C-2026-000123). Taken with UPDATE … last_value + 1 in the
    # creating transaction, so concurrent creations queue on the row and never share a number.
    Column("year", Integer, primary_key=True, autoincrement=False),
    Column("last_value", Integer, nullable=False),
)

cases = Table(
    "cases",
    metadata,
    Column("id", Id, primary_key=True),
    Column("number", String(32), nullable=False, unique=True),
    Column("case_type_id", Id, ForeignKey("case_types.id"), nullable=False),
    Column("status", String(64), nullable=False),
    Column("priority", String(16), nullable=False),
    Column("owner_user_id", Id, ForeignKey("users.id")),
    Column("department_id", Id, ForeignKey("departments.id")),
    Column("contact_id", Id, ForeignKey("contacts.id")),
    Column("title", String(300), nullable=False),
    Column("fields", Json, nullable=False),
    Column("tags", Json, nullable=False),
    Column("due_at", UTCDateTime),
    Column("created_by", String(64), nullable=False),  # the actor (user:<id>, integration, automation …)
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime),
    # SLA (business time of the type's calendar): due times, and when the first response / resolution came.
    Column("first_response_due_at", UTCDateTime),
    Column("first_responded_at", UTCDateTime),
    Column("resolution_due_at", UTCDateTime),
    # The department work list: = department_id while the case is open, null once closed, with the earliest
    # of its due date and SLA due times (far future when none): one index answers "open work by due time".
    Column("open_department_id", Id),
    Column("work_due_at", UTCDateTime, nullable=False),
    Index("ix_cases_contact", "contact_id", "created_at"),
    Index("ix_cases_work", "open_department_id", "work_due_at", "id"),
    Index("ix_cases_owner", "owner_user_id", "status"),
    Index("ix_cases_department", "department_id", "updated_at"),
    Index("ix_cases_updated", "updated_at"),
)

case_links = Table(
    "case_links",
    metadata,
    # What a case is about: conversations, messages, emails, calls (ref_id: that item's id), any channel.
    Column("id", Id, primary_key=True),
    Column("case_id", Id, ForeignKey("cases.id"), nullable=False),
    Column("kind", String(16), nullable=False),  # conversation | message | email | call
    Column("ref_id", Id, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("case_id", "kind", "ref_id"),
    Index("ix_case_links_ref", "kind", "ref_id"),
)

tasks = Table(
    "tasks",
    metadata,
    Column("id", Id, primary_key=True),
    Column("case_id", Id, ForeignKey("cases.id"), nullable=False),
    Column("title", String(300), nullable=False),
    Column("department_id", Id, ForeignKey("departments.id")),  # its queue
    Column("assignee_user_id", Id, ForeignKey("users.id")),
    Column("due_at", UTCDateTime),
    Column("sla_due_at", UTCDateTime),  # its SLA timer's due time: due_at, or the type's task target
    Column("checklist", Json, nullable=False),  # [{"text": …, "done": false}]
    Column("status", String(16), nullable=False),  # open | in_progress | blocked | done | cancelled
    Column("created_by", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("started_at", UTCDateTime),
    Column("finished_at", UTCDateTime),
    # As on cases: department_id while unfinished (null once done/cancelled) and sla_due_at or far future.
    Column("open_department_id", Id),
    Column("work_due_at", UTCDateTime, nullable=False),
    Index("ix_tasks_work", "open_department_id", "work_due_at", "id"),
    Index("ix_tasks_case", "case_id"),
    Index("ix_tasks_assignee", "assignee_user_id", "status"),
    # visibility: the cases with a task in the principal's departments (storage/cases.py visible_cases)
    Index("ix_tasks_department", "department_id", "case_id"),
)

task_dependencies = Table(
    "task_dependencies",
    metadata,
    # task_id cannot start or be done before depends_on_task_id is done (cycles refused on insert).
    Column("task_id", Id, ForeignKey("tasks.id"), primary_key=True),
    Column("depends_on_task_id", Id, ForeignKey("tasks.id"), primary_key=True),
    Index("ix_task_dependencies_depends_on", "depends_on_task_id"),
)

handoffs = Table(
    "handoffs",
    metadata,
    # Every move of a case or a task between departments (escalation or reassignment): who, when, why, and
    # how long the previous department held it (seconds since it got it, or since creation).
    Column("id", Id, primary_key=True),
    Column("case_id", Id, ForeignKey("cases.id"), nullable=False),
    Column("task_id", Id, ForeignKey("tasks.id")),  # null: the case itself
    Column("from_department_id", Id, ForeignKey("departments.id")),
    Column("to_department_id", Id, ForeignKey("departments.id")),
    Column("by_user_id", Id, ForeignKey("users.id")),
    Column("actor", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("held_seconds", Integer, nullable=False),
    Index("ix_handoffs_case", "case_id", "at"),
    Index("ix_handoffs_task", "task_id", "at"),
)

case_sla_timers = Table(
    "case_sla_timers",
    metadata,
    # One timer per case target (first_response, resolution) and per task (task): warned_at / breached_at
    # are set once, so the events fire once; next_check_at (null once breached or stopped) drives the worker.
    Column("id", Id, primary_key=True),
    Column("timer_key", String(64), nullable=False, unique=True),  # case:<id>:<kind> | task:<id>
    Column("case_id", Id, ForeignKey("cases.id"), nullable=False),
    Column("task_id", Id, ForeignKey("tasks.id")),
    Column("kind", String(16), nullable=False),  # first_response | resolution | task
    Column("started_at", UTCDateTime, nullable=False),
    Column("warn_at", UTCDateTime, nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("warned_at", UTCDateTime),
    Column("breached_at", UTCDateTime),
    Column("stopped_at", UTCDateTime),
    Column("next_check_at", UTCDateTime),
    Index("ix_case_sla_timers_next", "next_check_at"),
    Index("ix_case_sla_timers_case", "case_id"),
)

"""Automation rules, their execution log and webhook outbox; customer case-update settings and log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, or_, select, update

from centralino.storage.tables_automation import (
    automation_executions,
    automation_rules,
    automation_webhooks,
    case_update_settings,
    case_updates,
)

ar = automation_rules.c
ae = automation_executions.c
aw = automation_webhooks.c


# --- rules ------------------------------------------------------------------------------------------------

def insert_rule(conn: Connection, values: dict[str, Any]) -> int:
    return int(conn.execute(insert(automation_rules).values(**values).returning(ar.id)).scalar_one())


def update_rule(conn: Connection, rule_id: int, values: dict[str, Any]) -> bool:
    return bool(conn.execute(update(automation_rules).where(ar.id == rule_id).values(**values)).rowcount)


def delete_rule(conn: Connection, rule_id: int) -> bool:
    conn.execute(delete(automation_webhooks).where(aw.rule_id == rule_id))
    conn.execute(delete(automation_executions).where(ae.rule_id == rule_id))
    return bool(conn.execute(delete(automation_rules).where(ar.id == rule_id)).rowcount)


def get_rule(conn: Connection, rule_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(automation_rules).where(ar.id == rule_id)).mappings().first()
    return dict(row) if row is not None else None


def list_rules(conn: Connection, *, trigger: str | None = None, enabled: bool | None = None) -> list[dict[str, Any]]:
    stmt = select(automation_rules).order_by(ar.trigger, ar.position, ar.id)
    if trigger is not None:
        stmt = stmt.where(ar.trigger == trigger)
    if enabled is not None:
        stmt = stmt.where(ar.enabled.is_(enabled))
    return [dict(r) for r in conn.execute(stmt).mappings()]


def enabled_triggers(conn: Connection) -> frozenset[str]:
    return frozenset(conn.execute(select(ar.trigger).where(ar.enabled.is_(True)).distinct()).scalars())


# --- executions -------------------------------------------------------------------------------------------

def insert_execution(conn: Connection, values: dict[str, Any]) -> int:
    return int(conn.execute(insert(automation_executions).values(**values).returning(ae.id)).scalar_one())


def update_execution(conn: Connection, execution_id: int, values: dict[str, Any]) -> None:
    conn.execute(update(automation_executions).where(ae.id == execution_id).values(**values))


def executions_page(conn: Connection, *, rule_id: int | None, matched: bool | None, before_id: int | None,
                    limit: int) -> list[dict[str, Any]]:
    """Newest first; `before_id` is the cursor (the last id of the previous page)."""
    stmt = select(automation_executions, ar.name.label("rule_name")).join(automation_rules, ar.id == ae.rule_id)
    if rule_id is not None:
        stmt = stmt.where(ae.rule_id == rule_id)
    if matched is not None:
        stmt = stmt.where(ae.matched.is_(matched))
    if before_id is not None:
        stmt = stmt.where(ae.id < before_id)
    return [dict(r) for r in conn.execute(stmt.order_by(ae.id.desc()).limit(limit)).mappings()]


# --- webhook outbox ---------------------------------------------------------------------------------------

def enqueue_webhook(conn: Connection, values: dict[str, Any]) -> int:
    return int(conn.execute(insert(automation_webhooks).values(**values).returning(aw.id)).scalar_one())


def claim_due_webhooks(conn: Connection, now: datetime, lease_until: datetime, limit: int) -> list[Any]:
    rows = conn.execute(
        select(automation_webhooks).where(
            aw.state == "pending", aw.next_attempt_at <= now, or_(aw.claimed_until.is_(None), aw.claimed_until < now))
        .order_by(aw.next_attempt_at, aw.id).limit(limit)).mappings().all()
    taken = []
    for row in rows:  # a conditional update: of two workers, one gets it
        claimed = conn.execute(update(automation_webhooks).where(
            aw.id == row["id"], aw.state == "pending",
            or_(aw.claimed_until.is_(None), aw.claimed_until < now)).values(claimed_until=lease_until))
        if claimed.rowcount:
            taken.append(row)
    return taken


def webhook_done(conn: Connection, webhook_id: int, values: dict[str, Any]) -> None:
    conn.execute(update(automation_webhooks).where(aw.id == webhook_id).values(claimed_until=None, **values))


def webhooks_of(conn: Connection, rule_id: int) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(select(automation_webhooks).where(aw.rule_id == rule_id)
                                          .order_by(aw.id)).mappings()]


# --- case updates -----------------------------------------------------------------------------------------

def case_update_setting(conn: Connection, case_type: str) -> dict[str, Any] | None:
    row = conn.execute(select(case_update_settings).where(case_update_settings.c.case_type == case_type)
                       ).mappings().first()
    return dict(row) if row is not None else None


def all_case_update_settings(conn: Connection) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(select(case_update_settings).order_by(case_update_settings.c.case_type))
            .mappings()]


def save_case_update_setting(conn: Connection, values: dict[str, Any]) -> None:
    cus = case_update_settings.c
    if conn.execute(update(case_update_settings).where(cus.case_type == values["case_type"])
                    .values(**values)).rowcount == 0:
        conn.execute(insert(case_update_settings).values(**values))


def insert_case_update(conn: Connection, values: dict[str, Any]) -> int:
    return int(conn.execute(insert(case_updates).values(**values).returning(case_updates.c.id)).scalar_one())


def case_updates_of(conn: Connection, case_id: int) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(select(case_updates).where(case_updates.c.case_id == case_id)
                                          .order_by(case_updates.c.id)).mappings()]

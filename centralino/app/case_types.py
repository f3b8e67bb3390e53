"""Case types (administrators): create, update, deactivate, each validated as a whole (domain/cases.py) and
stored as one JSON definition; the default types are seeded on first use. docs/cases.md."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from centralino.app.unit_of_work import unit_of_work
from centralino.domain.access import Principal
from centralino.domain.case_defaults import DEFAULT_CASE_TYPES
from centralino.domain.cases import CaseType, case_type_to_dict, parse_case_type
from centralino.errors import Conflict, Forbidden, InvalidInput, NotFound
from centralino.events.bus import EventBus
from centralino.storage import cases as repo
from centralino.storage.tables import departments
from centralino.storage.tables_cases import case_types


def _utcnow() -> datetime:
    return datetime.now(UTC)


def ensure_default_types(conn: Connection, now: datetime) -> None:
    """Seed the default types when there are none at all (a fresh installation's first use). Two first uses at
    once insert each key once (ON CONFLICT DO NOTHING on the unique key)."""
    if conn.execute(select(func.count()).select_from(case_types)).scalar_one():
        return
    make = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    for data in DEFAULT_CASE_TYPES:
        conn.execute(make(case_types).values(
            key=data["key"], definition=case_type_to_dict(parse_case_type(data)), active=True, created_at=now,
            updated_at=now).on_conflict_do_nothing(index_elements=["key"]))


def load_case_type(conn: Connection, case_type_id: int) -> CaseType:
    row = repo.case_type_row(conn, case_type_id)
    if row is None:
        raise NotFound(f"no case type {case_type_id}", field="case_type_id")
    return parse_case_type(row["definition"])


def case_type_out(row: Any) -> dict[str, Any]:
    return {"id": int(row["id"]), "key": row["key"], "active": bool(row["active"]), **row["definition"],
            "created_at": row["created_at"], "updated_at": row["updated_at"]}


def check_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("only administrators manage case types", code="case_types.forbidden")


def check_departments_exist(conn: Connection, case_type: CaseType) -> None:
    for i, action in enumerate(case_type.sla.escalation):
        if action.department_id is not None and conn.execute(
                select(departments.c.id).where(departments.c.id == action.department_id)).scalar() is None:
            raise InvalidInput(f"no department {action.department_id}", field=f"sla.escalation[{i}].department_id")


class CaseTypeAdmin:
    def __init__(self, engine: Engine, bus: EventBus | None, *, clock: Callable[[], datetime] = _utcnow) -> None:
        self.engine = engine
        self.bus = bus
        self.clock = clock

    def list_types(self, *, include_inactive: bool = False) -> list[dict[str, Any]]:
        """Every user may read the types (they pick one when opening a case)."""
        with self.engine.connect() as conn:
            seeded = conn.execute(select(func.count()).select_from(case_types)).scalar_one() > 0
        if not seeded:  # the write transaction only on a fresh installation's first read
            with unit_of_work(self.engine, None) as uow:
                ensure_default_types(uow.conn, self.clock())
        stmt = select(case_types).order_by(case_types.c.id)
        if not include_inactive:
            stmt = stmt.where(case_types.c.active.is_(True))
        with self.engine.connect() as conn:
            return [case_type_out(r) for r in conn.execute(stmt).mappings()]

    def get_type(self, case_type_id: int) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = repo.case_type_row(conn, case_type_id)
        if row is None:
            raise NotFound(f"no case type {case_type_id}")
        return case_type_out(row)

    def do_create_type(self, principal: Principal, definition: dict[str, Any]) -> dict[str, Any]:
        check_admin(principal)
        parsed = parse_case_type(definition)
        now = self.clock()
        with unit_of_work(self.engine, self.bus) as uow:
            ensure_default_types(uow.conn, now)
            check_departments_exist(uow.conn, parsed)
            if repo.case_type_by_key(uow.conn, parsed.key) is not None:
                raise Conflict(f"a case type {parsed.key} exists", code="case_types.key_taken", field="key")
            type_id = int(uow.conn.execute(insert(case_types).values(
                key=parsed.key, definition=case_type_to_dict(parsed), active=True, created_at=now, updated_at=now)
                .returning(case_types.c.id)).scalar_one())
            uow.emit("case_type.saved", case_type_id=type_id, key=parsed.key, actor=principal.actor)
            return case_type_out(repo.case_type_row(uow.conn, type_id))

    def do_update_type(self, principal: Principal, case_type_id: int, definition: dict[str, Any]) -> dict[str, Any]:
        """Replace the definition (the key stays). Statuses that cases are in must stay in the workflow."""
        check_admin(principal)
        with unit_of_work(self.engine, self.bus) as uow:
            row = repo.case_type_row(uow.conn, case_type_id)
            if row is None:
                raise NotFound(f"no case type {case_type_id}")
            parsed = parse_case_type({**definition, "key": row["key"]})
            check_departments_exist(uow.conn, parsed)
            used = set(uow.conn.execute(select(repo.ca.status).distinct()
                                        .where(repo.ca.case_type_id == case_type_id)).scalars())
            missing = sorted(used - set(parsed.workflow.statuses))
            if missing:
                raise InvalidInput(f"cases are in {', '.join(missing)}: keep these statuses",
                                   field="workflow.statuses")
            active = definition.get("active", row["active"])
            if not isinstance(active, bool):
                raise InvalidInput("active is true or false", field="active")
            uow.conn.execute(update(case_types).where(case_types.c.id == case_type_id).values(
                definition=case_type_to_dict(parsed), active=active, updated_at=self.clock()))
            uow.emit("case_type.saved", case_type_id=case_type_id, key=parsed.key, actor=principal.actor)
            return case_type_out(repo.case_type_row(uow.conn, case_type_id))

    def do_deactivate_type(self, principal: Principal, case_type_id: int) -> dict[str, Any]:
        """No new cases of this type; existing ones carry on with its workflow."""
        check_admin(principal)
        with unit_of_work(self.engine, self.bus) as uow:
            if repo.case_type_row(uow.conn, case_type_id) is None:
                raise NotFound(f"no case type {case_type_id}")
            uow.conn.execute(update(case_types).where(case_types.c.id == case_type_id)
                             .values(active=False, updated_at=self.clock()))
            uow.emit("case_type.deactivated", case_type_id=case_type_id, actor=principal.actor)
            return case_type_out(repo.case_type_row(uow.conn, case_type_id))

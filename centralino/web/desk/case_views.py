"""What the case pages show, read straight from the case tables (storage/tables_cases.py) into plain dicts
for the templates: a case with its tasks, links, hand-offs and time held per department; list and work rows
with their SLA risk. Reading only; every change goes through app/cases.py and app/case_tasks.py.

Visibility is decided by the caller (case_pages.py) before anything here is read for a user."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from centralino.domain.case_tasks import TASK_TRANSITIONS, TaskStatus
from centralino.domain.cases import CaseType, parse_case_type
from centralino.storage.tables import contacts, departments, messages, users
from centralino.storage.tables_cases import (
    case_links,
    case_sla_timers,
    case_types,
    cases,
    handoffs,
    task_dependencies,
    tasks,
)

PRIORITIES = ("low", "normal", "high", "urgent")
# Without an SLA timer's own warning time, work due within this long counts as at risk.
AT_RISK_WITHIN = timedelta(hours=1)
FAR_FUTURE_YEAR = 9000  # work_due_at of work without any due time (storage's "far future")


def localized(names: Any, lang: str) -> str:
    if isinstance(names, dict):
        return str(names.get(lang) or names.get("en") or next(iter(names.values()), ""))
    return str(names or "")


def humanize(key: str) -> str:
    return key.replace("_", " ").capitalize()


def status_labeler(t: Callable[[str], str]) -> Callable[[str], str]:
    """A case status's words: the desk's own for the standard workflow, else the key made readable."""
    def label(status: str) -> str:
        key = f"case_status.{status}"
        found = t(key)
        return found if found != key else humanize(status)
    return label


def risk_of(due: datetime | None, warn_at: datetime | None, now: datetime) -> str | None:
    if due is None or due.year >= FAR_FUTURE_YEAR:
        return None
    if due <= now:
        return "overdue"
    if (warn_at is not None and warn_at <= now) or due - now <= AT_RISK_WITHIN:
        return "at_risk"
    return "ok"


def held_text(seconds: int | float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m" if minutes else f"{seconds}s"


def department_names(conn: Connection) -> dict[int, str]:
    return {int(r.id): str(r.name) for r in conn.execute(select(departments.c.id, departments.c.name))}


def all_departments(conn: Connection) -> list[dict[str, Any]]:
    return [{"id": int(r.id), "name": r.name}
            for r in conn.execute(select(departments.c.id, departments.c.name).order_by(departments.c.name))]


def active_people(conn: Connection) -> list[dict[str, Any]]:
    return [{"id": int(r.id), "display_name": r.display_name} for r in conn.execute(
        select(users.c.id, users.c.display_name).where(users.c.active.is_(True)).order_by(users.c.display_name))]


def type_rows(conn: Connection, lang: str, *, active_only: bool = True) -> list[dict[str, Any]]:
    stmt = select(case_types).order_by(case_types.c.id)
    if active_only:
        stmt = stmt.where(case_types.c.active.is_(True))
    out = []
    for row in conn.execute(stmt).mappings():
        parsed = parse_case_type(row["definition"])
        out.append({"id": int(row["id"]), "key": row["key"], "name": localized(parsed.name, lang), "type": parsed,
                    "fields": field_defs(parsed, lang), "default_priority": parsed.default_priority.value})
    return out


def field_defs(case_type: CaseType, lang: str) -> list[dict[str, Any]]:
    return [{"key": f.key, "kind": f.kind.value, "label": localized(dict(f.label), lang), "required": f.required,
             "choices": list(f.options)} for f in case_type.fields]


def _people(conn: Connection, ids: Iterable[int | None]) -> dict[int, dict[str, Any]]:
    wanted = sorted({int(i) for i in ids if i is not None})
    if not wanted:
        return {}
    return {int(r.id): {"id": int(r.id), "display_name": r.display_name}
            for r in conn.execute(select(users.c.id, users.c.display_name).where(users.c.id.in_(wanted)))}


def _warnings(conn: Connection, *, case_ids: Iterable[int] = (), task_ids: Iterable[int] = ()) -> dict[str, datetime]:
    """The earliest running SLA warning time per case ("case:<id>", its own timers) and per task ("task:<id>")."""
    t = case_sla_timers.c
    out: dict[str, datetime] = {}
    rows: list[Any] = []
    if case_ids:
        rows += conn.execute(select(t.case_id, t.task_id, t.warn_at).where(
            t.case_id.in_(list(case_ids)), t.task_id.is_(None), t.stopped_at.is_(None))).all()
    if task_ids:
        rows += conn.execute(select(t.case_id, t.task_id, t.warn_at).where(
            t.task_id.in_(list(task_ids)), t.stopped_at.is_(None))).all()
    for row in rows:
        key = f"task:{row.task_id}" if row.task_id is not None else f"case:{row.case_id}"
        if key not in out or row.warn_at < out[key]:
            out[key] = row.warn_at
    return out


def case_detail(conn: Connection, case_id: int, lang: str, now: datetime | None = None) -> dict[str, Any] | None:
    row = conn.execute(select(cases).where(cases.c.id == case_id)).mappings().first()
    if row is None:
        return None
    now = now or datetime.now(UTC)
    type_row = conn.execute(select(case_types).where(case_types.c.id == row["case_type_id"])).mappings().one()
    case_type = parse_case_type(type_row["definition"])
    names = department_names(conn)
    task_rows = [dict(r) for r in conn.execute(select(tasks).where(tasks.c.case_id == case_id)
                                               .order_by(tasks.c.id)).mappings()]
    people = _people(conn, [row["owner_user_id"], *(r["assignee_user_id"] for r in task_rows)])
    warnings = _warnings(conn, case_ids=[case_id])
    case: dict[str, Any] = dict(row)
    case.update(
        type_name=localized(case_type.name, lang), type_key=case_type.key, field_defs=field_defs(case_type, lang),
        transitions=list(case_type.workflow.transitions.get(row["status"], ())),
        closed=row["status"] in case_type.workflow.closed,
        owner=people.get(int(row["owner_user_id"] or 0)),
        department=({"id": int(row["department_id"]), "name": names.get(int(row["department_id"]), "?")}
                    if row["department_id"] is not None else None),
        risk=(risk_of(row["work_due_at"], warnings.get(f"case:{case_id}"), now)
              if row["open_department_id"] is not None else None),
        tags=list(row["tags"] or []), fields=dict(row["fields"] or {}),
        contact_name=_contact_name(conn, row["contact_id"]),
    )
    case["tasks"] = _task_views(conn, task_rows, names, people, now)
    case["links"] = _links(conn, case_id)
    case["handoffs"], case["holding"] = _handoffs(conn, case_id, names, {t["id"]: t["title"] for t in task_rows}, now)
    return case


def _contact_name(conn: Connection, contact_id: int | None) -> str | None:
    if contact_id is None:
        return None
    return conn.execute(select(contacts.c.display_name).where(contacts.c.id == contact_id)).scalar()


def _task_views(conn: Connection, rows: list[dict[str, Any]], names: dict[int, str],
                people: dict[int, dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    ids = [int(r["id"]) for r in rows]
    by_id = {int(r["id"]): r for r in rows}
    deps: dict[int, list[int]] = {}
    if ids:
        for task_id, on in conn.execute(select(task_dependencies.c.task_id, task_dependencies.c.depends_on_task_id)
                                        .where(task_dependencies.c.task_id.in_(ids))):
            deps.setdefault(int(task_id), []).append(int(on))
    warnings = _warnings(conn, task_ids=ids)
    out = []
    for r in rows:
        status = TaskStatus(r["status"])
        depends = [{"id": d, "title": by_id[d]["title"] if d in by_id else "?",
                    "done": d in by_id and TaskStatus(by_id[d]["status"]).finished}
                   for d in sorted(deps.get(r["id"], []))]
        out.append({
            "id": int(r["id"]), "title": r["title"], "status": status.value, "due_at": r["due_at"],
            "transitions": [s.value for s in TaskStatus if s in TASK_TRANSITIONS[status]],
            "department": ({"id": int(r["department_id"]), "name": names.get(int(r["department_id"]), "?")}
                           if r["department_id"] is not None else None),
            "assignee": people.get(int(r["assignee_user_id"] or 0)),
            "checklist": list(r["checklist"] or []), "depends_on": depends,
            "blocked": any(not d["done"] for d in depends) and not status.finished,
            "risk": (risk_of(r["work_due_at"], warnings.get(f"task:{r['id']}"), now)
                     if r["open_department_id"] is not None else None),
        })
    return out


def _links(conn: Connection, case_id: int) -> list[dict[str, Any]]:
    rows = [dict(r) for r in conn.execute(select(case_links).where(case_links.c.case_id == case_id)
                                          .order_by(case_links.c.id)).mappings()]
    message_ids = [int(r["ref_id"]) for r in rows if r["kind"] == "message"]
    found = {int(m.id): m for m in conn.execute(
        select(messages.c.id, messages.c.conversation_id, messages.c.text, messages.c.type)
        .where(messages.c.id.in_(message_ids)))} if message_ids else {}
    out = []
    for r in rows:
        link = {"kind": r["kind"], "ref_id": int(r["ref_id"]), "url": None, "excerpt": None}
        if r["kind"] == "conversation":
            link["url"] = f"/desk/conversations/{int(r['ref_id'])}"
        elif r["kind"] == "message" and int(r["ref_id"]) in found:
            m = found[int(r["ref_id"])]
            link["url"] = f"/desk/conversations/{int(m.conversation_id)}#message-{int(m.id)}"
            link["excerpt"] = m.text or f"[{m.type}]"
        out.append(link)
    return out


def _handoffs(conn: Connection, case_id: int, names: dict[int, str], task_titles: dict[int, str],
              now: datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rows = [dict(r) for r in conn.execute(select(handoffs).where(handoffs.c.case_id == case_id)
                                          .order_by(handoffs.c.at, handoffs.c.id)).mappings()]
    people = _people(conn, [r["by_user_id"] for r in rows])
    held: dict[int, int] = {}
    out = []
    for r in rows:
        if r["from_department_id"] is not None:
            held[int(r["from_department_id"])] = held.get(int(r["from_department_id"]), 0) + int(r["held_seconds"])
        what = (f"#{r['task_id']} {task_titles.get(int(r['task_id']), '')}".strip() if r["task_id"] is not None
                else None)
        out.append({"at": r["at"], "task_id": r["task_id"], "what": what,
                    "from_name": names.get(int(r["from_department_id"])) if r["from_department_id"] else None,
                    "to_name": names.get(int(r["to_department_id"])) if r["to_department_id"] else None,
                    "by_name": (people.get(int(r["by_user_id"])) or {}).get("display_name") if r["by_user_id"]
                    else None, "reason": r["reason"], "held": held_text(r["held_seconds"])})
    holding = [{"name": names.get(d, "?"), "held": held_text(s)} for d, s in sorted(held.items(), key=lambda x: -x[1])]
    return out, holding


def case_warnings(conn: Connection, case_ids: list[int]) -> dict[str, datetime]:
    return _warnings(conn, case_ids=case_ids)


def task_warnings(conn: Connection, task_ids: list[int]) -> dict[str, datetime]:
    return _warnings(conn, task_ids=task_ids)


def cases_of_conversation(conn: Connection, conversation_id: int) -> list[int]:
    """Cases linked to the conversation itself or to one of its messages."""
    cl = case_links.c
    by_message = select(cl.case_id).join(messages, messages.c.id == cl.ref_id).where(
        cl.kind == "message", messages.c.conversation_id == conversation_id)
    direct = select(cl.case_id).where(cl.kind == "conversation", cl.ref_id == conversation_id)
    return sorted({int(i) for i in conn.execute(direct.union(by_message)).scalars()})


def translate(lang: str, key: str) -> str:
    from centralino.web.desk.i18n import translator
    return translator(lang)(key)


def task_status_label(lang: str) -> Callable[[str], str]:
    from centralino.web.desk.i18n import translator
    t = translator(lang)
    return lambda status: t(f"tasks.status.{status}")

"""The case page's story: the case's timeline (app/timeline_read.py case_timeline: its own entries and those
of the conversations and messages linked to it, on every channel) as one line per entry, oldest at the top so
it reads top to bottom. Entries carry ids and statuses only; names, status words and message text are joined
here for the reader (messages' text from the timeline read, escaped by the template)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

from centralino.app.timeline_read import case_timeline, check_filters
from centralino.domain.access import Principal
from centralino.web.desk import case_views as views

STORY_PAGE = 100


def _id(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def case_story(conn: Connection, principal: Principal, case_id: int, t: Callable[[str], str],
               cursor: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
    entries, older = case_timeline(conn, principal, case_id, check_filters(None, None, None, None, None),
                                   limit=STORY_PAGE, cursor=cursor)
    names = views.department_names(conn)
    people = {p["id"]: p["display_name"] for p in views.active_people(conn)}
    case_status = views.status_labeler(t)

    def who(actor: str | None) -> str:
        if not actor:
            return ""
        if actor.startswith("user:"):
            return str(people.get(_id(actor[5:]), actor))
        key = f"story.actor.{actor}"
        return t(key) if t(key) != key else actor

    def department(value: Any) -> str:
        return names.get(_id(value), "—") if value is not None else "—"

    lines = []
    for e in reversed(entries):  # oldest first: the page reads top to bottom
        s = e["summary"] or {}
        kind = str(e["kind"])
        detail = ""
        message = e.get("message")
        if message is not None:
            detail = message.get("text") or f"[{message.get('type')}]"
        elif kind in ("case_status_changed",):
            detail = f"{case_status(str(s.get('from')))} → {case_status(str(s.get('to')))}"
        elif kind == "task_status_changed":
            detail = f"{t('tasks.status.' + str(s.get('from')))} → {t('tasks.status.' + str(s.get('to')))}"
        elif kind in ("case_escalated", "task_escalated") or (kind.endswith("_assigned") and "to_department_id" in s):
            detail = f"{department(s.get('from_department_id'))} → {department(s.get('to_department_id'))}"
            if s.get("held_seconds") is not None:
                detail += f" ({views.held_text(s.get('held_seconds'))})"
        elif kind in ("case_assigned", "task_assigned"):
            person = s.get("owner_user_id", s.get("assignee_user_id"))
            detail = str(people.get(_id(person), "—")) if person is not None else department(s.get("department_id"))
        elif kind in ("case_linked", "case_unlinked"):
            detail = f"{t('cases.link.' + str(s.get('kind')))} #{s.get('ref_id')}"
        elif kind == "case_created":
            detail = str(s.get("number") or "")
        elif kind == "case_updated":
            detail = ", ".join(str(f) for f in s.get("fields") or [])
        elif kind.endswith(("sla_warning", "sla_breached", "sla_escalated")):
            detail = str(s.get("sla_kind") or "")
        label_key = f"story.kind.{kind}"
        lines.append({
            "id": int(e["id"]), "at": e["occurred_at"], "kind": kind,
            "label": t(label_key) if t(label_key) != label_key else views.humanize(kind),
            "who": who(e.get("actor")), "detail": detail, "channel": e.get("channel_kind"),
            "task": s.get("task_id"), "conversation_id": e.get("conversation_id"),
            "message_id": message["id"] if message is not None else None,
            "direction": message.get("direction") if message is not None else None,
        })
    return lines, older

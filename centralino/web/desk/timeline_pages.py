"""The customer panel's Timeline (docs/timeline.md): the customer's whole story, newest first, filterable by
group and channel, "load more" by cursor. The panel arrives as a placeholder (it is redrawn live) that
static/timeline.js fills from /desk/contacts/{id}/timeline; older pages come from …/timeline/entries. The same
section for a case: /desk/cases/{id}/timeline (a case page includes the template with `source` set).

Everything is rendered by the templates (autoescaped): message text is the customer's and untrusted."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Connection, select

from centralino.app import timeline_read
from centralino.domain.timeline import GROUPS
from centralino.errors import InvalidInput, NotFound
from centralino.storage.tables import departments, users
from centralino.web.desk.pages import SECURITY_HEADERS, page_principal, render
from centralino.web.principal import services

router = APIRouter(prefix="/desk", include_in_schema=False)
PAGE = 30
CHANNELS = ("whatsapp", "email", "webform", "voice")
USER_KEYS = ("from", "to", "owner_user_id", "assignee_user_id")
DEPARTMENT_KEYS = ("department_id", "from_department_id", "to_department_id")


def _names(conn: Connection, entries: list[dict[str, Any]]) -> tuple[dict[int, str], dict[int, str]]:
    """Users' and departments' names for the ids the page's summaries mention (two small look-ups)."""
    user_ids: set[int] = set()
    department_ids: set[int] = set()
    for e in entries:
        s = e["summary"] or {}
        user_ids |= {int(s[k]) for k in USER_KEYS if isinstance(s.get(k), int) and not isinstance(s.get(k), bool)}
        department_ids |= {int(s[k]) for k in DEPARTMENT_KEYS if isinstance(s.get(k), int)}
    people = {int(r.id): str(r.display_name) for r in conn.execute(
        select(users.c.id, users.c.display_name).where(users.c.id.in_(sorted(user_ids))))} if user_ids else {}
    teams = {int(r.id): str(r.name) for r in conn.execute(
        select(departments.c.id, departments.c.name).where(departments.c.id.in_(sorted(department_ids))))
    } if department_ids else {}
    return people, teams


def entry_view(e: dict[str, Any], people: dict[int, str], teams: dict[int, str]) -> dict[str, Any]:
    """What the template shows: `detail` is a short line from the summary (names, statuses), never free text
    except the escalation reason read from its hand-off (escaped by the template)."""
    s = e["summary"] or {}

    def person(value: Any) -> str:
        return people.get(value, f"#{value}") if isinstance(value, int) else "—"

    def team(value: Any) -> str:
        return teams.get(value, f"#{value}") if isinstance(value, int) else "—"

    kind = e["kind"]
    detail = ""
    if kind == "conversation_assigned":
        detail = f"{person(s.get('from'))} → {person(s.get('to'))}"
    elif kind in ("case_status_changed", "task_status_changed"):
        detail = f"{s.get('from') or '—'} → {s.get('to') or '—'}"
    elif kind.endswith("_escalated") and "to_department_id" in s:
        detail = f"{team(s.get('from_department_id'))} → {team(s.get('to_department_id'))}"
    elif kind in ("case_assigned", "task_assigned"):
        who = s.get("owner_user_id", s.get("assignee_user_id"))
        detail = " · ".join(x for x in (person(who) if who else "", team(s.get("department_id"))
                                        if s.get("department_id") else "") if x)
    elif kind == "consent":
        detail = f"{s.get('purpose')}: {s.get('action')} ({s.get('source')})"
    elif kind in ("notification", "campaign"):
        detail = str(s.get("use_case") or s.get("template") or f"#{s.get('campaign_id')}")
    elif kind == "delivery_failed":
        detail = f"{s.get('error_code') or ''}"
    elif kind in ("case_updated", "task_updated"):
        detail = ", ".join(s.get("fields") or [])
    elif kind == "csat":
        detail = f"{s.get('score')}"
    elif kind == "case_linked":
        detail = f"{s.get('kind')} #{s.get('ref_id')}"
    return {**e, "detail": detail, "case_label": s.get("number") or (f"#{e['case_id']}" if e["case_id"] else "")}


def _page(request: Request, of: str, key: int, kind: str | None, channel: str | None, cursor: str | None) -> dict[
        str, Any] | None:
    """`of`: "contacts" (a customer's story) or "cases" (a case's)."""
    principal = page_principal(request)
    if principal is None:
        return None
    filters = timeline_read.check_filters([kind] if kind else None, channel, None, None, None)
    read = timeline_read.contact_timeline if of == "contacts" else timeline_read.case_timeline
    with services(request).engine.connect() as conn:
        entries, next_cursor = read(conn, principal, key, filters, limit=PAGE, cursor=cursor)
        entries = timeline_read.with_reasons(conn, entries)
        people, teams = _names(conn, entries)
    return {"principal": principal, "entries": [entry_view(e, people, teams) for e in entries],
            "next_cursor": next_cursor, "source": f"/desk/{of}/{key}/timeline", "kind": kind or "",
            "channel": channel or "", "first_page": cursor is None}


def _answer(request: Request, template: str, of: str, key: int, kind: str | None, channel: str | None,
            cursor: str | None) -> Response:
    try:
        context = _page(request, of, key, kind, channel, cursor)
    except NotFound:
        return HTMLResponse("", status_code=404, headers=SECURITY_HEADERS)
    except InvalidInput:
        return HTMLResponse("", status_code=400, headers=SECURITY_HEADERS)
    if context is None:
        return HTMLResponse("", status_code=401, headers=SECURITY_HEADERS)
    return render(request, template, groups=list(GROUPS), channels=CHANNELS, **context)


@router.get("/contacts/{contact_id}/timeline", response_class=HTMLResponse)
def timeline_panel(request: Request, contact_id: int, kind: str | None = Query(None, max_length=40),
                   channel: str | None = Query(None, max_length=32)) -> Response:
    """The whole Timeline section with its first page."""
    return _answer(request, "_timeline_panel.html", "contacts", contact_id, kind, channel, None)


@router.get("/contacts/{contact_id}/timeline/entries", response_class=HTMLResponse)
def timeline_entries(request: Request, contact_id: int, kind: str | None = Query(None, max_length=40),
                     channel: str | None = Query(None, max_length=32),
                     cursor: str | None = Query(None, max_length=400)) -> Response:
    """One more page of entries (and the next "load more")."""
    return _answer(request, "_timeline_entries.html", "contacts", contact_id, kind, channel, cursor)


@router.get("/cases/{case_id}/timeline", response_class=HTMLResponse)
def case_timeline_panel(request: Request, case_id: int, kind: str | None = Query(None, max_length=40),
                        channel: str | None = Query(None, max_length=32)) -> Response:
    """A case's Timeline section (its events, tasks, hand-offs and linked conversations) with its first page;
    a case page includes `_timeline_panel.html` with `source` = this path."""
    return _answer(request, "_timeline_panel.html", "cases", case_id, kind, channel, None)


@router.get("/cases/{case_id}/timeline/entries", response_class=HTMLResponse)
def case_timeline_entries(request: Request, case_id: int, kind: str | None = Query(None, max_length=40),
                          channel: str | None = Query(None, max_length=32),
                          cursor: str | None = Query(None, max_length=400)) -> Response:
    return _answer(request, "_timeline_entries.html", "cases", case_id, kind, channel, cursor)

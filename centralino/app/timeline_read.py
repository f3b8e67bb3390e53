"""Who may read which timeline: a customer's (anyone who may see the customer: one of their conversations)
and a case's (anyone who may see the case). Out of scope is "not found", like everywhere else.

Inside a customer's story, the entries of the customer's conversations the reader may not see, and of cases
the reader may not see, are left out. A case's story shows what was linked to the case (its conversations and
messages) to whoever may see the case: linking is how the front office hands the customer's words on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, case, select

from centralino.domain.access import Principal
from centralino.domain.timeline import GROUPS, KINDS
from centralino.errors import InvalidInput, NotFound
from centralino.storage import timeline_queries as repo
from centralino.storage.tables import contacts, conversations
from centralino.storage.timeline_queries import Filters
from centralino.storage.visibility import visible_conversations

Page = tuple[list[dict[str, Any]], str | None]


def check_filters(kinds: list[str] | None, channel: str | None, case_id: int | None,
                  since: datetime | None, until: datetime | None) -> Filters:
    """`kinds`: entry kinds or groups (messages, conversations, cases, tasks, contact)."""
    wanted: list[str] = []
    for item in kinds or []:
        for name in (part.strip() for part in item.split(",")):
            if not name:
                continue
            if name in GROUPS:
                wanted += GROUPS[name]
            elif name in KINDS:
                wanted.append(name)
            else:
                raise InvalidInput(f"unknown kind {name!r}", field="kind", code="timeline.unknown_kind")
    for value, name in ((since, "since"), (until, "until")):
        if value is not None and value.tzinfo is None:
            raise InvalidInput(f"{name} needs a time zone", field=name)
    if since is not None and until is not None and since >= until:
        raise InvalidInput("since is before until", field="since")
    return Filters(kinds=tuple(wanted), channel_kind=channel or None, case_id=case_id, since=since, until=until)


def contact_timeline(conn: Connection, principal: Principal, contact_id: int, filters: Filters, *, limit: int,
                     cursor: str | None) -> Page:
    if principal.is_admin:  # the page first: only an empty one needs to ask whether the contact exists
        page, next_cursor = repo.contact_page(conn, contact_id, filters, limit=limit, cursor=cursor)
        if not page and conn.execute(select(contacts.c.id).where(contacts.c.id == contact_id)).first() is None:
            raise NotFound(f"no contact {contact_id}", field="contact_id")
        return page, next_cursor
    hidden = _hidden_conversations(conn, principal, contact_id)
    page, next_cursor = repo.contact_page(conn, contact_id, filters, limit=limit, cursor=cursor,
                                          hidden_conversations=hidden)
    return _without_hidden_cases(conn, principal, page), next_cursor


def _hidden_conversations(conn: Connection, principal: Principal, contact_id: int) -> list[int]:
    """The contact's conversations the reader may not see; NotFound when they may see none (or no such contact).
    One query: each conversation of the contact with whether it is visible."""
    cv = conversations.c
    flagged = conn.execute(select(cv.id, case((visible_conversations(principal), True), else_=False))
                           .where(cv.contact_id == contact_id)).all()
    if not any(seen for _, seen in flagged):
        raise NotFound(f"no contact {contact_id}", field="contact_id")
    return sorted(int(conversation_id) for conversation_id, seen in flagged if not seen)


def _without_hidden_cases(conn: Connection, principal: Principal, page: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Case and task entries of cases the reader may not see are dropped from the page (a short page is
    fine: the cursor still moves on). Checked per page: at most one query."""
    case_ids = sorted({int(e["case_id"]) for e in page if e["case_id"] is not None})
    if not case_ids:
        return page
    from centralino.storage import cases as case_repo  # the cases area (issue 7) owns its visibility rule
    from centralino.storage.tables_cases import cases

    seen = {int(i) for i in conn.execute(select(cases.c.id).where(cases.c.id.in_(case_ids),
                                                                  case_repo.visible_cases(principal))).scalars()}
    return [e for e in page if e["case_id"] is None or int(e["case_id"]) in seen]


def case_timeline(conn: Connection, principal: Principal, case_id: int, filters: Filters, *, limit: int,
                  cursor: str | None) -> Page:
    from centralino.storage import cases as case_repo
    from centralino.storage.tables_cases import case_links, cases

    # one query: whether the reader may see the case, and what is linked to it
    found = conn.execute(select(cases.c.id, case_links.c.kind, case_links.c.ref_id)
                         .outerjoin(case_links, case_links.c.case_id == cases.c.id)
                         .where(cases.c.id == case_id, case_repo.visible_cases(principal))).all()
    if not found:
        raise NotFound(f"no case {case_id}", field="case_id")
    conversation_ids = [int(r.ref_id) for r in found if r.kind == "conversation"]
    message_ids = [int(r.ref_id) for r in found if r.kind == "message"]
    return repo.case_page(conn, case_id, Filters(filters.kinds, filters.channel_kind, None, filters.since,
                                                 filters.until),
                          limit=limit, cursor=cursor, conversation_ids=conversation_ids, message_ids=message_ids)


def with_reasons(conn: Connection, page: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each escalation entry gets `reason`, read from its hand-off (agents' words stay in the cases area, where
    an erasure reaches them; the entry only points at it). One query per page, none without hand-offs."""
    wanted = {int(str(e["ref"]).split(":", 1)[1]) for e in page
              if e.get("ref") and str(e["ref"]).startswith("handoff:") and str(e["ref"]).split(":", 1)[1].isdigit()}
    reasons: dict[int, str] = {}
    if wanted:
        from centralino.storage.tables_cases import handoffs

        reasons = {int(r.id): str(r.reason) for r in conn.execute(
            select(handoffs.c.id, handoffs.c.reason).where(handoffs.c.id.in_(sorted(wanted))))}
    for e in page:
        ref = str(e.get("ref") or "")
        number = ref.split(":", 1)[1] if ref.startswith("handoff:") else ""
        e["reason"] = reasons.get(int(number)) if number.isdigit() else None
    return page

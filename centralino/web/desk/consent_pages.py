"""The consent section of the customer panel (templates/_consent_panel.html), as a fragment the panel's
script fetches: the state per purpose with its source and date, the history, the forms to record.

Session only, like every desktop page; a contact none of whose conversations the user may see is 404.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from centralino.domain.consent import Purpose, current_state, decide
from centralino.storage import consent as consent_repo
from centralino.storage import queries
from centralino.storage.visibility import visible_conversations
from centralino.web.desk.pages import SECURITY_HEADERS, page_principal, render
from centralino.web.principal import services

router = APIRouter(prefix="/desk", include_in_schema=False)
SHOWN = (Purpose.MARKETING, Purpose.UTILITY, Purpose.AUTHENTICATION, Purpose.SERVICE)


@router.get("/contacts/{contact_id}/consent", response_class=HTMLResponse)
def consent_section(request: Request, contact_id: int) -> Response:
    principal = page_principal(request)
    if principal is None:
        return HTMLResponse("", status_code=401, headers=SECURITY_HEADERS)
    svc = services(request)
    assert svc.consent is not None
    with svc.engine.connect() as conn:
        if queries.get_contact(conn, contact_id, visible_conversations(principal)) is None:
            return HTMLResponse("", status_code=404, headers=SECURITY_HEADERS)
        state = current_state(consent_repo.records_for(conn, contact_id))
        history = consent_repo.history(conn, contact_id)
    shown: list[dict[str, Any]] = []
    for purpose in SHOWN:
        decision = decide(state, purpose, business_initiated=True, policy=svc.consent.policy)
        shown.append({"purpose": purpose.value, "allowed": decision.allowed, "record": decision.record,
                      "reason": decision.reason})
    for row in history:
        row["keyword"] = (row["evidence"] or {}).get("keyword")
    history.reverse()  # newest first on screen
    return render(request, "_consent_panel.html", principal=principal, contact={"id": contact_id},
                  consent={"state": shown, "history": history, "purposes": [*(p.value for p in SHOWN), "all"]})

"""Contact administration pages (docs/contacts.md): duplicate candidates with merge
(/desk/contacts/duplicates), CSV import with preview and progress plus export (/desk/contacts/import) for
supervisors and administrators, retention policies with the dry run (/desk/contacts/retention) for
administrators. Server-rendered; static/contact_admin.js calls the contact administration API (errors at
the field) and polls an import's job."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from centralino.app.contact_access import SUPERVISING
from centralino.app.contact_admin import ContactAdmin
from centralino.domain.access import Principal
from centralino.errors import InvalidInput
from centralino.web.desk.pages import _to_sign_in, page_principal, render
from centralino.web.principal import services

router = APIRouter(prefix="/desk/contacts", include_in_schema=False)
PAGE = 25
SCRIPT = "contact_admin.js"


def _allowed(request: Request, admin_only: bool = False) -> tuple[Principal, ContactAdmin] | Response:
    principal = page_principal(request)
    if principal is None:
        return _to_sign_in(request)
    admin = services(request).contact_admin
    allowed = principal.is_admin if admin_only else principal.role in SUPERVISING
    if not allowed or admin is None:
        return render(request, "not_found.html", status=404, principal=principal, script=None)
    return principal, admin


@router.get("/duplicates")
def duplicates_page(request: Request, cursor: str | None = None) -> Response:
    found = _allowed(request)
    if isinstance(found, Response):
        return found
    principal, admin = found
    try:
        groups, next_cursor = admin.duplicates(principal, limit=PAGE, cursor=cursor)
    except InvalidInput:  # a cursor from nowhere: the first page
        groups, next_cursor = admin.duplicates(principal, limit=PAGE)
    return render(request, "contacts_duplicates.html", principal=principal, groups=groups, next_cursor=next_cursor,
                  script=SCRIPT)


@router.get("/import")
def import_page(request: Request) -> Response:
    found = _allowed(request)
    if isinstance(found, Response):
        return found
    principal, admin = found
    return render(request, "contacts_import.html", principal=principal, jobs=admin.imports.recent(principal),
                  script=SCRIPT)


@router.get("/retention")
def retention_page(request: Request) -> Response:
    found = _allowed(request, admin_only=True)
    if isinstance(found, Response):
        return found
    principal, admin = found
    return render(request, "contacts_retention.html", principal=principal,
                  policies=admin.retention.policies(principal), runs=admin.retention.runs(principal, limit=20),
                  script=SCRIPT)


@router.get("/gdpr")
def gdpr_page(request: Request) -> Response:
    """Data subjects' requests: export everything about a contact, erase it (typed confirmation), and the
    record of past requests."""
    found = _allowed(request, admin_only=True)
    if isinstance(found, Response):
        return found
    principal, admin = found
    return render(request, "contacts_gdpr.html", principal=principal, requests=admin.gdpr_requests(principal),
                  script=SCRIPT)

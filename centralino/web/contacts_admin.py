"""Contact administration over HTTP (docs/contacts.md): duplicates and merge, CSV export and import jobs, GDPR
export and erasure, retention policies. Thin: the use cases in app/contact_*.py, app/gdpr_*.py and
app/retention.py check roles and input. Included before the contact profile routes, so /contacts/duplicates
is not read as a contact id."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, File, Query, UploadFile
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from centralino.app.contact_admin import ContactAdmin
from centralino.app.contact_csv import MAX_BYTES
from centralino.errors import NotFound
from centralino.web.api import Svc
from centralino.web.principal import CurrentPrincipal, current_principal

router = APIRouter(prefix="/api/v1", dependencies=[Depends(current_principal)], tags=["contact administration"])


def admin_of(svc: Any) -> ContactAdmin:
    if svc.contact_admin is None:
        raise NotFound("contact administration is not configured")
    found: ContactAdmin = svc.contact_admin
    return found


class MergeIn(BaseModel):
    other_contact_id: int


class StartImportIn(BaseModel):
    valid_rows_only: bool = False


class EraseIn(BaseModel):
    confirm: int | None = None  # the contact's id, repeated
    reason: str | None = None


@router.get("/contacts/duplicates")
def list_duplicates(svc: Svc, principal: CurrentPrincipal, limit: Annotated[int, Query(ge=1, le=200)] = 50,
                    cursor: str | None = None) -> dict[str, Any]:
    """Groups of live contacts sharing a phone number (any format, wa_id or phone identity) or an email
    (case-insensitively), ordered by that key; `next_cursor` pages on. Supervisors and administrators."""
    items, next_cursor = admin_of(svc).duplicates(principal, limit=limit, cursor=cursor)
    return {"items": items, "next_cursor": next_cursor}


@router.post("/contacts/{contact_id}/merge")
def merge_contact(svc: Svc, principal: CurrentPrincipal, contact_id: int, body: MergeIn) -> dict[str, Any]:
    """Merge `other_contact_id` into this contact (the survivor): everything re-pointed in one transaction,
    the other kept as a tombstone. Repeating it answers the same merge with `already: true`."""
    return admin_of(svc).merger.do_merge(principal, contact_id, body.other_contact_id)


@router.get("/contacts/export.csv")
def export_contacts(svc: Svc, principal: CurrentPrincipal, q: str | None = None, tag: str | None = None,
                    language: str | None = None) -> StreamingResponse:
    """Contacts as CSV (streamed): id, display_name, phone, email, language, tags, identities, attributes,
    consent_marketing, consent_utility, created_at. The same file imports back."""
    export = admin_of(svc).export
    export.check(principal)
    stamp = datetime.now().strftime("%Y%m%d-%H%M")
    return StreamingResponse(export.lines(principal, q=q, tag=tag, language=language), media_type="text/csv",
                             headers={"Content-Disposition": f'attachment; filename="contacts-{stamp}.csv"',
                                      "X-Content-Type-Options": "nosniff"})


@router.post("/contacts/imports", status_code=201)
def preview_import(svc: Svc, principal: CurrentPrincipal,
                   file: Annotated[UploadFile, File(description="CSV: id, display_name, phone, email, language, "
                                                                "tags, attributes, attr.<key>")]) -> dict[str, Any]:
    """Check the file and keep it as an import job (state `previewed`): per-row errors (row = line in the
    file, column), and how many contacts would be created or updated. Nothing else is written."""
    data = file.file.read(MAX_BYTES + 1)
    return admin_of(svc).imports.do_preview(principal, data, file.filename)


@router.get("/contacts/imports")
def list_imports(svc: Svc, principal: CurrentPrincipal) -> list[dict[str, Any]]:
    return admin_of(svc).imports.recent(principal)


@router.get("/contacts/imports/{job_id}")
def get_import(svc: Svc, principal: CurrentPrincipal, job_id: int) -> dict[str, Any]:
    """The job with its counts (poll it while `running`)."""
    return admin_of(svc).imports.get(principal, job_id)


@router.post("/contacts/imports/{job_id}/run", status_code=202)
def run_import(svc: Svc, principal: CurrentPrincipal, job_id: int, body: StartImportIn,
               background: BackgroundTasks) -> dict[str, Any]:
    """Run a previewed import in the background. A file with invalid rows is refused (422 naming
    `valid_rows_only`) unless `valid_rows_only` is true; a finished import is answered as it is."""
    imports = admin_of(svc).imports
    job = imports.do_start(principal, job_id, body.valid_rows_only)
    if job["state"] == "running":
        background.add_task(imports.run, job_id)
    return job


@router.get("/contacts/{contact_id}/export")
def gdpr_export(svc: Svc, principal: CurrentPrincipal, contact_id: int, reason: str | None = None) -> StreamingResponse:
    """Everything stored about the contact as a ZIP (a JSON file per table, its media files, a manifest).
    Administrators only; recorded and audited."""
    archive = admin_of(svc).gdpr_export.do_export(principal, contact_id, reason)

    def chunks() -> Any:
        with archive:
            while block := archive.read(64 * 1024):
                yield block

    return StreamingResponse(chunks(), media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="contact-{contact_id}-export.zip"',
        "X-Content-Type-Options": "nosniff"})


@router.post("/contacts/{contact_id}/erase")
def gdpr_erase(svc: Svc, principal: CurrentPrincipal, contact_id: int, body: EraseIn) -> dict[str, Any]:
    """Erase the contact's personal data, keeping what statistics count. Administrators only; the body
    repeats the contact's id in `confirm` and says why in `reason`. Cannot be undone."""
    return admin_of(svc).gdpr_erase.do_erase(principal, contact_id, body.model_dump())


@router.get("/gdpr/requests")
def list_gdpr_requests(svc: Svc, principal: CurrentPrincipal) -> list[dict[str, Any]]:
    """The record of GDPR export and erasure requests (who, when, why, what changed), newest first."""
    return admin_of(svc).gdpr_requests(principal)


@router.get("/retention/policies")
def retention_policies(svc: Svc, principal: CurrentPrincipal) -> list[dict[str, Any]]:
    """Every kind of data with its days (null: kept forever)."""
    return admin_of(svc).retention.policies(principal)


@router.put("/retention/policies")
def set_retention_policies(svc: Svc, principal: CurrentPrincipal, body: dict[str, Any]) -> list[dict[str, Any]]:
    """`{"policies": {"message_text": 365, "media_files": 90, "audit_log": null}}`: the kinds named change."""
    return admin_of(svc).retention.do_set(principal, body)


@router.get("/retention/preview")
def retention_preview(svc: Svc, principal: CurrentPrincipal, kind: str | None = None,
                      days: int | None = None) -> list[dict[str, Any]]:
    """The dry run: per kind, the cutoff and the rows due now. `kind` (and `days`, a what-if) for one kind."""
    return admin_of(svc).retention.preview(principal, kind, days)


@router.get("/retention/runs")
def retention_runs(svc: Svc, principal: CurrentPrincipal, limit: Annotated[int, Query(ge=1, le=200)] = 50,
                   before_id: int | None = None) -> list[dict[str, Any]]:
    """What the retention worker removed, newest first."""
    return admin_of(svc).retention.runs(principal, limit, before_id)

"""The consent ledger's API: a contact's state and history, recording an opt-in or opt-out, the CSV import
and the GDPR export (docs/consent.md). Thin routes over app/consent.py and app/consent_io.py.

A contact is visible to whoever may see one of its conversations (the conversations' rule, docs/access.md);
otherwise it is not found. Imports are for supervisors and administrators. The ledger is append-only: there
is no route that changes or removes a record.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, File, Header, Query, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import Connection

from centralino.app.consent import ConsentService
from centralino.app.consent_io import MAX_BYTES, ConsentFiles, export_csv
from centralino.domain.access import Principal
from centralino.domain.consent import Action, Purpose, Source
from centralino.errors import NotFound
from centralino.services import Services
from centralino.storage import queries
from centralino.storage.visibility import visible_conversations
from centralino.web.api import Svc
from centralino.web.principal import CurrentPrincipal, current_principal

router = APIRouter(prefix="/api/v1", dependencies=[Depends(current_principal)], tags=["consent"])


class ConsentIn(BaseModel):
    purpose: Purpose
    action: Action
    source: Source | None = Field(default=None, description="web_form, import, api or agent; default: agent "
                                                            "for a signed-in user, api for a token")
    evidence: dict[str, Any] | None = Field(default=None, description="what proves it (form, wording, URL, IP)")
    note: str | None = Field(default=None, max_length=2000, description="required when an agent records it")
    occurred_at: datetime | None = Field(default=None, description="when the customer said so (default: now)")
    channel_id: int | None = Field(default=None, description="only this channel (default: every channel)")


def consent_service(svc: Services) -> ConsentService:
    assert svc.consent is not None, "build_services wires the consent service"
    return svc.consent


def visible_contact(conn: Connection, principal: Principal, contact_id: int) -> dict[str, Any]:
    found = queries.get_contact(conn, contact_id, visible_conversations(principal))
    if found is None:
        raise NotFound(f"no contact {contact_id}", field="contact_id")
    return found


@router.get("/contacts/{contact_id}/consents")
def get_consents(svc: Svc, principal: CurrentPrincipal, contact_id: int,
                 channel_id: Annotated[int | None, Query(description="the state on this channel")] = None,
                 ) -> dict[str, Any]:
    """The state per purpose (allowed or not for a template, and why) and every record, oldest first."""
    files = ConsentFiles(svc.engine, consent_service(svc))
    with svc.engine.connect() as conn:
        visible_contact(conn, principal, contact_id)
        exported = files.export(conn, contact_id, channel_id)
    return {"contact_id": contact_id, "channel_id": channel_id, "state": exported["state"],
            "history": exported["records"]}


@router.post("/contacts/{contact_id}/consents", status_code=201)
def record_consent(svc: Svc, principal: CurrentPrincipal, contact_id: int, body: ConsentIn,
                   idempotency_key: Annotated[str | None, Header(max_length=100)] = None) -> dict[str, Any]:
    """Append an opt-in or opt-out. With an `Idempotency-Key`, a repeat records nothing (`created` false)."""
    recorded = consent_service(svc).do_record(
        principal, contact_id, purpose=body.purpose, action=body.action, source=body.source, evidence=body.evidence,
        note=body.note, occurred_at=body.occurred_at, channel_id=body.channel_id, dedupe_key=idempotency_key)
    return {"id": recorded.record_id, "contact_id": contact_id, "created": recorded.created}


@router.post("/consents/import")
def import_consents(svc: Svc, principal: CurrentPrincipal,
                    file: Annotated[UploadFile, File(description="CSV: phone or contact_id, purpose, action, "
                                                                 "source, evidence, timestamp")]) -> dict[str, Any]:
    """Import opt-ins and opt-outs (supervisors and administrators). Each row is imported whole or refused;
    the report names every refused row, its field and why. Importing the same file again adds nothing."""
    data = file.file.read(MAX_BYTES + 1)  # one byte more than allowed is enough to refuse it
    return ConsentFiles(svc.engine, consent_service(svc)).do_import(principal, data).to_dict()


@router.get("/contacts/{contact_id}/consents/export")
def export_consents(svc: Svc, principal: CurrentPrincipal, contact_id: int,
                    format: Literal["json", "csv"] = "json") -> Response:
    """The contact's whole consent history (GDPR access request), as JSON or CSV, as a download."""
    files = ConsentFiles(svc.engine, consent_service(svc))
    with svc.engine.connect() as conn:
        visible_contact(conn, principal, contact_id)
        exported = files.export(conn, contact_id)
    name = f"contact-{contact_id}-consents.{format}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "X-Content-Type-Options": "nosniff"}
    if format == "csv":
        return Response(export_csv(exported["records"]), media_type="text/csv; charset=utf-8", headers=headers)
    return Response(orjson.dumps(exported), media_type="application/json", headers=headers)

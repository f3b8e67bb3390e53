"""Transactional notifications API (docs/notifications.md): send a template by name or use-case alias,
read the log with each message's status history, manage the aliases, one-time codes.

Thin routes: app/notifications.py, app/verifications.py and app/notification_use_cases.py check and act.
Supervisors, administrators and the integration token only (a notification reaches any phone number).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Response
from pydantic import BaseModel, Field

from centralino.app.notification_use_cases import check_notifier
from centralino.app.notifications import NotificationRequest, NotificationService, use_case, use_cases
from centralino.app.verifications import VerificationRequest, VerificationService
from centralino.domain.access import Principal
from centralino.domain.notifications import DEFAULT_CODE_LENGTH, DEFAULT_TTL_S, UseCase
from centralino.errors import NotFound
from centralino.storage import notifications as repo
from centralino.web.api import Svc
from centralino.web.principal import current_principal

router = APIRouter(prefix="/api/v1", tags=["notifications"])
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=255)]


def notifier(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    check_notifier(principal)
    return principal


Notifier = Annotated[Principal, Depends(notifier)]


class NotificationIn(BaseModel):
    recipient: str | None = Field(None, description="phone number, E.164 (+393471234567)", max_length=32)
    contact_id: int | None = None
    channel_id: int | None = None
    template: str | None = Field(None, max_length=512)
    use_case: str | None = Field(None, max_length=64)
    language: str | None = Field(None, max_length=16)
    parameters: dict[str, Any] | None = Field(None, description='{"header": …, "body": [...] | {...}, '
                                                               '"buttons": [{"index": 0, "value": …}]}')
    payload: dict[str, Any] = Field(default_factory=dict, description="the business event; parameters may map "
                                                                      'from it: {"from": "payload.order.id"}')
    callback_url: str | None = Field(None, pattern=r"^https?://", max_length=2000)


class UseCaseIn(BaseModel):
    template: str
    language: str | None = None
    parameters: dict[str, Any] | None = None
    description: str | None = Field(None, max_length=1000)


class VerificationIn(BaseModel):
    recipient: str | None = Field(None, max_length=32)
    contact_id: int | None = None
    channel_id: int | None = None
    use_case: str | None = Field(None, max_length=64)
    template: str | None = Field(None, max_length=512)
    language: str | None = Field(None, max_length=16)
    code_length: int = DEFAULT_CODE_LENGTH
    ttl_s: int = DEFAULT_TTL_S
    callback_url: str | None = Field(None, pattern=r"^https?://", max_length=2000)


class CheckIn(BaseModel):
    code: str = Field(max_length=16)


def _notifications(svc: Svc) -> NotificationService:
    assert svc.notifications is not None
    return svc.notifications.service


def _verifications(svc: Svc) -> VerificationService:
    assert svc.notifications is not None
    return svc.notifications.verifications


def _shown(row: Any) -> dict[str, Any]:
    keys = ("id", "use_case", "template_name", "template_language", "recipient", "contact_id", "channel_id",
            "conversation_id", "message_id", "callback_url", "status", "error_code", "created_at", "status_at")
    return {k: row[k] for k in keys}


def _use_case(u: UseCase) -> dict[str, Any]:
    return {"name": u.name, "template": u.template, "language": u.language, "parameters": u.parameters,
            "description": u.description, "default": u.is_default}


@router.post("/notifications", status_code=202)
def send_notification(svc: Svc, principal: Notifier, body: NotificationIn, response: Response,
                      idempotency_key: IdempotencyKey = None) -> dict[str, Any]:
    """Queue an approved template for one customer: 202 with the notification. With an Idempotency-Key,
    a repeat of the same body answers 200 with the first one (`replayed`), another body 409."""
    service = _notifications(svc)
    sent = service.do_notify(NotificationRequest(**body.model_dump()), idempotency_key=idempotency_key,
                             api_client=principal.origin)
    found = service.get(sent.notification_id)
    if sent.replayed:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    return {**_shown(found), "history": found["history"], "replayed": sent.replayed}


@router.get("/notifications")
def list_notifications(svc: Svc, _principal: Notifier, status: str | None = None, use_case: str | None = None,
                       recipient: str | None = None, cursor: Annotated[int | None, Query(ge=1)] = None,
                       limit: Annotated[int, Query(ge=1, le=200)] = 50) -> dict[str, Any]:
    """The log, newest first; `cursor` is the previous page's `next_cursor`."""
    wanted = recipient.lstrip("+") if recipient else None
    with svc.engine.connect() as conn:
        rows = repo.page(conn, status=status, use_case=use_case, recipient=wanted, before_id=cursor, limit=limit)
    return {"items": [_shown(r) for r in rows],
            "next_cursor": str(rows[-1]["id"]) if len(rows) == limit else None}


@router.get("/notifications/{notification_id}")
def get_notification(svc: Svc, _principal: Notifier, notification_id: int) -> dict[str, Any]:
    found = _notifications(svc).get(notification_id)
    return {**_shown(found), "history": found["history"], "callbacks": found["callbacks"]}


@router.get("/notification-use-cases")
def list_use_cases(svc: Svc, _principal: Notifier) -> list[dict[str, Any]]:
    return [_use_case(u) for u in use_cases(svc.engine)]


@router.get("/notification-use-cases/{name}")
def get_use_case(svc: Svc, _principal: Notifier, name: str) -> dict[str, Any]:
    found = use_case(svc.engine, name)
    if found is None:
        raise NotFound(f"no use case {name!r}", field="name")
    return _use_case(found)


@router.put("/notification-use-cases/{name}")
def put_use_case(svc: Svc, principal: Notifier, name: str, body: UseCaseIn, response: Response) -> dict[str, Any]:
    """Create or replace an alias (a default of the same name is overridden until this one is deleted)."""
    assert svc.notifications is not None
    found, created = svc.notifications.use_cases.do_put(
        principal, name, template=body.template, language=body.language, parameters=body.parameters,
        description=body.description)
    response.status_code = 201 if created else 200
    return _use_case(found)


@router.delete("/notification-use-cases/{name}")
def delete_use_case(svc: Svc, principal: Notifier, name: str) -> dict[str, Any]:
    assert svc.notifications is not None
    restored = svc.notifications.use_cases.do_delete(principal, name)
    return {"deleted": name, "default": _use_case(restored) if restored else None}


@router.post("/verifications", status_code=201)
def start_verification(svc: Svc, principal: Notifier, body: VerificationIn) -> dict[str, Any]:
    """Send a one-time code with the authentication template; only its HMAC is kept."""
    started = _verifications(svc).do_start(VerificationRequest(
        max_attempts=svc.settings.verification_max_attempts, **body.model_dump()), api_client=principal.origin)
    return {"id": started.id, "expires_at": started.expires_at, "notification_id": started.notification_id,
            "message_id": started.message_id}


@router.get("/verifications/{verification_id}")
def get_verification(svc: Svc, _principal: Notifier, verification_id: int) -> dict[str, Any]:
    return _verifications(svc).get(verification_id)


@router.post("/verifications/{verification_id}/check")
def check_verification(svc: Svc, _principal: Notifier, verification_id: int, body: CheckIn) -> dict[str, Any]:
    """verified | wrong_code (with remaining_attempts) | expired | too_many_attempts | already_used.
    Always 200: the outcome is the answer, not an error."""
    checked = _verifications(svc).do_check(verification_id, body.code)
    return {"id": checked.id, "result": checked.outcome.value, "state": checked.state.value,
            "remaining_attempts": checked.remaining_attempts}


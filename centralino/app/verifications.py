"""Two-way verification: a one-time code sent with an authentication template, checked by the business
(POST /api/v1/verifications/{id}/check) or by the customer typing it back in WhatsApp.

Only the code's HMAC (keyed with the app's secret key, bound to the contact) is stored; the code itself
exists in memory while the send is queued and in the template message Meta delivers. The verification
row is written with the notification and the message in one transaction (NotificationService's
listener), so a code is never valid without having been sent, nor sent without being checkable.
"""

from __future__ import annotations

import secrets
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, select, update

from centralino.app.notifications import NotificationRequest, NotificationService
from centralino.app.unit_of_work import UnitOfWork, unit_of_work
from centralino.domain.notifications import (
    DEFAULT_CODE_LENGTH,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_TTL_S,
    CheckOutcome,
    VerificationState,
    check_code_options,
    code_hash,
    codes_match,
    judge,
    typed_code,
)
from centralino.errors import NotFound
from centralino.events.bus import Event, EventBus
from centralino.storage.tables import messages
from centralino.storage.tables_notifications import verifications

v = verifications.c


@dataclass(frozen=True)
class VerificationRequest:
    recipient: str | None = None
    contact_id: int | None = None
    channel_id: int | None = None
    use_case: str | None = None
    template: str | None = None
    language: str | None = None
    code_length: int = DEFAULT_CODE_LENGTH
    ttl_s: int = DEFAULT_TTL_S
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    callback_url: str | None = None


@dataclass(frozen=True)
class Started:
    id: int
    expires_at: datetime
    notification_id: int
    message_id: int


@dataclass(frozen=True)
class Checked:
    id: int
    outcome: CheckOutcome
    state: VerificationState
    remaining_attempts: int


def _utcnow() -> datetime:
    return datetime.now(UTC)


class VerificationService:
    def __init__(self, engine: Engine, bus: EventBus, notifications: NotificationService, secret_key: str, *,
                 clock: Callable[[], datetime] = _utcnow) -> None:
        self.engine = engine
        self.bus = bus
        self.notifications = notifications
        self.key = ("verification:" + secret_key).encode()  # a key of its own, derived from the app's
        self.clock = clock
        # per inbound transaction (weakly: gone with it), the contacts a typed-back code may come from
        self._waiting_by_transaction: weakref.WeakKeyDictionary[Any, frozenset[int]] = weakref.WeakKeyDictionary()
        bus.subscribe_in_transaction("message.received", self._on_received)

    def do_start(self, request: VerificationRequest, *, api_client: str) -> Started:
        """Generate a code, send it with the authentication template and keep its HMAC: the verification
        row commits with the notification and the message (NotificationService's listener)."""
        check_code_options(request.code_length, request.ttl_s)
        code = "".join(secrets.choice("0123456789") for _ in range(request.code_length))
        now = self.clock()
        expires_at = now + timedelta(seconds=request.ttl_s)
        created: list[int] = []

        def record(uow: UnitOfWork, notification: dict[str, Any]) -> None:
            contact_id = int(notification["contact_id"])
            created.append(int(uow.conn.execute(insert(verifications).values(
                notification_id=notification["id"], contact_id=contact_id, channel_id=notification["channel_id"],
                message_id=notification["message_id"], code_hash=code_hash(self.key, contact_id, code),
                code_length=request.code_length, expires_at=expires_at, attempts=0,
                max_attempts=request.max_attempts, state=VerificationState.PENDING.value, origin=api_client,
                created_at=now).returning(v.id)).scalar_one()))
            uow.emit("verification.started", verification_id=created[-1], contact_id=contact_id,
                     channel_id=notification["channel_id"], message_id=notification["message_id"])

        # The body's one variable is the code; TemplateSender gives the copy-code (OTP) button the same.
        send = NotificationRequest(
            recipient=request.recipient, contact_id=request.contact_id, channel_id=request.channel_id,
            template=request.template, use_case=None if request.template else (request.use_case or "verification_code"),
            language=request.language, parameters={"body": [code]}, callback_url=request.callback_url)
        sent = self.notifications.do_notify(send, idempotency_key=None, api_client=api_client, also=record)
        return Started(created[0], expires_at, sent.notification_id, sent.message_id)

    def do_check(self, verification_id: int, code: str) -> Checked:
        """The business checks the code its user entered: verified once, never again."""
        now = self.clock()
        with unit_of_work(self.engine, self.bus) as uow:
            row = uow.conn.execute(select(verifications).where(v.id == verification_id).with_for_update()) \
                .mappings().first()
            if row is None:
                raise NotFound(f"no verification {verification_id}", field="verification_id")
            candidate = code_hash(self.key, int(row["contact_id"]), code.strip())
            return self._apply(uow, row, codes_match(str(row["code_hash"]), candidate), now, "api")

    def get(self, verification_id: int) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = conn.execute(select(verifications).where(v.id == verification_id)).mappings().first()
        if row is None:
            raise NotFound(f"no verification {verification_id}", field="verification_id")
        found = {k: row[k] for k in ("id", "contact_id", "channel_id", "message_id", "notification_id", "state",
                                     "attempts", "max_attempts", "expires_at", "verified_at", "verified_via",
                                     "created_at")}
        if found["state"] == "pending" and self.clock() >= row["expires_at"]:
            found["state"] = "expired"  # not yet recorded: the next check records it
        return found

    def _apply(self, uow: UnitOfWork, row: Any, matches: bool, now: datetime, via: str) -> Checked:
        verdict = judge(str(row["state"]), row["expires_at"], int(row["attempts"]), int(row["max_attempts"]), now,
                        matches)
        changes: dict[str, Any] = {}
        if verdict.attempts != row["attempts"]:
            changes["attempts"] = verdict.attempts
        if verdict.state.value != row["state"]:
            changes["state"] = verdict.state.value
            if verdict.state is VerificationState.VERIFIED:
                changes.update(verified_at=now, verified_via=via)
        if changes:
            # Conditional on what was read: two checks at once cannot both verify the same code.
            done = uow.conn.execute(update(verifications).where(
                v.id == row["id"], v.state == row["state"], v.attempts == row["attempts"]).values(**changes))
            if not done.rowcount:
                fresh = uow.conn.execute(select(verifications).where(v.id == row["id"])).mappings().one()
                return self._apply(uow, fresh, matches, now, via)
            uow.emit("verification.checked", verification_id=int(row["id"]), contact_id=int(row["contact_id"]),
                     outcome=verdict.outcome.value, state=verdict.state.value, via=via)
        return Checked(int(row["id"]), verdict.outcome, verdict.state, verdict.remaining)

    def _on_received(self, uow: UnitOfWork, event: Event) -> None:
        """The customer typed the code back. Cheap for every other message (this runs in the inbound
        transaction): nothing for non-text messages, then the contacts with a live pending code, read
        once per transaction (one index range scan, usually empty) and kept for the rest of its batch."""
        if event.payload.get("type") != "text":
            return
        contact_id = int(event.payload["contact_id"])
        if contact_id not in self._waiting(uow):
            return
        now = self.clock()
        pending = uow.conn.execute(select(verifications).where(
            v.contact_id == contact_id, v.state == VerificationState.PENDING.value)).mappings().all()
        text = uow.conn.execute(select(messages.c.text).where(messages.c.id == event.payload["message_id"])) \
            .scalar_one_or_none()
        for row in pending:
            if int(row["channel_id"]) != int(event.payload["channel_id"]):
                continue
            code = typed_code(text, int(row["code_length"]))
            if code is None:
                continue  # not a code: customers write other things too; no attempt counted
            if codes_match(str(row["code_hash"]), code_hash(self.key, contact_id, code)):
                self._apply(uow, row, True, now, "customer")
                return

    def _waiting(self, uow: UnitOfWork) -> frozenset[int]:
        """Contacts with an unexpired pending code, as this transaction first saw them. A code is typed
        back only after its message went out, long after its row committed: a batch that began earlier
        cannot be holding the message that answers it."""
        transaction = uow.conn.get_transaction()
        found = self._waiting_by_transaction.get(transaction) if transaction is not None else None
        if found is None:
            found = frozenset(int(r) for r in uow.conn.execute(select(v.contact_id).where(
                v.state == VerificationState.PENDING.value, v.expires_at > self.clock())).scalars())
            if transaction is not None:
                self._waiting_by_transaction[transaction] = found
        return found

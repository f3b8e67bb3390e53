"""Transactional notifications and one-time codes: the rules, no I/O.

Use-case aliases name a template for a business event (a boarding pass after check-in, a shipment
update); the defaults below apply until the business stores its own (notification_use_cases).
A one-time code is kept only as an HMAC keyed with the application's secret; checking one is a pure
decision over the verification's state, attempts, expiry and whether the code matched.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from centralino.errors import InvalidInput

USE_CASE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
CODE_LENGTHS = range(4, 9)
DEFAULT_CODE_LENGTH = 6
DEFAULT_TTL_S = 600
MAX_TTL_S = 24 * 3600
DEFAULT_MAX_ATTEMPTS = 5
SIGNATURE_HEADER = "X-Centralino-Signature"


@dataclass(frozen=True)
class UseCase:
    """An alias: which template a business event sends, and parameters it fills by default (explicit
    values or mappings such as {"from": "payload.order.id"} resolved against the request's payload)."""

    name: str
    template: str
    language: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    is_default: bool = False


DEFAULT_USE_CASES: dict[str, UseCase] = {u.name: u for u in (
    UseCase("boarding_pass", "boarding_pass", description="Boarding pass after check-in: a document header (the "
            "PDF, by upload id or link) and the flight details in the body.", is_default=True),
    UseCase("store_location", "store_location", description="Where to find the store: a location header "
            "(latitude, longitude, name, address).", is_default=True),
    UseCase("support_video", "support_video", description="A how-to video for support: a video header.",
            is_default=True),
    UseCase("shipment_update", "shipment_update", description="Shipment tracking: named body parameters mapped "
            "from the payload (order id, status, tracking URL suffix).", is_default=True, parameters={
                "body": {"order_id": {"from": "payload.order.id"}, "status": {"from": "payload.shipment.status"}}}),
    UseCase("verification_code", "verification_code", description="A one-time code (authentication template: "
            "the code in the body and in the copy-code button). Used by POST /api/v1/verifications.",
            is_default=True),
)}


def check_use_case_name(name: str) -> str:
    if not USE_CASE_NAME.match(name):
        raise InvalidInput("a use-case name is lower-case letters, digits and underscores (at most 64), starting "
                           "with a letter", field="name", code="use_case.invalid_name", status=422)
    return name


# --- one-time codes ------------------------------------------------------------------------------------------

class VerificationState(StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    EXPIRED = "expired"
    FAILED = "failed"  # too many wrong attempts


class CheckOutcome(StrEnum):
    VERIFIED = "verified"
    WRONG_CODE = "wrong_code"
    EXPIRED = "expired"
    TOO_MANY_ATTEMPTS = "too_many_attempts"
    ALREADY_USED = "already_used"


@dataclass(frozen=True)
class Verdict:
    outcome: CheckOutcome
    state: VerificationState  # the verification's state after the check
    attempts: int  # the attempts counted after the check
    remaining: int


def check_code_options(code_length: int, ttl_s: int) -> None:
    if code_length not in CODE_LENGTHS:
        raise InvalidInput("code_length must be between 4 and 8", field="code_length",
                           code="verification.code_length", status=422)
    if not 30 <= ttl_s <= MAX_TTL_S:
        raise InvalidInput(f"ttl_s must be between 30 and {MAX_TTL_S} seconds", field="ttl_s",
                           code="verification.ttl", status=422)


def code_hash(key: bytes, contact_id: int, code: str) -> str:
    """HMAC-SHA256 of the code, keyed with the app's secret and bound to the contact: a leaked table
    gives no code, and a hash cannot be replayed for another contact."""
    return hmac.new(key, f"otp:{contact_id}:{code}".encode(), hashlib.sha256).hexdigest()


def codes_match(stored_hash: str, candidate_hash: str) -> bool:
    return hmac.compare_digest(stored_hash.encode(), candidate_hash.encode())


def judge(state: str, expires_at: datetime, attempts: int, max_attempts: int, now: datetime,
          matches: bool) -> Verdict:
    """The outcome of one check. A verified code never verifies again (replay refused); an expired or
    exhausted one never does either; a wrong code counts an attempt and the last one fails it."""
    current = VerificationState(state)
    if current is VerificationState.VERIFIED:
        return Verdict(CheckOutcome.ALREADY_USED, current, attempts, 0)
    if current is VerificationState.FAILED:
        return Verdict(CheckOutcome.TOO_MANY_ATTEMPTS, current, attempts, 0)
    if current is VerificationState.EXPIRED or now >= expires_at:
        return Verdict(CheckOutcome.EXPIRED, VerificationState.EXPIRED, attempts, 0)
    if attempts >= max_attempts:
        return Verdict(CheckOutcome.TOO_MANY_ATTEMPTS, VerificationState.FAILED, attempts, 0)
    if matches:
        return Verdict(CheckOutcome.VERIFIED, VerificationState.VERIFIED, attempts + 1, 0)
    used = attempts + 1
    if used >= max_attempts:
        return Verdict(CheckOutcome.TOO_MANY_ATTEMPTS, VerificationState.FAILED, used, 0)
    return Verdict(CheckOutcome.WRONG_CODE, VerificationState.PENDING, used, max_attempts - used)


TYPED_CODE = re.compile(r"^\D{0,40}?(\d(?:[ -]?\d){3,7})\D{0,40}$")


def typed_code(text: str | None, code_length: int) -> str | None:
    """The code in a customer's message ("123456", "123 456", "code: 123-456"), or None when the
    message is not one (then it counts as no attempt: customers write other things too)."""
    if not text or len(text) > 100:
        return None
    found = TYPED_CODE.match(text.strip())
    if found is None:
        return None
    digits = re.sub(r"\D", "", found.group(1))
    return digits if len(digits) == code_length else None


# --- status callbacks ----------------------------------------------------------------------------------------

def sign(secret: bytes, body: bytes) -> str:
    """The X-Centralino-Signature header value for a callback body."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def callback_payload(notification_id: int, message_id: int, status: str, previous: str | None,
                     error_code: int | None, occurred_at: datetime) -> dict[str, Any]:
    """The body posted to the callback URL (the worker adds `event_id`, the delivery's id, for dedup)."""
    return {"notification_id": notification_id, "message_id": message_id, "status": status,
            "previous": previous, "error_code": error_code, "occurred_at": occurred_at.isoformat()}

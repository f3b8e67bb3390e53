"""Retention: how long each kind of data is kept. Pure rules; storage/retention.py applies them."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from centralino.errors import InvalidInput

MIN_DAYS = 1
MAX_DAYS = 36500


class DataKind(StrEnum):
    MESSAGE_TEXT = "message_text"  # text, captions, content and raw JSON of messages (the rows stay)
    MEDIA_FILES = "media_files"  # the downloaded files of customers' media (the rows stay)
    WEBHOOK_PAYLOADS = "webhook_payloads"  # raw webhook bodies and the raw JSON kept on messages and statuses
    CLOSED_CONVERSATIONS = "closed_conversations"  # content and media of resolved conversations, by last activity
    AUDIT_LOG = "audit_log"  # the details of audit entries (the entries stay: the audit trail is append-only)
    EVENTS = "events"  # the stored event log (deleted)
    SIGN_IN_ATTEMPTS = "sign_in_attempts"  # rate-limiting records of sign-ins (deleted)
    IMPORT_FILES = "import_files"  # uploaded contact CSVs never run (a finished import drops its file at once)


def check_policies(body: Any) -> dict[DataKind, int | None]:
    """{"policies": {kind: days or null}} → the changes; null removes the kind's policy (kept forever)."""
    policies = body.get("policies") if isinstance(body, dict) else None
    if not isinstance(policies, dict):
        raise InvalidInput("policies is an object of kind → days", field="policies", code="retention.invalid")
    out: dict[DataKind, int | None] = {}
    for key, days in policies.items():
        try:
            kind = DataKind(key)
        except ValueError:
            raise InvalidInput(f"unknown kind {key!r}: one of {', '.join(k.value for k in DataKind)}",
                               field=f"policies.{key}", code="retention.kind") from None
        if days is not None and (isinstance(days, bool) or not isinstance(days, int)
                                 or not MIN_DAYS <= days <= MAX_DAYS):
            raise InvalidInput(f"days is a whole number from {MIN_DAYS} to {MAX_DAYS}, or null to keep forever",
                               field=f"policies.{key}", code="retention.days")
        out[kind] = days
    return out

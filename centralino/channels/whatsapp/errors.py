"""Graph API error codes, mapped once: what each means and whether retrying can help (reference §6).

Keyed on `error.code` (Meta's advice: never on the HTTP status or the wording). Codes not in
the table are classified by HTTP status: 5xx, 408 and 429 transient, any other answer permanent.
"""

from __future__ import annotations

from dataclasses import dataclass

from centralino.domain.sending import Retry


@dataclass(frozen=True)
class GraphCode:
    code: int
    title: str
    retry: Retry
    action: str  # what to do about it


T, P = Retry.TRANSIENT, Retry.PERMANENT

CODES: dict[int, GraphCode] = {c.code: c for c in (
    # transient: throughput, pair rate, temporary unavailability, maintenance, API-call rate limits
    GraphCode(130429, "Rate limit hit (messages per second of the number)", T, "back off and re-queue"),
    GraphCode(131056, "Pair rate limit hit (too many messages to this user)", T, "retry after a pause"),
    GraphCode(131000, "Something went wrong", T, "retry with backoff"),
    GraphCode(131016, "Service unavailable", T, "retry with backoff"),
    GraphCode(131057, "Business account in maintenance mode", T, "retry after minutes"),
    GraphCode(1, "API unknown error", T, "retry with backoff"),
    GraphCode(2, "API service temporarily unavailable", T, "retry with backoff"),
    GraphCode(4, "Application API-call rate limit", T, "retry later"),
    GraphCode(80007, "WhatsApp Business Account rate limit", T, "retry later"),
    GraphCode(133004, "Server temporarily unavailable", T, "retry with backoff"),
    # permanent for this message: retrying the same request cannot succeed
    GraphCode(131047, "Re-engagement message: more than 24 hours since the customer last wrote", P,
              "send an approved template"),
    GraphCode(131026, "Message undeliverable", P, "reach the customer another way"),
    GraphCode(131048, "Spam rate limit hit: the number is restricted", P, "improve quality; no immediate retry"),
    GraphCode(131049, "Not delivered to maintain healthy ecosystem engagement", P, "do not retry within 24 h"),
    GraphCode(131050, "The customer stopped marketing messages", P, "record the opt-out"),
    GraphCode(131051, "Unsupported message type", P, "change the message type"),
    GraphCode(131052, "Media download error", P, "ask for the file again"),
    GraphCode(131053, "Media upload error", P, "fix the file (type, size, encoding)"),
    GraphCode(131008, "Required parameter is missing", P, "fix the request"),
    GraphCode(131009, "Parameter value is not valid", P, "fix the request"),
    GraphCode(131021, "Recipient cannot be the sender", P, "fix the recipient"),
    GraphCode(131030, "Recipient not in the allowed list", P, "add the number to the test recipients"),
    GraphCode(131031, "Business account locked", P, "compliance"),
    GraphCode(131042, "Business eligibility payment issue", P, "fix billing"),
    GraphCode(131045, "Phone number not registered", P, "register the number"),
    GraphCode(131062, "Business-scoped user id recipient not supported", P, "send to the phone number"),
    GraphCode(131063, "Marketing messages disabled on the Cloud API", P, "compliance"),
    GraphCode(131064, "Messaging limit reached (template misclassification)", P, "compliance"),
    GraphCode(132000, "Template parameter count mismatch", P, "fix the template parameters"),
    GraphCode(132001, "Template does not exist", P, "fix the name/language or wait for approval"),
    GraphCode(132005, "Template hydrated text too long", P, "shorten the parameters"),
    GraphCode(132007, "Template format character policy violated", P, "fix the template"),
    GraphCode(132012, "Template parameter format mismatch", P, "fix the template parameters"),
    GraphCode(132015, "Template is paused", P, "edit the template or use another"),
    GraphCode(132016, "Template is disabled", P, "use another template"),
    GraphCode(133010, "Phone number not registered", P, "register the number"),
    GraphCode(137000, "Identity key hash mismatch", P, "check the customer's identity"),
    GraphCode(130403, "The business has blocked this user", P, "unblock the user"),
    GraphCode(130472, "User is part of an experiment", P, "none"),
    GraphCode(130497, "Business account restricted from messaging users in this country", P, "compliance"),
    GraphCode(368, "Temporarily blocked for policy violations", P, "compliance"),
    GraphCode(100, "Invalid parameter", P, "fix the request"),
    GraphCode(190, "Access token has expired or is invalid", P, "refresh the channel's token"),
    GraphCode(0, "Authentication failed", P, "refresh the channel's token"),
    GraphCode(10, "Permission denied", P, "grant the app whatsapp_business_messaging"),
    GraphCode(200, "Permission denied", P, "grant the app the permission"),
)}


def describe(code: int | None) -> GraphCode | None:
    return CODES.get(code) if code is not None else None


def classify(code: int | None, http_status: int | None) -> Retry:
    """Whether an error answer is worth retrying (an answer came back, so nothing is uncertain)."""
    known = describe(code)
    if known is not None:
        return known.retry
    if code is not None and 200 <= code <= 299:
        return P  # the permission family
    if http_status is None or http_status >= 500 or http_status in (408, 429):
        return T
    return P


def is_transient(code: int | None, http_status: int | None) -> bool:
    return classify(code, http_status) is T

"""Campaign rules: statuses and their transitions, recipient states and how a message's delivery
status moves them (forward only), daily messaging tiers, and per-recipient template parameters.

Pure: no I/O, no clock (docs/campaigns.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from centralino.errors import Conflict, InvalidInput


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    RUNNING = "running"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    COMPLETED = "completed"


class RecipientState(StrEnum):
    PLANNED = "planned"
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    REPLIED = "replied"
    FAILED = "failed"
    SKIPPED_CONSENT = "skipped_consent"
    SKIPPED_TIER = "skipped_tier"
    CANCELLED = "cancelled"  # still planned when the campaign was cancelled: never sent


FUNNEL = (RecipientState.PLANNED, RecipientState.QUEUED, RecipientState.SENT, RecipientState.DELIVERED,
          RecipientState.READ, RecipientState.REPLIED, RecipientState.FAILED, RecipientState.SKIPPED_CONSENT,
          RecipientState.SKIPPED_TIER, RecipientState.CANCELLED)
# Forward order of a sent message; failed and the skips stand apart.
_RANK = {RecipientState.QUEUED: 0, RecipientState.SENT: 1, RecipientState.DELIVERED: 2, RecipientState.READ: 3,
         RecipientState.REPLIED: 4}
# A message's delivery status (domain/enums.py DeliveryStatus) → the recipient's state.
_FROM_DELIVERY = {"accepted": RecipientState.SENT, "sent": RecipientState.SENT,
                  "delivered": RecipientState.DELIVERED, "read": RecipientState.READ,
                  "played": RecipientState.READ, "failed": RecipientState.FAILED}
# Where a recipient can be when each new state applies (monotonic: never backwards, never out of a skip).
MOVES_FROM: dict[RecipientState, tuple[RecipientState, ...]] = {
    new: tuple(s for s, r in _RANK.items() if r < _RANK[new]) for new in _RANK if new is not RecipientState.QUEUED
}
# A failure after acceptance (Meta's failed webhook) is still a failure, but never undoes a delivery.
MOVES_FROM[RecipientState.FAILED] = (RecipientState.QUEUED, RecipientState.SENT)

# Statuses a campaign may be moved to from each status (and which the feeder runs).
TRANSITIONS: dict[CampaignStatus, tuple[CampaignStatus, ...]] = {
    CampaignStatus.DRAFT: (CampaignStatus.SCHEDULED, CampaignStatus.RUNNING, CampaignStatus.CANCELLED),
    CampaignStatus.SCHEDULED: (CampaignStatus.RUNNING, CampaignStatus.PAUSED, CampaignStatus.CANCELLED,
                               CampaignStatus.DRAFT),
    CampaignStatus.RUNNING: (CampaignStatus.PAUSED, CampaignStatus.CANCELLED, CampaignStatus.COMPLETED),
    CampaignStatus.PAUSED: (CampaignStatus.RUNNING, CampaignStatus.SCHEDULED, CampaignStatus.CANCELLED),
    CampaignStatus.COMPLETED: (CampaignStatus.RUNNING,),  # retry-failed runs it again
    CampaignStatus.CANCELLED: (),
}

# Meta's daily messaging limits: business-initiated conversations with distinct customers per rolling 24 h.
TIERS: dict[str, int | None] = {"250": 250, "1k": 1_000, "10k": 10_000, "100k": 100_000, "unlimited": None}
ON_TIER_LIMIT = ("wait", "skip")


def rank(state: RecipientState) -> int:
    """Forward order of a sent message's states (failed and the skips after them all)."""
    return _RANK.get(state, len(_RANK))


def recipient_state_for(delivery_status: str) -> RecipientState | None:
    """The state a message's new delivery status moves its recipient to (None: no move, e.g. queued)."""
    return _FROM_DELIVERY.get(delivery_status)


def check_transition(current: str, new: CampaignStatus) -> None:
    now = CampaignStatus(current)
    if new not in TRANSITIONS[now]:
        raise Conflict(f"a {now.value} campaign cannot be {_verb(new)}", field="status",
                       code="campaign.bad_transition", status_now=now.value)


def _verb(status: CampaignStatus) -> str:
    return {CampaignStatus.RUNNING: "started", CampaignStatus.SCHEDULED: "scheduled",
            CampaignStatus.PAUSED: "paused", CampaignStatus.CANCELLED: "cancelled",
            CampaignStatus.COMPLETED: "completed", CampaignStatus.DRAFT: "edited"}[status]


def tier_limit(tier: str) -> int | None:
    if tier not in TIERS:
        raise InvalidInput(f"daily tier must be one of {', '.join(TIERS)}", field="daily_tier",
                           code="campaign.bad_tier", status=422)
    return TIERS[tier]


def tier_room(tier: str, used_24h: int) -> int | None:
    """How many more recipients the rolling 24 h allows (None: no limit)."""
    limit = tier_limit(tier)
    return None if limit is None else max(0, limit - used_24h)


# --- parameters ---------------------------------------------------------------------------------------------

CONTACT_FIELDS = ("display_name", "language", "phone")


@dataclass(frozen=True)
class ParameterSource:
    """Where one template variable's value comes from for each recipient."""

    text: str | None = None  # the same literal for everyone
    field: str | None = None  # a contact field (CONTACT_FIELDS)
    attribute: str | None = None  # a key of the contact's attributes
    default: str | None = None  # when the field or attribute is empty


def parse_parameters(spec: Mapping[str, Any] | None) -> dict[str, ParameterSource]:
    """Validate a campaign's parameter mapping: variable → {text | field | attribute, default}."""
    out: dict[str, ParameterSource] = {}
    for name, raw in (spec or {}).items():
        where = f"parameters.{name}"
        if isinstance(raw, str):
            raw = {"text": raw}
        if not isinstance(raw, Mapping):
            raise InvalidInput("each parameter is an object: {text}, {field} or {attribute}", field=where,
                               code="campaign.bad_parameter", status=422)
        given = [k for k in ("text", "field", "attribute") if raw.get(k) not in (None, "")]
        if len(given) != 1:
            raise InvalidInput("give exactly one of text, field or attribute", field=where,
                               code="campaign.bad_parameter", status=422)
        if raw.get("field") is not None and raw["field"] not in CONTACT_FIELDS:
            raise InvalidInput(f"field must be one of {', '.join(CONTACT_FIELDS)}", field=where + ".field",
                               code="campaign.bad_parameter", status=422)
        default = raw.get("default")
        out[str(name)] = ParameterSource(
            text=_str_or_none(raw.get("text")), field=_str_or_none(raw.get("field")),
            attribute=_str_or_none(raw.get("attribute")), default=_str_or_none(default))
    return out


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def resolve_parameters(sources: Mapping[str, ParameterSource], contact: Mapping[str, Any]) -> dict[str, str] | str:
    """One recipient's frozen values, or why they cannot be filled (the variable left empty).
    `contact`: display_name, language, phone, attributes."""
    values: dict[str, str] = {}
    attributes = contact.get("attributes") or {}
    for name, source in sources.items():
        value: Any
        if source.text is not None:
            value = source.text
        elif source.field is not None:
            value = contact.get(source.field)
        else:
            value = attributes.get(source.attribute) if isinstance(attributes, Mapping) else None
        text = "" if value is None else str(value).strip()
        if not text:
            if source.default is None:
                return f"no value for {{{{{name}}}}}"
            text = source.default
        values[name] = text
    return values

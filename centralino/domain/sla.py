"""Service levels: SLA policies and their timers, escalation actions, out-of-hours behaviour, CSAT answers.

Pure rules; storage and timing live in app/service_levels.py. Targets are business time: a timer started
while the queue is closed begins counting at the opening (domain/business_hours.py)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from centralino.domain.business_hours import BusinessCalendar


class SlaError(ValueError):
    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


class TimerKind(StrEnum):
    FIRST_RESPONSE = "first_response"  # the customer's first message of a contact → the first agent reply
    NEXT_RESPONSE = "next_response"  # a customer message after an answer → the next agent reply
    RESOLUTION = "resolution"  # the contact's first message → resolved


class TimerState(StrEnum):
    RUNNING = "running"
    MET = "met"  # stopped before its due time
    MISSED = "missed"  # stopped after its due time (it breached)
    CANCELLED = "cancelled"  # ended without the thing it waited for (resolved with no reply): not counted


class OutOfHours(StrEnum):
    AUTO_REPLY = "auto_reply"  # a text in the customer's language, once per closed period
    BOT = "bot"  # the bot owns the conversation until the queue opens
    KEEP = "keep"  # stays queued; nothing is sent


class Trigger(StrEnum):
    WARNING = "warning"
    BREACHED = "breached"


class EscalationKind(StrEnum):
    REQUEUE = "requeue"  # back to the queue's waiting items (another agent may take it)
    RAISE_PRIORITY = "raise_priority"  # the queue item's priority + by
    ALERT_SUPERVISOR = "alert_supervisor"  # an sla.escalated event the supervisors' view shows


@dataclass(frozen=True)
class Escalation:
    on: Trigger
    action: EscalationKind
    by: int = 1


@dataclass(frozen=True)
class Policy:
    id: int
    queue_id: int | None
    priority: int | None
    targets: Mapping[TimerKind, timedelta]
    warn_percent: int
    escalation: tuple[Escalation, ...]

    def specificity(self) -> int:
        return (2 if self.queue_id is not None else 0) + (1 if self.priority is not None else 0)


def choose_policy(policies: Iterable[Policy], queue_id: int | None, priority: int) -> Policy | None:
    """The most specific policy matching the queue and priority (queue+priority, queue, priority, any);
    ties go to the lowest id (the oldest)."""
    matching = [p for p in policies if p.queue_id in (None, queue_id) and p.priority in (None, priority)]
    if not matching:
        return None
    return min(matching, key=lambda p: (-p.specificity(), p.id))


@dataclass(frozen=True)
class Deadlines:
    warn_at: datetime
    due_at: datetime


def deadlines(calendar: BusinessCalendar, started_at: datetime, target: timedelta, warn_percent: int) -> Deadlines:
    warn = timedelta(seconds=int(target.total_seconds() * warn_percent / 100))
    return Deadlines(calendar.add_business_time(started_at, warn), calendar.add_business_time(started_at, target))


def stopped_state(due_at: datetime, stopped_at: datetime, answered: bool) -> TimerState:
    if not answered:
        return TimerState.CANCELLED
    return TimerState.MET if stopped_at <= due_at else TimerState.MISSED


# --- validating what a supervisor saves --------------------------------------------------------------------

MAX_TARGET_S = 90 * 24 * 3600


def parse_targets(values: Mapping[str, object]) -> dict[TimerKind, timedelta]:
    """{"first_response_s": 300, "next_response_s": None, "resolution_s": 86400} → targets (at least one)."""
    targets: dict[TimerKind, timedelta] = {}
    for kind in TimerKind:
        key = f"{kind.value}_s"
        value = values.get(key)
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= MAX_TARGET_S:
            raise SlaError("a target is a whole number of seconds between 1 and 90 days", key)
        targets[kind] = timedelta(seconds=value)
    if not targets:
        raise SlaError("set at least one target (first_response_s, next_response_s, resolution_s)",
                       "first_response_s")
    return targets


def parse_warn_percent(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 99:
        raise SlaError("warn_percent is a whole number from 1 to 99", "warn_percent")
    return value


def parse_escalation(values: object) -> tuple[Escalation, ...]:
    """[{"on": "breached", "action": "raise_priority", "by": 1}, …] → actions; SlaError names the entry."""
    if not isinstance(values, list):
        raise SlaError("escalation is a list of {on, action}", "escalation")
    result = []
    for i, entry in enumerate(values):
        field = f"escalation[{i}]"
        if not isinstance(entry, dict):
            raise SlaError("each escalation is an object {on, action, by}", field)
        try:
            on = Trigger(str(entry.get("on")))
        except ValueError:
            raise SlaError("on is warning or breached", f"{field}.on") from None
        try:
            action = EscalationKind(str(entry.get("action")))
        except ValueError:
            raise SlaError("action is requeue, raise_priority or alert_supervisor", f"{field}.action") from None
        by = entry.get("by", 1)
        if not isinstance(by, int) or isinstance(by, bool) or not 1 <= by <= 100:
            raise SlaError("by is a whole number from 1 to 100", f"{field}.by")
        result.append(Escalation(on, action, by))
    return tuple(result)


def escalation_to_dict(escalation: Sequence[Escalation]) -> list[dict[str, object]]:
    return [{"on": e.on.value, "action": e.action.value, "by": e.by} for e in escalation]


# --- out of hours ----------------------------------------------------------------------------------------------

def auto_reply_text(texts: Mapping[str, str], language: str | None, default_language: str) -> str | None:
    """The text in the customer's language ("it_IT" uses "it"), else the default language's, else none."""
    for candidate in (language, (language or "").split("_")[0].split("-")[0], default_language):
        if candidate and texts.get(candidate):
            return texts[candidate]
    return None


# --- CSAT --------------------------------------------------------------------------------------------------------

CSAT_REPLY = re.compile(r"^csat:(\d{1,18}):([1-5])$")


def csat_reply_id(survey_id: int, score: int) -> str:
    return f"csat:{survey_id}:{score}"


def parse_csat_reply(reply_id: str | None) -> tuple[int, int] | None:
    """'csat:42:5' → (survey 42, score 5); anything else (another button, a forged score) → None."""
    match = CSAT_REPLY.match(reply_id or "")
    return (int(match.group(1)), int(match.group(2))) if match else None

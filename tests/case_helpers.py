"""Cases test helpers: principals of the access test organisation, a movable clock, a case type with a
small workflow and fields."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from centralino.app.cases_setup import Cases, install_cases
from centralino.domain.access import Principal, Role
from centralino.services import Services
from tests.access_helpers import Org

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now


@dataclass
class People:
    admin: Principal
    supervisor: Principal
    agent_care: Principal
    agent_sales: Principal
    extra: dict[str, Principal] = field(default_factory=dict)


def people(org: Org) -> People:
    return People(Principal(Role.ADMIN, org.admin),
                  Principal(Role.SUPERVISOR, org.supervisor, frozenset({org.care})),
                  Principal(Role.AGENT, org.agent_care, frozenset({org.care})),
                  Principal(Role.AGENT, org.agent_sales, frozenset({org.sales})))


def cases_with_clock(services: Services, clock: Clock) -> Cases:
    """The services' cases, on a test clock (the same engine and bus, so the recorder hears them)."""
    return install_cases(services.engine, services.bus, clock=clock, listen=False)


SIMPLE_TYPE: dict[str, Any] = {
    "key": "refund_test", "name": {"it": "Rimborso", "en": "Refund"},
    "workflow": {"statuses": ["new", "working", "done", "rejected"], "initial": "new",
                 "transitions": {"new": ["working", "rejected"], "working": ["done", "rejected"], "done": ["working"]},
                 "closed": ["done", "rejected"]},
    "fields": [{"key": "refund_amount", "kind": "number", "label": {"it": "Importo", "en": "Amount"},
                "required": True, "min": 1, "max": 500},
               {"key": "iban", "kind": "text", "label": "IBAN", "regex": "IT[0-9A-Z]{25}"},
               {"key": "method", "kind": "choice", "label": "Metodo", "options": ["card", "voucher"]}],
    "default_priority": "high",
    "sla": {"first_response_min": 60, "resolution_min": 600, "task_min": 120, "warn_fraction": 0.5},
}

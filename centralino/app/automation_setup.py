"""Wiring automation rules and customer case updates into a process (services.py calls install_automation)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from centralino.app.automation import Automation
from centralino.app.automation_actions import ActionRunner
from centralino.app.case_updates import CaseUpdates
from centralino.app.desk import DeskActions
from centralino.app.outbound import OutboundService
from centralino.app.template_send import TemplateSender
from centralino.events.bus import EventBus


def _utcnow() -> datetime:
    return datetime.now(UTC)


def install_automation(engine: Engine, bus: EventBus, desk: DeskActions, outbound: OutboundService,
                       templates: TemplateSender | None, cases: Callable[[], Any],
                       clock: Callable[[], datetime] = _utcnow) -> tuple[Automation, CaseUpdates]:
    """`cases`: the cases module's use cases once installed (services.cases), read when a rule acts on a case."""
    runner = ActionRunner(engine, bus, desk, outbound, templates, clock)
    runner.cases = cases
    automation = Automation(engine, bus, runner, clock=clock)
    automation.install()
    updates = CaseUpdates(engine, bus, outbound, templates, clock=clock)
    updates.install()
    return automation, updates

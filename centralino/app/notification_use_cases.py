"""Use-case aliases, managed as data: PUT replaces one (or overrides a default), DELETE drops a stored one
(a default then applies again). Checked before anything is written."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from centralino.app.notifications import use_case
from centralino.app.unit_of_work import unit_of_work
from centralino.domain.access import Principal, Role
from centralino.domain.notifications import DEFAULT_USE_CASES, UseCase, check_use_case_name
from centralino.errors import Forbidden, InvalidInput, NotFound
from centralino.events.bus import EventBus
from centralino.storage import notifications as repo

PARAMETER_GROUPS = {"header", "body", "buttons"}


def check_notifier(principal: Principal) -> None:
    """Notifications reach any phone number: supervisors, administrators and the integration token only."""
    if principal.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise Forbidden("notifications are for supervisors, administrators and integrations", code="auth.role")


def check_use_case(name: str, template: str, language: str | None, parameters: Any) -> None:
    check_use_case_name(name)
    if not template or len(template) > 512:
        raise InvalidInput("template must name a template (at most 512 characters)", field="template",
                           code="use_case.template", status=422)
    if language is not None and not 2 <= len(language) <= 16:
        raise InvalidInput("language is a template language code such as it or en_US", field="language",
                           code="use_case.language", status=422)
    if parameters is not None and (not isinstance(parameters, dict) or set(parameters) - PARAMETER_GROUPS):
        raise InvalidInput("parameters is an object with header, body and/or buttons", field="parameters",
                           code="use_case.parameters", status=422)


class UseCases:
    def __init__(self, engine: Engine, bus: EventBus, clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.engine = engine
        self.bus = bus
        self.clock = clock

    def do_put(self, principal: Principal, name: str, *, template: str, language: str | None,
               parameters: dict[str, Any] | None, description: str | None) -> tuple[UseCase, bool]:
        check_notifier(principal)
        check_use_case(name, template, language, parameters)
        with unit_of_work(self.engine, self.bus) as uow:
            created = repo.put_use_case(uow.conn, name, {
                "template_name": template, "language": language, "parameters": parameters or {},
                "description": description}, self.clock())
            uow.emit("notification.use_case_changed", name=name, template=template, actor=principal.actor)
        found = use_case(self.engine, name)
        assert found is not None
        return found, created

    def do_delete(self, principal: Principal, name: str) -> UseCase | None:
        """Drop the stored alias; the default of that name (if any) applies again and is returned."""
        check_notifier(principal)
        with unit_of_work(self.engine, self.bus) as uow:
            if not repo.delete_use_case(uow.conn, name):
                raise NotFound(f"no stored use case {name!r}" + (" (defaults cannot be deleted, only overridden)"
                                                                 if name in DEFAULT_USE_CASES else ""),
                               field="name")
            uow.emit("notification.use_case_changed", name=name, template=None, actor=principal.actor)
        return DEFAULT_USE_CASES.get(name)

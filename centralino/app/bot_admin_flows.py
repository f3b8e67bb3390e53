"""The bot's dialog flows and on-demand services as the business manages them (docs/bot.md, "Administration
pages"). A flow is saved only if bot/dialog/flow.load_flow accepts it (the error names the field, e.g.
`steps[2].slot`); its YAML is kept as written and its parsed form beside it. A service's auth secret is sealed
with the channels' SecretBox and never returned: a view says only whether one is set.

Supervisors and administrators only (check_manager)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import Connection, Engine

from centralino.app.bot_admin import check_manager, create_or_change, record_change
from centralino.app.bot_dialogs import spec_of  # a service as the runtime calls it
from centralino.app.unit_of_work import unit_of_work
from centralino.bot.actions.http import call_service, check_spec
from centralino.bot.dialog.flow import flow_to_dict, load_flow
from centralino.domain import bot_config as rules
from centralino.domain.access import Principal
from centralino.errors import InvalidInput, NotFound
from centralino.events.bus import EventBus
from centralino.storage import bot_admin as repo
from centralino.storage.channels import SecretBox
from centralino.storage.tables_bot import bot_flows, bot_services

FLOW_SOURCE_MAX = 100_000
_DEFAULTS: dict[str, Any] = {"method": "GET", "auth_header": None, "request_template": None, "response_mapping": {},
                             "timeout_s": 5.0, "retries": 1}
SERVICE_FIELDS = ("name", "method", "url", "auth_header", "auth_secret", "request_template", "response_mapping",
                  "timeout_s", "retries")


class BotFlowsServices:
    def __init__(self, engine: Engine, bus: EventBus | None, box: SecretBox, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.bus = bus
        self.box = box
        self.clock = clock

    # --- flows --------------------------------------------------------------------------------------------------

    def flows(self, principal: Principal) -> list[dict[str, Any]]:
        check_manager(principal)
        with self.engine.connect() as conn:
            return repo.flows(conn)

    def flow(self, principal: Principal, flow_id: int) -> dict[str, Any]:
        check_manager(principal)
        with self.engine.connect() as conn:
            return _found(repo.flow(conn, flow_id), "flow", flow_id)

    def do_save_flow(self, principal: Principal, source: Any, *, flow_id: int | None = None,
                     enabled: bool | None = None) -> dict[str, Any]:
        """Create or replace a flow from its YAML text; its name is the one the YAML gives."""
        check_manager(principal)
        if not isinstance(source, str) or not source.strip():
            raise InvalidInput("the flow's YAML is required", field="source")
        if len(source) > FLOW_SOURCE_MAX:
            raise InvalidInput(f"at most {FLOW_SOURCE_MAX} characters", field="source")
        parsed = load_flow(source)
        values: dict[str, Any] = {"name": parsed.name, "source": source, "definition": flow_to_dict(parsed)}
        if enabled is not None:
            values["enabled"] = enabled
        with unit_of_work(self.engine, self.bus) as uow:
            if flow_id is not None:
                _found(repo.flow(uow.conn, flow_id), "flow", flow_id)
            repo.check_unique_name(uow.conn, bot_flows, parsed.name, flow_id, "name")
            now = self.clock()
            flow_id, verb = create_or_change(uow.conn, flow_id, values, now, repo.create_flow, _new_flow_version)
            record_change(uow, principal, now, "flow", verb, flow_id, {"name": parsed.name})
            return _found(repo.flow(uow.conn, flow_id), "flow", flow_id)

    def do_set_flow_enabled(self, principal: Principal, flow_id: int, enabled: Any) -> dict[str, Any]:
        check_manager(principal)
        if not isinstance(enabled, bool):
            raise InvalidInput("true or false", field="enabled")
        with unit_of_work(self.engine, self.bus) as uow:
            _found(repo.flow(uow.conn, flow_id), "flow", flow_id)
            now = self.clock()
            repo.change_flow(uow.conn, flow_id, {"enabled": enabled}, now, new_version=False)
            record_change(uow, principal, now, "flow", "enabled" if enabled else "disabled", flow_id, {})
            return _found(repo.flow(uow.conn, flow_id), "flow", flow_id)

    def do_delete_flow(self, principal: Principal, flow_id: int) -> None:
        check_manager(principal)
        with unit_of_work(self.engine, self.bus) as uow:
            found = _found(repo.flow(uow.conn, flow_id), "flow", flow_id)
            repo.delete_flow(uow.conn, flow_id)  # intents using it keep answering with their text (SET NULL)
            record_change(uow, principal, self.clock(), "flow", "deleted", flow_id, {"name": found["name"]})

    # --- services -----------------------------------------------------------------------------------------------

    def services(self, principal: Principal) -> list[dict[str, Any]]:
        check_manager(principal)
        with self.engine.connect() as conn:
            return [public_service(r) for r in repo.services(conn)]

    def service(self, principal: Principal, service_id: int) -> dict[str, Any]:
        check_manager(principal)
        with self.engine.connect() as conn:
            return public_service(_found(repo.service(conn, service_id), "service", service_id))

    def do_save_service(self, principal: Principal, body: Mapping[str, Any], service_id: int | None = None
                        ) -> dict[str, Any]:
        """Create (name and url required) or change the fields present. auth_secret: a new value replaces the
        stored one, "" clears it, absent or null keeps it."""
        check_manager(principal)
        unknown = sorted(set(body) - set(SERVICE_FIELDS))
        if unknown:
            raise InvalidInput(f"unknown field; the fields are {', '.join(SERVICE_FIELDS)}", field=unknown[0])
        for required in ("name", "url"):
            if service_id is None and required not in body:
                raise InvalidInput(f"a {required} is required", field=required)
        values = self._service_values(body)
        with unit_of_work(self.engine, self.bus) as uow:
            current = _found(repo.service(uow.conn, service_id), "service", service_id) if service_id else {}
            # the whole service as it will be, checked as bot/actions will call it (no host placeholders, …)
            check_spec(spec_of({**_DEFAULTS, **current, **values, "auth_secret": None}, self.box))
            if "name" in values:
                repo.check_unique_name(uow.conn, bot_services, values["name"], service_id, "name")
            now = self.clock()
            service_id, verb = create_or_change(uow.conn, service_id, values, now, repo.create_service,
                                                repo.change_service)
            # the audit names the fields changed, never the secret's value
            record_change(uow, principal, now, "service", verb, service_id, {"fields": sorted(body)})
            return public_service(_found(repo.service(uow.conn, service_id), "service", service_id))

    def do_delete_service(self, principal: Principal, service_id: int) -> None:
        check_manager(principal)
        with unit_of_work(self.engine, self.bus) as uow:
            found = _found(repo.service(uow.conn, service_id), "service", service_id)
            repo.delete_service(uow.conn, service_id)
            record_change(uow, principal, self.clock(), "service", "deleted", service_id, {"name": found["name"]})

    def test_call(self, principal: Principal, service_id: int, inputs: Any,
                  client: httpx.Client | None = None) -> dict[str, Any]:
        """Call the service once with sample inputs ({slot: value}), as a dialog would; nothing is stored.
        The answer shows what the response mapping extracted, never the secret."""
        check_manager(principal)
        if inputs is None:
            inputs = {}
        if not isinstance(inputs, Mapping) or not all(isinstance(k, str) for k in inputs):
            raise InvalidInput("a mapping of slot to value, e.g. {order_number: A-1001}", field="inputs")
        with self.engine.connect() as conn:
            row = _found(repo.service(conn, service_id), "service", service_id)
        spec = spec_of(row, self.box)
        own = client is None
        http = client or httpx.Client()
        try:
            result = call_service(spec, {k: str(v) for k, v in inputs.items()}, client=http)
        finally:
            if own:
                http.close()
        return {"ok": result.ok, "status": result.status, "data": dict(result.data), "error": result.error,
                "document_bytes": len(result.document) if result.document else None,
                "content_type": result.content_type, "attempts": result.attempts,
                "elapsed_ms": round(result.elapsed_ms, 1)}

    def _service_values(self, body: Mapping[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if "name" in body:
            values["name"] = rules.check_name(body["name"])
        if "method" in body:
            values["method"] = rules.check_method(body["method"])
        if "url" in body:
            values["url"] = rules.check_url(body["url"])
        if "auth_header" in body:
            values["auth_header"] = rules.check_header(body["auth_header"])
        if body.get("auth_secret") is not None:
            secret = rules.check_text(body["auth_secret"], "auth_secret", maximum=4000, required=False)
            values["auth_secret"] = repo.seal_secret(self.box, secret) if secret else None
        if "request_template" in body:
            template = rules.check_text(body["request_template"], "request_template", maximum=20_000,
                                        required=False)
            values["request_template"] = template or None
        if "response_mapping" in body:
            values["response_mapping"] = rules.check_mapping(body["response_mapping"])
        if "timeout_s" in body:
            values["timeout_s"] = rules.check_number(body["timeout_s"], "timeout_s", low=0.1, high=60)
        if "retries" in body:
            retries = body["retries"]
            if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 5:
                raise InvalidInput("a whole number from 0 to 5", field="retries")
            values["retries"] = retries
        return values


def public_service(row: Mapping[str, Any]) -> dict[str, Any]:
    """A service as the API and the pages show it: the secret replaced by whether one is set."""
    out = {k: v for k, v in row.items() if k != "auth_secret"}
    out["has_secret"] = bool(row.get("auth_secret"))
    return out


def step_view(definition: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The flow's steps for the read-only view: id, kind, and a one-line gist of what the step does."""
    out = []
    for step in definition.get("steps") or []:
        text = step.get("prompt") or step.get("text") or step.get("answer")
        out.append({"id": step.get("id"), "kind": step.get("kind"), "gist": _gist(step), "next": step.get("next"),
                    "text": text if isinstance(text, Mapping) else None})
    return out


def _gist(step: Mapping[str, Any]) -> str:
    kind = step.get("kind")
    if kind == "ask":
        source = step.get("entity") or ("regex" if step.get("regex") else "choices" if step.get("choices") else "text")
        return f"{step.get('slot')} ← {source}"
    if kind == "confirm":
        return f"yes → {step.get('yes') or 'next'}, no → {step.get('no') or 'next'}"
    if kind == "call":
        return f"{step.get('service')}({', '.join(sorted(step.get('inputs') or {}))})"
    if kind == "branch":
        return f"on {step.get('on')}: {len(step.get('cases') or [])} cases, else {step.get('default')}"
    if kind == "end":
        return next((k for k in ("answer", "open_case", "handoff") if step.get(k)), "")
    return ""


def _new_flow_version(conn: Connection, flow_id: int, values: dict[str, Any], now: datetime) -> None:
    repo.change_flow(conn, flow_id, values, now, new_version=True)


def _found(row: dict[str, Any] | None, what: str, ident: int) -> dict[str, Any]:
    if row is None:
        raise NotFound(f"no {what} {ident}", field=f"{what}_id")
    return row

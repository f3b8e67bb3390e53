"""The bot runtime's side of dialogs and services: flows loaded from bot_flows (parsed once per version), the
dialog engine (bot/dialog/engine.py, pure) driven through its service calls, and bot_services rows as
ServiceSpecs with their secret opened. Service calls run outside any transaction (they may take seconds)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import Engine

from centralino.bot.actions.http import ServiceSpec, call_service
from centralino.bot.actions.types import ServiceResult
from centralino.bot.dialog import engine as dialog
from centralino.bot.dialog.flow import Flow, load_flow
from centralino.errors import CentralinoError
from centralino.storage import bot as repo
from centralino.storage.bot_admin import open_secret
from centralino.storage.channels import SecretBox

log = logging.getLogger(__name__)

MAX_CALLS_PER_TURN = 5  # a flow calling service after service in one turn: hand off rather than spin
def spec_of(row: Mapping[str, Any], box: SecretBox) -> ServiceSpec:
    return ServiceSpec(name=str(row["name"]), url=str(row["url"]), method=str(row["method"] or "GET"),
                       auth_header=row["auth_header"], auth_secret=open_secret(box, row["auth_secret"]),
                       request_template=row["request_template"],
                       response_mapping=dict(row["response_mapping"] or {}), timeout_s=float(row["timeout_s"]),
                       retries=int(row["retries"]))


@dataclass
class Followed:
    """A dialog run through its service calls within one turn."""

    state: dialog.DialogState | None
    says: list[dialog.Say] = field(default_factory=list)
    ending: dialog.Ending | None = None
    topic_change: str | None = None
    calls: list[dict[str, Any]] = field(default_factory=list)  # for the handoff summary: service, ok, error


class Dialogs:
    def __init__(self, engine: Engine, box: SecretBox, client: httpx.Client) -> None:
        self.engine = engine
        self.box = box
        self.client = client
        self._flows: dict[str, tuple[int, Any, Flow]] = {}  # name -> (id, version/updated_at, parsed)

    def flow(self, name: str) -> tuple[int, Flow] | None:
        """The enabled flow by name, parsed once per stored version; None when missing, disabled or broken."""
        with self.engine.connect() as conn:
            row = repo.flow(conn, name)
        if row is None or not row["enabled"]:
            return None
        stamp = (row["version"], row["updated_at"])
        cached = self._flows.get(name)
        if cached is not None and cached[1] == stamp:
            return cached[0], cached[2]
        try:
            parsed = load_flow(row["definition"] or row["source"])
        except CentralinoError as exc:
            log.warning("bot flow %s cannot be loaded: %s", name, exc.message)
            return None
        self._flows[name] = (int(row["id"]), stamp, parsed)
        return int(row["id"]), parsed

    def call(self, name: str, inputs: Mapping[str, str]) -> ServiceResult:
        with self.engine.connect() as conn:
            row = repo.service(conn, name)
        if row is None:
            return ServiceResult(ok=False, error=f"no service named {name}")
        try:
            spec = spec_of(row, self.box)
        except Exception as exc:  # a secret sealed with another key: a configuration problem, not a crash
            return ServiceResult(ok=False, error=f"service {name} cannot be used: {type(exc).__name__}")
        return call_service(spec, inputs, client=self.client)

    def follow(self, flow: Flow, result: dialog.StepResult,
               call: Callable[[str, Mapping[str, str]], ServiceResult] | None = None) -> Followed:
        """Run the engine's service calls until it waits for the customer or ends."""
        call = call or self.call
        out = Followed(state=result.state, says=list(result.says), ending=result.ending,
                       topic_change=result.topic_change)
        calls = 0
        while result.call is not None and result.ending is None:
            calls += 1
            if calls > MAX_CALLS_PER_TURN or result.state is None:
                out.ending = dialog.Ending("handoff", reason="loop")
                break
            answer = call(result.call.service, result.call.inputs)
            out.calls.append({"service": result.call.service, "ok": answer.ok, "status": answer.status,
                              "error": answer.error})
            result = dialog.resume(flow, result.state, answer)
            out.state, out.ending, out.topic_change = result.state, result.ending, result.topic_change
            out.says.extend(result.says)
        return out

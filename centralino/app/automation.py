"""Automation rules: saved (checked, ordered, enabled/disabled), tried against a sample event (dry run), and
run on the bus's events after they commit (docs/automation.md).

Off the hot path: the after-commit listener only looks the event's type up in the set of triggers that
have an enabled rule (refreshed on every save here, and every few seconds for other processes' saves) and,
when one has, hands the event to one background thread. No enabled rule: no query, no thread, nothing.

Loop safety: events published while a rule's actions run (in that thread) carry the chain of rules that
caused them; a rule never runs again within its own chain, and a chain stops at MAX_DEPTH levels. Both
are logged as `skipped` executions.
"""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, select

from centralino.app.automation_actions import ActionRunner
from centralino.app.automation_facts import build_facts
from centralino.app.background import Background
from centralino.app.unit_of_work import unit_of_work
from centralino.domain.access import Principal, Role
from centralino.domain.automation import MAX_DEPTH, RULE_KEYS, TRIGGERS, Rule, matches
from centralino.domain.automation_check import check_rule, template_refs
from centralino.errors import CentralinoError, Forbidden, InvalidInput, NotFound
from centralino.events.bus import Event, EventBus
from centralino.storage import automation as repo
from centralino.storage.tables import departments, users
from centralino.storage.tables_routing import routing_queues
from centralino.storage.tables_templates import templates

log = logging.getLogger(__name__)

TRIGGERS_TTL_S = 5.0  # how soon another process's rule change is heard
PAGE_MAX = 200

# The rules whose actions are running in this thread, outermost first (empty: not inside a rule).
_chain: contextvars.ContextVar[tuple[int, ...]] = contextvars.ContextVar("automation_chain", default=())


def _utcnow() -> datetime:
    return datetime.now(UTC)


def check_supervisor(principal: Principal) -> None:
    if principal.role not in (Role.ADMIN, Role.SUPERVISOR):
        raise Forbidden("automation rules are for supervisors and administrators", code="auth.role")


class Automation:
    def __init__(self, engine: Engine, bus: EventBus, actions: ActionRunner, *,
                 clock: Callable[[], datetime] = _utcnow) -> None:
        self.engine = engine
        self.bus = bus
        self.actions = actions
        self.clock = clock
        self._triggers: frozenset[str] | None = None  # with an enabled rule; None: not read yet
        self._triggers_at = 0.0
        self.background = Background("automation", self._handle)

    def install(self) -> None:
        for trigger in TRIGGERS:
            self.bus.subscribe(trigger, self.on_event)

    # --- the listener: cheap unless a rule waits for this type --------------------------------------------

    def on_event(self, event: Event) -> None:
        if event.type not in self._enabled_triggers():
            return
        self.background.put((event, _chain.get()))

    def _enabled_triggers(self) -> frozenset[str]:
        if self._triggers is None or time.monotonic() - self._triggers_at > TRIGGERS_TTL_S:
            self.refresh()
        assert self._triggers is not None
        return self._triggers

    def refresh(self) -> None:
        try:
            with self.engine.connect() as conn:
                self._triggers = repo.enabled_triggers(conn)
        except Exception:  # a database not migrated yet (first start): no rules
            log.exception("reading the automation rules failed")
            self._triggers = frozenset()
        self._triggers_at = time.monotonic()

    def _handle(self, items: list[tuple[Event, tuple[int, ...]]]) -> None:
        for event, chain in items:
            try:
                self.run_event(event, chain)
            except Exception:
                log.exception("automation failed on %s", event.type)

    def wait_idle(self) -> None:
        """Block until every event handed over so far (and those its actions caused) has been handled."""
        self.background.wait_idle()

    # --- running ----------------------------------------------------------------------------------------

    def run_event(self, event: Event, chain: tuple[int, ...] = ()) -> list[int]:
        """Every enabled rule of the event's type, in order; the execution ids logged."""
        with self.engine.connect() as conn:
            rules = repo.list_rules(conn, trigger=event.type, enabled=True)
        if not rules:
            return []
        done: list[int] = []
        facts: dict[str, Any] | None = None
        for rule in rules:
            if facts is None:  # read again after a rule acted: the next one sees what it changed
                with self.engine.connect() as conn:
                    facts = build_facts(conn, event, self.clock())
            execution_id, acted = self._run_rule(rule, event, facts, chain)
            done.append(execution_id)
            if acted:
                facts = None
        return done

    def _run_rule(self, rule: dict[str, Any], event: Event, facts: dict[str, Any],
                  chain: tuple[int, ...]) -> tuple[int, bool]:
        """Log the rule's execution and run its actions if it matches: (execution id, whether it acted)."""
        started, clock0 = self.clock(), time.perf_counter()
        base = {"rule_id": int(rule["id"]), "event_type": event.type, "event": _plain(event.payload),
                "depth": len(chain), "started_at": started}
        skip = None
        if len(chain) >= MAX_DEPTH:
            skip = f"depth limit: {len(chain)} rules deep (chain {list(chain)})"
        elif int(rule["id"]) in chain:
            skip = f"loop: rule {rule['id']} caused this event (chain {list(chain)})"
        matched = matches(rule["conditions"] or {}, facts)
        if skip is not None or not matched:
            return self._log({**base, "matched": matched, "outcome": "skipped" if skip else "not_matched",
                              "actions": [], "error": skip, "duration_ms": _ms(clock0)}), False
        execution_id = self._log({**base, "matched": True, "outcome": "running", "actions": [], "error": None,
                                  "duration_ms": 0})
        results: list[dict[str, Any]] = []
        token = _chain.set((*chain, int(rule["id"])))
        try:
            for index, action in enumerate(rule["actions"]):
                entry: dict[str, Any] = {"index": index, "type": action["type"]}
                try:
                    entry.update(status="done", result=_plain(self.actions.run(action, facts, rule, execution_id)))
                except CentralinoError as exc:
                    entry.update(status="failed", error=f"{exc.code}: {exc.message}")
                except Exception as exc:  # a bug or the database: logged, the next action still runs
                    log.exception("automation rule %s action %s failed", rule["id"], index)
                    entry.update(status="failed", error=f"{type(exc).__name__}: {exc}")
                results.append(entry)
        finally:
            _chain.reset(token)
        failed = sum(1 for r in results if r["status"] == "failed")
        outcome = "done" if not failed else "failed" if failed == len(results) else "partial"
        with unit_of_work(self.engine, None) as uow:
            repo.update_execution(uow.conn, execution_id, {"outcome": outcome, "actions": results,
                                                           "duration_ms": _ms(clock0)})
        return execution_id, failed < len(results)

    def _log(self, values: dict[str, Any]) -> int:
        with unit_of_work(self.engine, None) as uow:
            return repo.insert_execution(uow.conn, values)

    # --- rules ------------------------------------------------------------------------------------------

    def check(self, conn: Connection, data: Mapping[str, Any]) -> Rule:
        rule = check_rule(data)
        t = templates.c
        for ref in template_refs(rule):
            languages = set(conn.execute(select(t.language).where(t.name == ref.name)).scalars())
            if not languages:
                raise InvalidInput(f"no template {ref.name!r}", field=ref.name_field, code="template.unknown")
            if ref.language is not None and ref.language not in languages:
                raise InvalidInput(f"template {ref.name!r} has no {ref.language!r} version; it has "
                                   f"{', '.join(sorted(languages))}", field=ref.language_field,
                                   code="template.language_unknown")
        self._check_references(conn, rule)
        return rule

    @staticmethod
    def _check_references(conn: Connection, rule: Rule) -> None:
        """Queues, people and departments the actions name exist now (they may go later: the action then fails
        and the log says why)."""
        tables = {"queue_id": (routing_queues, "queue"), "user_id": (users, "user"),
                  "assignee_user_id": (users, "user"), "department_id": (departments, "department")}
        for index, action in enumerate(rule.actions):
            for key, (table, what) in tables.items():
                value = action.get(key)
                if value is not None and conn.execute(select(table.c.id).where(table.c.id == value)).first() is None:
                    raise InvalidInput(f"no {what} {value}", field=f"actions[{index}].{key}",
                                       code="automation.not_found")

    def do_save(self, principal: Principal, data: Mapping[str, Any], rule_id: int | None = None) -> dict[str, Any]:
        check_supervisor(principal)
        now = self.clock()
        with unit_of_work(self.engine, self.bus) as uow:
            rule = self.check(uow.conn, data)
            values = {"name": rule.name, "trigger": rule.trigger, "conditions": rule.conditions,
                      "actions": list(rule.actions), "enabled": rule.enabled, "position": rule.position,
                      "updated_at": now}
            if rule_id is None:
                rule_id = repo.insert_rule(uow.conn, {**values, "created_by": principal.actor, "created_at": now})
                kind = "created"
            elif not repo.update_rule(uow.conn, rule_id, values):
                raise NotFound(f"no automation rule {rule_id}", field="rule_id")
            else:
                kind = "updated"
            uow.emit(f"automation.rule_{kind}", rule_id=rule_id, actor=principal.actor)
        self.refresh()
        return self.rule(rule_id)

    def do_set_enabled(self, principal: Principal, rule_id: int, enabled: bool) -> dict[str, Any]:
        check_supervisor(principal)
        with unit_of_work(self.engine, self.bus) as uow:
            if not repo.update_rule(uow.conn, rule_id, {"enabled": enabled, "updated_at": self.clock()}):
                raise NotFound(f"no automation rule {rule_id}", field="rule_id")
            uow.emit("automation.rule_updated", rule_id=rule_id, actor=principal.actor)
        self.refresh()
        return self.rule(rule_id)

    def do_delete(self, principal: Principal, rule_id: int) -> None:
        check_supervisor(principal)
        with unit_of_work(self.engine, self.bus) as uow:
            if not repo.delete_rule(uow.conn, rule_id):
                raise NotFound(f"no automation rule {rule_id}", field="rule_id")
            uow.emit("automation.rule_deleted", rule_id=rule_id, actor=principal.actor)
        self.refresh()

    def rule(self, rule_id: int) -> dict[str, Any]:
        with self.engine.connect() as conn:
            found = repo.get_rule(conn, rule_id)
        if found is None:
            raise NotFound(f"no automation rule {rule_id}", field="rule_id")
        return found

    def definition(self, rule_id: int) -> dict[str, Any]:
        """The saved rule as it is written (what PUT takes and a dry run checks)."""
        return {k: v for k, v in self.rule(rule_id).items() if k in RULE_KEYS}

    def rules(self, *, trigger: str | None = None) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return repo.list_rules(conn, trigger=trigger)

    def dry_run(self, principal: Principal, data: Mapping[str, Any], event_type: str | None,
                payload: Mapping[str, Any]) -> dict[str, Any]:
        """Whether the rule (saved or not) would match this event now and what it would do; nothing is done or
        logged."""
        check_supervisor(principal)
        with self.engine.connect() as conn:
            rule = self.check(conn, data)
            if event_type is not None and event_type != rule.trigger:
                raise InvalidInput(f"the rule runs on {rule.trigger}, not {event_type}", field="event.type")
            facts = build_facts(conn, Event(rule.trigger, dict(payload)), self.clock())
        matched = matches(rule.conditions, facts)
        return {"matched": matched, "facts": _plain(facts), "actions": list(rule.actions) if matched else []}

    def webhooks(self, rule_id: int) -> list[dict[str, Any]]:
        """The rule's webhook deliveries with their state (pending, delivered, failed), attempts and last error."""
        self.rule(rule_id)
        with self.engine.connect() as conn:
            return repo.webhooks_of(conn, rule_id)

    def executions(self, *, rule_id: int | None = None, matched: bool | None = None, cursor: int | None = None,
                   limit: int = 50) -> dict[str, Any]:
        limit = max(1, min(limit, PAGE_MAX))
        with self.engine.connect() as conn:
            rows = repo.executions_page(conn, rule_id=rule_id, matched=matched, before_id=cursor, limit=limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        return {"items": rows, "next": int(rows[-1]["id"]) if more else None}


def _ms(since: float) -> int:
    return int((time.perf_counter() - since) * 1000)


def _plain(value: Any) -> Any:
    """JSON-safe (datetimes as ISO 8601) for the log."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value

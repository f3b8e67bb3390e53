"""Automation routes (docs/automation.md): rules (checked on save: 400 naming the field, e.g.
`actions[1].template`), enable/disable, a dry run against a sample event, the execution log (newest first,
`next` cursor), the catalogue an editor needs, and the customer case-update settings. Supervisors and
administrators. Thin: app/automation.py and app/case_updates.py check."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query

from centralino.app.automation import Automation, check_supervisor
from centralino.app.case_updates import CaseUpdates
from centralino.domain.automation import ACTIONS, FIELDS, OPERATORS, SETTABLE, TRIGGERS
from centralino.errors import InvalidInput, NotFound
from centralino.web.api import Svc
from centralino.web.principal import CurrentPrincipal, current_principal

router = APIRouter(prefix="/api/v1/automation", dependencies=[Depends(current_principal)], tags=["automation"])

RULE_EXAMPLE = {
    "name": "Refund requests to the refunds queue", "trigger": "message.received", "enabled": True, "position": 10,
    "conditions": {"all": [{"field": "message.text", "op": "matches", "value": "rimbors|refund"},
                           {"field": "business_hours.open", "op": "equals", "value": True}]},
    "actions": [{"type": "assign", "queue_id": 1},
                {"type": "set_field", "field": "contact.tags", "value": "refund"},
                {"type": "webhook", "url": "https://crm.example.com/hooks/centralino"}]}
TEST_EXAMPLE = {"rule": RULE_EXAMPLE, "event": {"type": "message.received",
                                                "payload": {"message_id": 1, "conversation_id": 1, "contact_id": 1}}}


def automation(svc: Svc) -> Automation:
    if svc.automation is None:
        raise NotFound("automation is not available in this process")
    return svc.automation


def case_updates(svc: Svc) -> CaseUpdates:
    if svc.case_updates is None:
        raise NotFound("case updates are not available in this process")
    return svc.case_updates


Rules = Annotated[Automation, Depends(automation)]
Updates = Annotated[CaseUpdates, Depends(case_updates)]


@router.get("/catalog")
def catalog(principal: CurrentPrincipal) -> dict[str, Any]:
    """What a rule may say: triggers with their subjects, fields with their kinds, operators per kind, actions."""
    check_supervisor(principal)
    return {"triggers": {t: sorted(s) for t, s in TRIGGERS.items()},
            "fields": {f: k.value for f, k in FIELDS.items()},
            "operators": {k.value: sorted(ops) for k, ops in OPERATORS.items()},
            "actions": sorted(ACTIONS), "settable_fields": {f: k.value for f, k in SETTABLE.items()}}


@router.get("/rules")
def list_rules(rules: Rules, principal: CurrentPrincipal, trigger: str | None = None) -> list[dict[str, Any]]:
    """Every rule, by trigger then position (the order they run in)."""
    check_supervisor(principal)
    return rules.rules(trigger=trigger)


@router.post("/rules", status_code=201)
def create_rule(rules: Rules, principal: CurrentPrincipal,
                body: Annotated[dict[str, Any], Body(examples=[RULE_EXAMPLE])]) -> dict[str, Any]:
    return rules.do_save(principal, body)


@router.post("/rules/test")
def test_rule(rules: Rules, principal: CurrentPrincipal,
              body: Annotated[dict[str, Any], Body(examples=[TEST_EXAMPLE])]) -> dict[str, Any]:
    """Dry run of an unsaved rule against a sample event: whether it matches, the facts it saw, the actions it
    would take. Nothing is done or logged."""
    rule, event = body.get("rule"), _event(body)
    if not isinstance(rule, dict):
        raise InvalidInput("rule: the rule to test, as saved", field="rule")
    return rules.dry_run(principal, rule, event.get("type"), event.get("payload") or {})


@router.get("/rules/{rule_id}")
def get_rule(rules: Rules, principal: CurrentPrincipal, rule_id: int) -> dict[str, Any]:
    check_supervisor(principal)
    return rules.rule(rule_id)


@router.put("/rules/{rule_id}")
def update_rule(rules: Rules, principal: CurrentPrincipal, rule_id: int,
                body: Annotated[dict[str, Any], Body(examples=[RULE_EXAMPLE])]) -> dict[str, Any]:
    return rules.do_save(principal, body, rule_id)


@router.patch("/rules/{rule_id}")
def enable_rule(rules: Rules, principal: CurrentPrincipal, rule_id: int,
                body: Annotated[dict[str, Any], Body(examples=[{"enabled": False}])]) -> dict[str, Any]:
    enabled = body.get("enabled")
    if not isinstance(enabled, bool) or set(body) != {"enabled"}:
        raise InvalidInput("send {\"enabled\": true|false}; other changes go through PUT", field="enabled")
    return rules.do_set_enabled(principal, rule_id, enabled)


@router.delete("/rules/{rule_id}", status_code=204)
def delete_rule(rules: Rules, principal: CurrentPrincipal, rule_id: int) -> None:
    rules.do_delete(principal, rule_id)


@router.post("/rules/{rule_id}/test")
def test_saved_rule(rules: Rules, principal: CurrentPrincipal, rule_id: int,
                    body: Annotated[dict[str, Any], Body(examples=[{"event": TEST_EXAMPLE["event"]}])]
                    ) -> dict[str, Any]:
    check_supervisor(principal)
    saved = rules.definition(rule_id)
    event = _event(body)
    return rules.dry_run(principal, saved, event.get("type"), event.get("payload") or {})


@router.get("/rules/{rule_id}/webhooks")
def rule_webhooks(rules: Rules, principal: CurrentPrincipal, rule_id: int) -> list[dict[str, Any]]:
    """The rule's webhook deliveries: state (pending, delivered, failed), attempts, last status and error."""
    check_supervisor(principal)
    return rules.webhooks(rule_id)


@router.get("/executions")
def list_executions(rules: Rules, principal: CurrentPrincipal, rule_id: int | None = None,
                    matched: bool | None = None, cursor: int | None = None,
                    limit: Annotated[int, Query(ge=1, le=200)] = 50) -> dict[str, Any]:
    """Newest first; pass `next` back as `cursor` for the following page."""
    check_supervisor(principal)
    return rules.executions(rule_id=rule_id, matched=matched, cursor=cursor, limit=limit)


@router.get("/case-updates")
def list_case_update_settings(updates: Updates, principal: CurrentPrincipal) -> list[dict[str, Any]]:
    check_supervisor(principal)
    return updates.settings()


@router.put("/case-updates/{case_type}")
def save_case_update_setting(updates: Updates, principal: CurrentPrincipal, case_type: str,
                             body: Annotated[dict[str, Any], Body(examples=[{
                                 "statuses": ["in_progress", "resolved"],
                                 "texts": {"resolved": {"it": "La pratica {number} è {status}.",
                                                        "en": "Case {number} is {status}."}},
                                 "template_name": "case_status_update", "template_language": None,
                                 "enabled": True}])]) -> dict[str, Any]:
    check_supervisor(principal)
    return updates.do_save_setting(case_type, body)


@router.get("/case-updates/cases/{case_id}")
def case_updates_of(updates: Updates, principal: CurrentPrincipal, case_id: int) -> list[dict[str, Any]]:
    """What the customer of a case was told (or why not: `outcome` skipped with its `reason`), oldest first."""
    check_supervisor(principal)
    return updates.updates_of(case_id)


def _event(body: dict[str, Any]) -> dict[str, Any]:
    event = body.get("event")
    if not isinstance(event, dict) or not isinstance(event.get("payload", {}), dict):
        raise InvalidInput('event: {"type": …, "payload": {…}}', field="event")
    return event

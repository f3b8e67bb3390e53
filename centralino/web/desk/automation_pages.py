"""The automation page for supervisors and administrators (/desk/automation): each rule with a readable
summary ("When … if … then …") and its JSON in an editor, a new rule, enable/disable/delete, a dry run, the
execution log (newest first, older pages by cursor), the catalogue of triggers/fields/operators/actions, and
the customer case-update settings. static/automation.js sends the JSON to /api/v1/automation, which checks it
once and names the wrong field next to the editor. Everything shown is escaped by the templates."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from centralino.domain.automation import ACTIONS, FIELDS, OPERATORS, TRIGGERS
from centralino.web.desk.pages import _to_sign_in, page_principal, render
from centralino.web.desk.supervisor_pages import may_supervise
from centralino.web.principal import services

router = APIRouter(prefix="/desk/automation", include_in_schema=False)

EXAMPLE = {"name": "Rimborsi in coda", "trigger": "message.received", "enabled": True, "position": 0,
           "conditions": {"all": [{"field": "message.text", "op": "contains", "value": "rimborso"}]},
           "actions": [{"type": "assign", "queue_id": 1}]}
_EDITABLE = ("name", "trigger", "enabled", "position", "conditions", "actions")  # domain.automation.RULE_KEYS


def _value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def describe_condition(node: Mapping[str, Any], t: Callable[[str], str]) -> str:
    if not node:
        return t("auto.always")
    for key in ("all", "any"):
        if key in node:
            return f"{t('auto.' + key)} (" + "; ".join(describe_condition(c, t) for c in node[key]) + ")"
    value = f" {_value(node['value'])}" if "value" in node else ""
    return f"{node.get('field')} {node.get('op')}{value}"


def describe_action(action: Mapping[str, Any]) -> str:
    details = ", ".join(f"{k}={_value(v)}" for k, v in action.items() if k != "type")
    return f"{action.get('type')}({details})"


def summary(rule: Mapping[str, Any], t: Callable[[str], str]) -> str:
    return (f"{t('auto.when')} {rule['trigger']} {t('auto.if')} {describe_condition(rule['conditions'] or {}, t)} "
            f"{t('auto.then')} " + "; ".join(describe_action(a) for a in rule["actions"] or []))


@router.get("")
def automation_page(request: Request, rule_id: int | None = None, cursor: int | None = None) -> Response:
    principal = page_principal(request)
    if principal is None:
        return _to_sign_in(request)
    svc = services(request)
    if not may_supervise(principal) or svc.automation is None or svc.case_updates is None:
        return render(request, "not_found.html", status=404, principal=principal, script=None)
    rules = svc.automation.rules()
    for rule in rules:
        rule["json"] = json.dumps({k: rule[k] for k in _EDITABLE}, ensure_ascii=False, indent=2)
    page = svc.automation.executions(rule_id=rule_id, cursor=cursor, limit=50)
    for item in page["items"]:
        item["actions_text"] = "; ".join(
            f"{a['type']}: {a['status']}" + (f" ({a['error']})" if a.get("error") else "") for a in item["actions"])
    catalog = {"triggers": {k: sorted(v) for k, v in TRIGGERS.items()},
               "fields": {k: v.value for k, v in FIELDS.items()},
               "operators": {k.value: sorted(v) for k, v in OPERATORS.items()}, "actions": sorted(ACTIONS)}
    return render(request, "automation.html", principal=principal, script="automation.js", rules=rules,
                  summary=summary, executions=page["items"], next_cursor=page["next"], rule_id=rule_id,
                  cursor=cursor, example=json.dumps(EXAMPLE, ensure_ascii=False, indent=2),
                  catalog=json.dumps(catalog, ensure_ascii=False, indent=2),
                  case_updates=[{**s, "json": json.dumps({k: s[k] for k in ("statuses", "texts", "template_name",
                                                                               "template_language", "enabled")},
                                                         ensure_ascii=False, indent=2)}
                                for s in svc.case_updates.settings()])

"""Automation in Chromium against the real demo process: a supervisor writes a rule in the JSON editor, sees the
server's error at the field, fixes it and sees the rule's summary and then its execution when a customer
writes; and the customer-facing case story: the customer is told on WhatsApp when their case is taken in
hand, then asks for its status by number and gets the answer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from centralino.demo_access import DEMO_USERS
from tests.browser.demo_desk import WAIT_MS, Demo, running_demo, signed_in_pages
from tests.test_demo import wait_for

SARA_SUPERVISOR = next(u for u in DEMO_USERS if u.email.startswith("supervisor"))
GIULIA = "393471234567"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    yield from running_demo(tmp_path_factory, "automation-demo")


@pytest.fixture
def page_of(browser, demo) -> Iterator[Any]:
    yield from signed_in_pages(browser, demo)


def test_a_rule_is_written_fixed_at_the_field_and_runs(page_of, demo):
    boss = page_of(SARA_SUPERVISOR)
    boss.click("#nav-automation")
    boss.wait_for_url("**/desk/automation")
    form = boss.locator("form[data-form=rule][data-rule-id='']")
    rule = {"name": "Tag reclami", "trigger": "message.received",
            "conditions": {"all": [{"field": "message.text", "op": "contains", "value": "reclamo"}]},
            "actions": [{"type": "set_field", "field": "contact.tags", "value": "reclamo"},
                        {"type": "send_template", "template": "non_esiste"}]}
    form.locator("textarea[name=rule]").fill(json.dumps(rule))
    form.locator("button[type=submit]").click()
    error = form.locator("[data-error-for=rule]")
    error.wait_for(timeout=WAIT_MS)
    assert error.inner_text().startswith("actions[1].template:")
    assert demo.api.get("/api/v1/automation/rules").json() == []  # nothing saved
    form.locator("textarea[name=rule]").fill(json.dumps({**rule, "actions": rule["actions"][:1]}))
    form.locator("button[type=submit]").click()
    boss.locator("details[data-rule] summary", has_text="Tag reclami").wait_for(timeout=WAIT_MS)  # reloaded
    assert "message.text contains" in boss.locator("details[data-rule] .auto-summary").inner_text()
    demo.customer_writes("393339990001", "Vorrei fare un reclamo", name="Nuovo Cliente")
    wait_for("the rule's execution", lambda: demo.api.get("/api/v1/automation/executions").json()["items"],
             demo.cwd)
    boss.reload()
    row = boss.locator("tr[data-execution]").first
    row.wait_for(timeout=WAIT_MS)
    assert "Tag reclami" in row.inner_text() and "done" in row.inner_text()


def test_the_customer_is_told_and_asks_for_the_status_by_number(demo):
    conversation = demo.conversations()["Giulia Bianchi"]
    made = demo.api.post("/api/v1/cases", json={
        "case_type": "complaint", "title": "Pacco danneggiato", "conversation_id": conversation["id"],
        "fields": {"description": "Il pacco è arrivato danneggiato"}})
    assert made.status_code == 201, made.text
    number = made.json()["number"]
    moved = demo.api.post(f"/api/v1/cases/{made.json()['id']}/transition", json={"status": "in_progress"})
    assert moved.status_code == 200, moved.text
    wait_for("the customer told on WhatsApp", lambda: f"Abbiamo preso in carico la sua pratica {number}"
             in demo.simulator_saw(GIULIA), demo.cwd)
    demo.customer_writes(GIULIA, f"A che punto è la pratica {int(number.rsplit('-', 1)[1])}?")
    wait_for("the status answer", lambda: f"La pratica {number} (Reclamo) è in lavorazione."
             in demo.simulator_saw(GIULIA), demo.cwd)

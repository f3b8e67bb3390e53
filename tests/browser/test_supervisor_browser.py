"""The supervisor's live view in Chromium against the real demo process: a customer's message enters a queue
and appears on the supervisor's page by itself; an agent switches to away in the header and the supervisor
sees it; the supervisor whispers a private note and reassigns the waiting conversation to that agent."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest

from centralino.demo_access import CUSTOMER_CARE, DEMO_USERS
from tests.browser.demo_desk import WAIT_MS, Demo, running_demo, signed_in_pages
from tests.test_demo import wait_for

GIULIA_AGENT = next(u for u in DEMO_USERS if u.email.startswith("giulia"))
SARA_SUPERVISOR = next(u for u in DEMO_USERS if u.email.startswith("supervisor"))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    yield from running_demo(tmp_path_factory, "supervisor-demo")


@pytest.fixture
def page_of(browser, demo) -> Iterator[Any]:
    yield from signed_in_pages(browser, demo)


def user_id(demo: Demo, email: str) -> int:
    return next(int(u["id"]) for u in demo.api.get("/api/v1/users").json() if u["email"] == email)


def assignee(demo: Demo, conversation_id: int) -> int | None:
    """Read from the demo's SQLite database (the conversations API does not carry the assignee)."""
    with sqlite3.connect(demo.cwd / "var" / "centralino.db") as db:
        row = db.execute("SELECT assignee_user_id FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def test_the_supervisor_sees_work_arrive_and_presence_change_live_and_reassigns(page_of, demo):
    care = next(d["id"] for d in demo.api.get("/api/v1/departments").json() if d["name"] == CUSTOMER_CARE)
    queue = demo.api.post("/api/v1/routing/queues", json={"name": "Mutui", "department_id": care})
    assert queue.status_code == 201, queue.text
    rule = demo.api.post("/api/v1/routing/rules", json={"name": "mutui", "queue_id": queue.json()["id"],
                                                        "conditions": {"keywords_any": ["mutuo"]}})
    assert rule.status_code == 201, rule.text
    giulia = user_id(demo, GIULIA_AGENT.email)

    boss = page_of(SARA_SUPERVISOR)
    boss.click("a[href='/desk/supervisor']")
    boss.wait_for_url("**/desk/supervisor")
    boss.locator(f"#sup-queues tr[data-queue-id='{queue.json()['id']}'] [data-figure=waiting]",
                 has_text="0").wait_for()

    demo.customer_writes("393475559001", "Vorrei un mutuo", name="Elena Russo")
    waiting = boss.locator("#sup-items tr[data-state=waiting]", has_text="Elena Russo")
    waiting.wait_for(timeout=WAIT_MS)  # no reload: the view re-reads itself
    boss.locator(f"#sup-queues tr[data-queue-id='{queue.json()['id']}'] [data-figure=waiting]",
                 has_text="1").wait_for(timeout=WAIT_MS)

    agent = page_of(GIULIA_AGENT)
    switch = agent.locator("#presence-switch")
    switch.wait_for()
    agent.select_option("#presence-state", "away")
    agent.fill("#presence-reason", "pranzo")
    agent.press("#presence-reason", "Enter")
    boss.locator(f"#sup-agents tr[data-user-id='{giulia}'] [data-presence=away]").wait_for(timeout=WAIT_MS)
    boss.locator(f"#sup-agents tr[data-user-id='{giulia}']", has_text="pranzo").wait_for(timeout=WAIT_MS)
    listed = next(a for a in demo.api.get("/api/v1/routing/agents").json() if a["user_id"] == giulia)
    assert (listed["presence"]["state"], listed["presence"]["reason"]) == ("away", "pranzo")

    conversation = wait_for("Elena's conversation", lambda: demo.conversations().get("Elena Russo"), demo.cwd)
    row = boss.locator(f"#sup-items tr[data-conversation-id='{conversation['id']}']")
    boss.once("dialog", lambda dialog: dialog.accept("Proponi il tasso fisso"))
    row.locator("button[data-action=whisper]").click()
    assert wait_for("the whisper", lambda: [
        m for m in demo.api.get(f"/api/v1/conversations/{conversation['id']}/messages").json()["items"]
        if m["type"] == "note" and m["text"] == "Proponi il tasso fisso"], demo.cwd)
    assert "Proponi il tasso fisso" not in demo.simulator_saw("393475559001")  # never sent to the customer
    reassign = row.locator("select[data-action=reassign]")
    reassign.focus()  # as a person's click does: the view stops redrawing the row under the pointer
    reassign.select_option(str(giulia))
    row.wait_for(state="detached", timeout=WAIT_MS)
    assert wait_for("the reassignment", lambda: assignee(demo, conversation["id"]) == giulia, demo.cwd)


def test_queues_and_skills_are_configured_in_forms_with_errors_at_the_field(page_of, demo):
    boss = page_of(SARA_SUPERVISOR)
    boss.goto(f"{demo.base}/desk/routing/queues")
    form = boss.locator("form[data-form=queue][data-queue-id='']")
    form.locator("input[name=name]").fill("Carte")
    form.locator("textarea[name=required_skills]").fill("product:cards 3")
    form.locator("textarea[name=relaxation]").fill("120 min_level 2\n60 min_level 1")
    form.locator("button[type=submit]").click()
    error = form.locator("[data-error-for=relaxation]")
    error.wait_for(timeout=WAIT_MS)
    assert error.inner_text().startswith("relaxation[1].after_s:")
    assert all(q["name"] != "Carte" for q in demo.api.get("/api/v1/routing/queues").json())  # nothing saved
    form.locator("textarea[name=relaxation]").fill("60 min_level 2\n120 any_department_agent")
    form.locator("button[type=submit]").click()
    boss.locator("details[data-queue] summary", has_text="Carte").wait_for(timeout=WAIT_MS)  # reloaded
    saved = next(q for q in demo.api.get("/api/v1/routing/queues").json() if q["name"] == "Carte")
    assert saved["required_skills"] == [{"skill": "product:cards", "min_level": 3}]
    assert saved["relaxation"] == [{"after_s": 60, "min_level": 2}, {"after_s": 120, "any_department_agent": True}]

    giulia = user_id(demo, GIULIA_AGENT.email)
    boss.goto(f"{demo.base}/desk/routing/agents")
    form = boss.locator(f"form[data-form=agent][data-user-id='{giulia}']")
    form.locator("textarea[name=skills]").fill("product:cards 9")
    form.locator("input[name=capacity]").fill("whatsapp=4")
    form.locator("button[type=submit]").click()
    form.locator("[data-error-for=skills]", has_text="skills[0].level").wait_for(timeout=WAIT_MS)
    form.locator("textarea[name=skills]").fill("product:cards 4\nlanguage:it 5")
    form.locator("button[type=submit]").click()
    form.locator("[data-status]", has_text="Salvato").wait_for(timeout=WAIT_MS)
    listed = next(a for a in demo.api.get("/api/v1/routing/agents").json() if a["user_id"] == giulia)
    assert listed["skills"] == [{"skill": "language:it", "level": 5}, {"skill": "product:cards", "level": 4}]
    assert listed["capacity"]["whatsapp"]["max"] == 4


def test_an_sla_policy_is_created_in_the_form_with_the_error_at_the_field(page_of, demo):
    boss = page_of(SARA_SUPERVISOR)
    boss.goto(f"{demo.base}/desk/supervisor")
    boss.locator("#sup-queues tr", has_text="Assistenza WhatsApp").wait_for(timeout=WAIT_MS)  # the demo's queue
    boss.click("a[href='/desk/routing/sla']")
    boss.wait_for_url("**/desk/routing/sla")
    boss.locator("details[data-policy] summary", has_text="Demo WhatsApp").wait_for()  # the demo's policy
    form = boss.locator("form[data-form=policy][data-policy-id='']")
    form.locator("input[name=name]").fill("Urgenti")
    form.locator("input[name=first_response_s]").fill("0")
    form.locator("input[name=resolution_s]").fill("3600")
    form.locator("textarea[name=escalation]").fill("breached raise_priority 2")
    form.locator("button[type=submit]").click()
    error = form.locator("[data-error-for=first_response_s]")
    error.wait_for(timeout=WAIT_MS)
    assert error.inner_text().startswith("first_response_s:")
    assert all(p["name"] != "Urgenti" for p in demo.api.get("/api/v1/sla-policies").json())  # nothing saved
    form.locator("input[name=first_response_s]").fill("120")
    form.locator("button[type=submit]").click()
    boss.locator("details[data-policy] summary", has_text="Urgenti").wait_for(timeout=WAIT_MS)  # reloaded
    saved = next(p for p in demo.api.get("/api/v1/sla-policies").json() if p["name"] == "Urgenti")
    assert (saved["first_response_s"], saved["next_response_s"], saved["resolution_s"]) == (120, None, 3600)
    assert saved["escalation"] == [{"on": "breached", "action": "raise_priority", "by": 2}]

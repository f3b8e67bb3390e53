"""The template manager in Chromium against the real demo process (simulator inside): a supervisor writes a
template in the builder, sees the linter's message as they type, saves and submits it, and sees Meta's
(the simulator's) approval arrive live; an agent sends an approved template to a customer whose window is
closed from the composer's picker."""

from __future__ import annotations

import re
from typing import Any

from centralino.demo_access import DEMO_USERS
from tests.browser import test_desk_browser as desk

GIULIA_AGENT, WAIT_MS = desk.GIULIA_AGENT, desk.WAIT_MS
# the desk tests' fixtures: one demo process for this module, a signed-in page per user
demo, dialogs, page_of = desk.demo, desk.dialogs, desk.page_of

SUPERVISOR = next(u for u in DEMO_USERS if u.email.startswith("supervisor"))


def test_a_supervisor_builds_a_template_sees_a_lint_message_submits_it_and_sees_it_approved(page_of: Any,
                                                                                            demo: Any) -> None:
    page = page_of(SUPERVISOR)
    page.goto(f"{demo.base}/desk/templates")
    page.locator("tr.tpl-row", has_text="order_update").first.wait_for(timeout=WAIT_MS)  # synced at start
    page.click("#tpl-new")
    page.wait_for_url("**/desk/templates/new")
    page.fill("#tpl-name", "ritiro_pronto")
    page.fill("#tpl-language", "it")
    page.fill("#tpl-body", "{{1}} il tuo ordine è pronto per il ritiro")
    problem = page.locator("#tpl-problems li[data-code='body.variable_at_start']")
    problem.wait_for(timeout=WAIT_MS)
    assert problem.get_attribute("data-field") == "components[0].text"
    page.fill("#tpl-body", "Ciao {{1}}, il tuo ordine è pronto per il ritiro nel negozio di via Roma.")
    page.fill("#tpl-body-examples input[data-name='1']", "Luca")
    page.fill("#tpl-footer", "Negozio Centralino")
    page.locator("#tpl-no-problems").wait_for(state="visible", timeout=WAIT_MS)
    assert page.locator("#tpl-problems li").count() == 0
    # the server's rendering with the examples as values: what the customer will see
    page.locator("#tpl-preview", has_text="Ciao Luca, il tuo ordine è pronto per il ritiro nel negozio di via Roma."
                 ).wait_for(timeout=WAIT_MS)
    assert page.locator("#tpl-preview").inner_text().endswith("Negozio Centralino")
    page.click("#tpl-save")
    page.wait_for_url(re.compile(r".*/desk/templates/[0-9]+$"), timeout=WAIT_MS)
    assert page.locator("#tpl-status").get_attribute("data-status") == "draft"
    page.click("#tpl-submit")
    page.locator("#tpl-status[data-status='approved']").wait_for(timeout=WAIT_MS)  # the webhook, live
    history = page.locator("#tpl-history").inner_text()
    assert "Inviato" in history and "Approvato" in history
    template = demo.api.get("/api/v1/templates", params={"q": "ritiro_pronto"}).json()["items"][0]
    assert template["status"] == "approved" and template["provider_id"]
    # another language of the same template starts from its content
    page.click("#tpl-add-language")
    page.wait_for_url("**/desk/templates/new?language_of=*")
    assert page.input_value("#tpl-name") == "ritiro_pronto" and page.input_value("#tpl-language") == ""
    assert "Ciao {{1}}" in page.input_value("#tpl-body")
    # Meta pauses it: the list's badge changes live, with the reason
    page.goto(f"{demo.base}/desk/templates")
    row = page.locator("tr.tpl-row", has_text="ritiro_pronto")
    row.locator(".tpl-status-approved").wait_for(timeout=WAIT_MS)
    page.wait_for_timeout(300)  # the event stream is connected once the page has loaded
    paused = demo.api.post(f"/simulator/_sim/templates/{template['provider_id']}/status", json={"status": "PAUSED"})
    assert paused.status_code == 200, paused.text
    row.locator(".tpl-status-paused").wait_for(timeout=WAIT_MS)
    assert "FIRST_PAUSE" in row.inner_text()


def test_an_agent_sends_an_approved_template_from_the_closed_window_picker(page_of: Any, demo: Any) -> None:
    luca = demo.conversations()["Luca Conti"]  # wrote two days ago: the window is closed
    page = page_of(GIULIA_AGENT)
    page.goto(f"{demo.base}/desk/conversations/{luca['id']}")
    item = page.locator(".tp-item", has_text="conversation_reopen")
    item.wait_for(timeout=WAIT_MS)
    item.locator("button").click()
    page.fill("#tp-form input[data-part='body']", "Luca")
    page.locator("#tp-preview", has_text="Ciao Luca, abbiamo una risposta").wait_for(timeout=WAIT_MS)
    page.click("#tp-send")
    page.locator("#tp-sent").wait_for(state="visible", timeout=WAIT_MS)
    sent = page.locator("li.message", has_text="Ciao Luca, abbiamo una risposta").first
    sent.wait_for(timeout=WAIT_MS)  # shown as soon as it is queued; the sender calls the simulator after that
    sent.locator(".tick[data-tick=sent], .tick[data-tick=delivered], .tick[data-tick=read]").wait_for(timeout=WAIT_MS)
    assert "Ciao Luca, abbiamo una risposta" in demo.simulator_saw("393409876543")

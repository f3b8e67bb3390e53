"""The case story in Chromium against the real demo process: Giulia opens a case from a customer's WhatsApp
conversation with his messages attached and sends a task to the back office; a back-office agent finds it in
the department's work view and escalates it to the administration with a reason; the case page shows the
linked messages, the task in its new department (redrawn live on Giulia's open page) and the hand-off (who,
why, how long it was held) and the whole story.

With CENTRALINO_DOC_SHOTS=<folder> it also saves the screenshots docs/cases.md shows."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from centralino.demo_access import DEMO_USERS
from tests.browser.demo_desk import WAIT_MS, Demo, running_demo, signed_in_pages
from tests.test_demo import wait_for

GIULIA_AGENT = next(u for u in DEMO_USERS if u.email.startswith("giulia"))
SHOTS = os.environ.get("CENTRALINO_DOC_SHOTS")
CUSTOMER = "393475558001"


@dataclass(frozen=True)
class Person:
    email: str
    password: str


BACK_OFFICE_AGENT = Person("backoffice@example.com", "back-office-demo")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    yield from running_demo(tmp_path_factory, "cases-demo")


@pytest.fixture
def page_of(browser, demo) -> Iterator[Any]:
    yield from signed_in_pages(browser, demo, height=900)


def shot(page: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / name), full_page=True)


def department(demo: Demo, name: str) -> int:
    answer = demo.api.post("/api/v1/departments", json={"name": name})
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def test_a_case_goes_from_the_conversation_to_the_back_office_and_on_to_the_administration(page_of, demo):
    back_office = department(demo, "Back office")
    administration = department(demo, "Amministrazione")
    created = demo.api.post("/api/v1/users", json={
        "email": BACK_OFFICE_AGENT.email, "display_name": "Bruno Backoffice", "role": "agent",
        "password": BACK_OFFICE_AGENT.password, "department_ids": [back_office]})
    assert created.status_code == 201, created.text
    demo.customer_writes(CUSTOMER, "Buongiorno, il pacco è arrivato rotto", name="Luca Verdi")
    demo.customer_writes(CUSTOMER, "Ordine A-12345, vorrei il rimborso", name="Luca Verdi")
    wait_for("Luca's conversation", lambda: "Luca Verdi" in demo.conversations(), demo.cwd)
    luca = demo.conversations()["Luca Verdi"]

    giulia = page_of(GIULIA_AGENT)
    giulia.goto(f"{demo.base}/desk/conversations/{luca['id']}")
    giulia.locator("li.message.dir-in", has_text="Ordine A-12345").wait_for(timeout=WAIT_MS)
    giulia.locator("#conv-cases[data-loaded]").wait_for(timeout=WAIT_MS)
    giulia.click("#open-case")
    giulia.wait_for_url(re.compile(r".*/cases/new$"))
    giulia.select_option("#n-type", label="Reclamo")
    giulia.fill("#n-title", "Pacco arrivato rotto")
    giulia.click("a[data-last='3']")  # ticks the last three messages in place
    offered = giulia.locator("input[name=message_ids]").count()
    assert offered >= 2 and giulia.locator("input[name=message_ids]:checked").count() == min(3, offered)
    description = giulia.locator("fieldset.type-fields:not([hidden]) input[name$='.description']")
    description.fill("Il cliente ha ricevuto il pacco danneggiato")
    shot(giulia, "case-open.png")
    giulia.click("#open-case-submit")
    giulia.wait_for_url(re.compile(r".*/desk/cases/\d+\?done=created$"))
    case_url = giulia.url.split("?")[0]
    number = giulia.locator("#case-number").inner_text()
    assert re.fullmatch(r"C-\d{4}-\d{6}", number)
    links = giulia.locator("#case-links li[data-kind=message]")
    assert links.count() >= 2 and "Ordine A-12345" in giulia.locator("#case-links").inner_text()

    giulia.click("#new-task summary")
    giulia.fill("#t-title", "Verificare il danno con il corriere")
    giulia.select_option("#t-department", str(back_office))
    giulia.fill("#t-checklist", "Foto del pacco\nDenuncia al corriere")
    giulia.click("#task-save")
    task = giulia.locator("li.task", has_text="Verificare il danno con il corriere")
    task.wait_for(timeout=WAIT_MS)
    assert "Back office" in task.inner_text()

    bruno = page_of(BACK_OFFICE_AGENT)
    bruno.click("#nav-work")
    bruno.wait_for_url(re.compile(rf".*/desk/work/{back_office}$"))
    row = bruno.locator("tr.work-row[data-kind=task]", has_text="Verificare il danno")
    row.wait_for(timeout=WAIT_MS)
    shot(bruno, "case-work.png")
    row.locator("a").click()
    bruno.wait_for_url(re.compile(r".*/desk/cases/\d+#task-\d+$"))
    mine = bruno.locator("li.task", has_text="Verificare il danno")
    mine.locator("[data-check='0']").click()  # ticks "Foto del pacco"
    bruno.locator("li.task [data-check='0'][aria-checked=true]").wait_for(timeout=WAIT_MS)
    mine = bruno.locator("li.task", has_text="Verificare il danno")
    mine.locator("details[data-dialog=escalate] summary").click()
    mine.locator("details[data-dialog=escalate] select").select_option(str(administration))
    mine.locator("details[data-dialog=escalate] textarea").fill("Serve l'autorizzazione al rimborso")
    mine.locator("details[data-dialog=escalate] button[type=submit]").click()
    # the task left Bruno's department, and with it the case: he is back on his (now empty) work view
    bruno.wait_for_url(re.compile(rf".*/desk/work/{back_office}\?done=1$"))
    assert bruno.locator("tr.work-row", has_text="Verificare il danno").count() == 0

    # Giulia's case page, open all along, redraws itself from the live stream (no reload)
    giulia.locator("li.task", has_text="Amministrazione").wait_for(timeout=WAIT_MS)
    assert giulia.url.split("?")[0] == case_url
    assert giulia.locator("li.task [data-check='0'][aria-checked=true]").count() == 1
    handoff = giulia.locator("#case-handoffs tr.handoff")
    assert handoff.count() == 1
    cells = handoff.inner_text()
    for expected in ("Back office", "Amministrazione", "Bruno Backoffice", "Serve l'autorizzazione al rimborso"):
        assert expected in cells, expected
    assert "Back office" in giulia.locator("#case-handoffs").inner_text()  # time held per department
    story = giulia.locator("#case-story li.story-entry")
    kinds = [story.nth(i).get_attribute("data-kind") for i in range(story.count())]
    assert kinds[0] == "message_in" and kinds.index("case_created") < kinds.index("task_escalated")
    assert "Ordine A-12345" in giulia.locator("#case-story").inner_text()
    shot(giulia, "case-page.png")

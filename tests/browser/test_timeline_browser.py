"""The customer panel's Timeline in Chromium against the real demo process: the placeholder is filled, "load
more" appends the next page, the filter reloads, and the customer's text stays text."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from centralino.demo_access import DEMO_USERS
from tests.browser.demo_desk import WAIT_MS, Demo, running_demo, signed_in_pages
from tests.test_demo import wait_for

GIULIA_AGENT = next(u for u in DEMO_USERS if u.email.startswith("giulia"))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    yield from running_demo(tmp_path_factory, "timeline-demo")


@pytest.fixture
def page_of(browser, demo) -> Iterator[Any]:
    yield from signed_in_pages(browser, demo)


def test_the_timeline_fills_pages_and_filters(page_of, demo):
    demo.customer_writes("393475550101", "<b>non grassetto</b>", name="Marta Blu")
    for i in range(31):
        demo.customer_writes("393475550101", f"messaggio {i}", name="Marta Blu")
    wait_for("Marta's conversation", lambda: "Marta Blu" in demo.conversations(), demo.cwd)
    conversation = demo.conversations()["Marta Blu"]
    url = f"/api/v1/contacts/{conversation['contact_id']}/timeline"
    wait_for("her 32 messages in the timeline", lambda: len(demo.api.get(
        url, params={"kind": "message_in", "limit": 100}).json()["items"]) == 32, demo.cwd)  # no redraw after
    page = page_of(GIULIA_AGENT)
    page.goto(f"{demo.base}/desk/conversations/{conversation['id']}")

    entries = page.locator("#timeline-panel[data-loaded] .tl-entry")
    entries.nth(29).wait_for(timeout=WAIT_MS)
    assert entries.count() == 30  # a page
    page.locator("#timeline-more").click()
    page.locator("#timeline-panel .tl-entry >> text=<b>non grassetto</b>").wait_for(timeout=WAIT_MS)
    assert page.locator("#timeline-panel b").count() == 0  # shown as text, never as markup
    assert entries.count() > 30

    page.select_option("#timeline-kind", "cases")
    page.locator("#timeline-panel[data-loaded] #timeline-empty").wait_for(timeout=WAIT_MS)
    page.select_option("#timeline-kind", "messages")
    page.locator("#timeline-panel[data-loaded] .tl-entry").nth(29).wait_for(timeout=WAIT_MS)
    assert page.locator("#timeline-kind").input_value() == "messages"

"""The consent section of the customer panel in Chromium, against the real demo process: Sofia's STOP
(written by the demo's script) shows as a marketing opt-out by keyword; an agent records a new opt-in with
a note through the form, and a customer's live STOP updates the section when the panel redraws."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from centralino.demo_access import DEMO_USERS
from tests.browser.demo_desk import WAIT_MS, Demo, running_demo, signed_in_pages
from tests.test_demo import wait_for

GIULIA_AGENT = next(u for u in DEMO_USERS if u.email.startswith("giulia"))
SOFIA = "393331112222"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    yield from running_demo(tmp_path_factory, "consent-demo")


@pytest.fixture
def page(browser, demo) -> Iterator[Any]:
    pages = signed_in_pages(browser, demo, height=900)
    yield next(pages)(GIULIA_AGENT)
    next(pages, None)  # closes its context


def marketing_state(demo: Demo, contact_id: int) -> dict[str, Any]:
    state: dict[str, Any] = demo.api.get(f"/api/v1/contacts/{contact_id}/consents").json()["state"]["marketing"]
    return state


def test_the_panel_shows_the_stop_and_records_an_opt_in_with_a_note(page, demo):
    sofia = demo.conversations()["Sofia Ricci"]
    wait_for("Sofia's STOP recorded", lambda: marketing_state(demo, sofia["contact_id"])["action"] == "opt_out",
             demo.cwd)
    page.goto(f"{demo.base}/desk/conversations/{sofia['id']}")
    marketing = page.locator("#consent-panel[data-loaded] li[data-purpose=marketing]")
    marketing.wait_for(timeout=WAIT_MS)
    assert "consent-refused" in (marketing.get_attribute("class") or "")
    assert "parola chiave" in marketing.inner_text()
    page.select_option("#consent-purpose", "marketing")
    page.fill("#consent-note", "Ha richiesto di nuovo le offerte al telefono")
    page.click("#consent-form button[data-action=opt_in]")
    page.locator("#consent-panel[data-loaded] li[data-purpose=marketing].consent-allowed").wait_for(timeout=WAIT_MS)
    assert marketing_state(demo, sofia["contact_id"])["source"] == "agent"
    history = page.locator("#consent-panel .consent-history li").all_text_contents()
    assert any("Ha richiesto di nuovo le offerte al telefono" in h for h in history)


def test_a_live_stop_appears_after_the_panel_redraws(page, demo):
    demo.customer_writes("393475550077", "Buongiorno", name="Anna Gialli")
    wait_for("Anna's conversation", lambda: "Anna Gialli" in demo.conversations(), demo.cwd)
    anna = demo.conversations()["Anna Gialli"]
    page.goto(f"{demo.base}/desk/conversations/{anna['id']}")
    page.locator("#consent-panel[data-loaded] li[data-purpose=marketing].consent-refused").wait_for(timeout=WAIT_MS)
    assert "serve un consenso" in page.locator("#consent-panel li[data-purpose=marketing]").inner_text()
    # an opt-in a minute before her STOP (WhatsApp's timestamps have whole seconds: not in the same second)
    earlier = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    demo.api.post(f"/api/v1/contacts/{anna['contact_id']}/consents",
                  json={"purpose": "marketing", "action": "opt_in", "occurred_at": earlier})
    demo.customer_writes("393475550077", "Stop", name="Anna Gialli")
    # her message redraws the conversation; the panel's section is read again when it is redrawn or reloaded
    page.locator("li.message.dir-in", has_text="Stop").wait_for(timeout=WAIT_MS)
    wait_for("Anna's STOP recorded", lambda: marketing_state(demo, anna["contact_id"])["action"] == "opt_out",
             demo.cwd)
    page.reload()
    marketing = page.locator("#consent-panel[data-loaded] li[data-purpose=marketing]")
    marketing.wait_for(timeout=WAIT_MS)
    assert "consent-refused" in (marketing.get_attribute("class") or "") and "parola chiave" in marketing.inner_text()

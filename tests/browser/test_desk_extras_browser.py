"""The desktop's extras in Chromium against the real demo process: unread badges that move live, a
resolved conversation reopened by the customer, the customer panel, the quick-reply picker and
"who else is here"."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from centralino.demo_access import DEMO_USERS
from tests.browser.demo_desk import WAIT_MS, Demo, running_demo, signed_in_pages
from tests.test_demo import wait_for

GIULIA_AGENT = next(u for u in DEMO_USERS if u.email.startswith("giulia"))
SARA_SUPERVISOR = next(u for u in DEMO_USERS if u.email.startswith("supervisor"))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    yield from running_demo(tmp_path_factory, "desk-extras-demo")


@pytest.fixture
def dialogs() -> list[str]:
    return []


@pytest.fixture
def page_of(browser, demo, dialogs) -> Iterator[Any]:
    yield from signed_in_pages(browser, demo, dialogs)


def conversation_of(demo: Demo, name: str) -> dict[str, Any]:
    wait_for(f"{name}'s conversation", lambda: name in demo.conversations(), demo.cwd)
    return demo.conversations()[name]


def test_unread_badges_grow_live_and_clear_when_the_conversation_is_opened(page_of, demo):
    page = page_of(GIULIA_AGENT)
    page.locator("li.row").first.wait_for()
    page.wait_for_timeout(300)
    demo.customer_writes("393475550001", "Buongiorno", name="Luca Neri")
    conversation = conversation_of(demo, "Luca Neri")
    row = page.locator(f"li.row[data-conversation-id='{conversation['id']}']")
    row.locator(".badge.unread", has_text="1").wait_for(timeout=WAIT_MS)
    demo.customer_writes("393475550001", "C'è qualcuno?", name="Luca Neri")
    row.locator(".badge.unread", has_text="2").wait_for(timeout=WAIT_MS)
    row.locator("a").click()
    page.wait_for_url(f"**/desk/conversations/{conversation['id']}")
    page.go_back()
    page.locator(f"li.row[data-conversation-id='{conversation['id']}']").wait_for()
    assert page.locator(f"li.row[data-conversation-id='{conversation['id']}'] .badge.unread").count() == 0


def test_a_resolved_conversation_reopens_live_when_the_customer_writes(page_of, demo):
    demo.customer_writes("393475550002", "Ciao", name="Paola Verdi")
    conversation = conversation_of(demo, "Paola Verdi")
    page = page_of(GIULIA_AGENT)
    page.goto(f"{demo.base}/desk/conversations/{conversation['id']}")
    page.click("button[data-action=resolve]")
    page.locator("#conversation-status", has_text="Risolta").wait_for(timeout=WAIT_MS)
    page.wait_for_timeout(300)
    demo.customer_writes("393475550002", "Scusate, un'altra domanda", name="Paola Verdi")
    page.locator("#conversation-status", has_text="Aperta").wait_for(timeout=WAIT_MS)
    page.locator("li.message.dir-in", has_text="un'altra domanda").wait_for(timeout=WAIT_MS)


def test_the_customer_panel_edits_name_language_tags_and_attributes(page_of, demo, dialogs):
    demo.customer_writes("393475550003", "Salve", name="Profilo WA")
    conversation = conversation_of(demo, "Profilo WA")
    page = page_of(GIULIA_AGENT)
    page.goto(f"{demo.base}/desk/conversations/{conversation['id']}")
    page.fill("#rename-input", "Elena Bassi")
    page.click("#rename button[type=submit]")
    page.locator("h1.customer-name", has_text="Elena Bassi").wait_for(timeout=WAIT_MS)
    page.locator("#profile-name", has_text="Profilo WA").wait_for(timeout=WAIT_MS)
    page.select_option("#contact-language", "en_GB")
    page.locator("#contact-language option[value=en_GB][selected]").wait_for(state="attached", timeout=WAIT_MS)
    page.fill("#tag-input", "VIP")
    page.press("#tag-input", "Enter")
    page.locator("#tags li.tag[data-tag=vip]").wait_for(timeout=WAIT_MS)
    page.fill("#attribute-key", "città")
    page.fill("#attribute-value", "Milano")
    page.click("#attribute-form button[type=submit]")
    page.locator("#panel-error", has_text="attributes.città").wait_for(timeout=WAIT_MS)  # the field is named
    page.fill("#attribute-key", "city")
    page.click("#attribute-form button[type=submit]")
    page.locator("#attributes li[data-key=city] input").wait_for(timeout=WAIT_MS)
    page.click("#tags li.tag[data-tag=vip] button")
    page.locator("#tags li.tag").first.wait_for(state="detached", timeout=WAIT_MS)

    profile = demo.api.get(f"/api/v1/contacts/{conversation['contact_id']}").json()
    assert (profile["display_name"], profile["profile_name"]) == ("Elena Bassi", "Profilo WA")
    assert profile["language"] == "en_GB" and profile["tags"] == [] and profile["attributes"] == {"city": "Milano"}
    # a new WhatsApp profile name no longer replaces the agent's
    demo.customer_writes("393475550003", "Grazie", name="Nuovo Profilo")
    page.locator("#profile-name", has_text="Nuovo Profilo").wait_for(timeout=WAIT_MS)
    assert page.locator("h1.customer-name").inner_text() == "Elena Bassi"
    assert dialogs == []


def test_slash_opens_the_quick_reply_picker_and_inserts_the_rendered_text(page_of, demo, dialogs):
    evil = "<img src=x onerror=alert(1)> Neri"
    demo.customer_writes("393475550004", "Dov'è il mio ordine?", name=evil)
    conversation = conversation_of(demo, evil)
    demo.api.patch(f"/api/v1/contacts/{conversation['contact_id']}", json={"attributes": {"order": "A-42"}})
    for shortcut, title, body in (("ordine", "Stato ordine", "Ciao {{contact.first_name}}, l'ordine "
                                   "{{contact.attributes.order}} è partito. {{agent.name}}"),
                                  ("orari", "Orari", "Siamo aperti dalle 9 alle 18.")):
        answer = demo.api.post("/api/v1/quick-replies", json={"title": title, "shortcut": shortcut, "body": body,
                                                              "shared": True})
        assert answer.status_code == 201, answer.text
    page = page_of(GIULIA_AGENT)
    page.goto(f"{demo.base}/desk/conversations/{conversation['id']}")
    page.click("#composer-text")
    page.keyboard.type("Buongiorno! /or")
    options = page.locator("#qr-picker li.qr-option")
    options.first.wait_for(timeout=WAIT_MS)
    assert options.count() == 2  # ordine, orari
    page.keyboard.type("d")  # filtered as you type
    page.locator("#qr-picker li.qr-option").nth(1).wait_for(state="detached", timeout=WAIT_MS)
    page.keyboard.press("Enter")
    assert page.locator("#qr-picker").is_hidden()
    assert page.input_value("#composer-text") == (
        "Buongiorno! Ciao <img, l'ordine A-42 è partito. Giulia Agente")
    # arrows move through the list; Esc closes it without leaving the conversation
    page.fill("#composer-text", "")
    page.keyboard.type("/")
    options.first.wait_for(timeout=WAIT_MS)
    page.keyboard.press("ArrowDown")
    assert "active" in (page.locator("#qr-picker li.qr-option").nth(1).get_attribute("class") or "")
    page.keyboard.press("Escape")
    assert page.locator("#qr-picker").is_hidden() and "/conversations/" in page.url
    page.keyboard.type("o")  # the list comes back, by shortcut: orari, ordine
    page.locator("#qr-picker li.qr-option").nth(1).wait_for(timeout=WAIT_MS)
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Tab")
    assert page.input_value("#composer-text") == "Siamo aperti dalle 9 alle 18."
    assert page.locator("img[src=x]").count() == 0 and dialogs == []


def test_another_agent_viewing_and_typing_is_shown_within_a_second(page_of, demo):
    demo.customer_writes("393475550005", "Ho bisogno di aiuto", name="Carla Blu")
    conversation = conversation_of(demo, "Carla Blu")
    giulia = page_of(GIULIA_AGENT)
    giulia.goto(f"{demo.base}/desk/conversations/{conversation['id']}")
    giulia.wait_for_timeout(500)  # her event stream is connected
    sara = page_of(SARA_SUPERVISOR)
    sara.goto(f"{demo.base}/desk/conversations/{conversation['id']}")
    presence = giulia.locator("#presence")
    presence.filter(has_text="Sara Supervisor sta guardando").wait_for(timeout=3000)
    sara.click("#composer-text")
    sara.keyboard.type("Ci penso io")
    presence.filter(has_text="Sara Supervisor sta scrivendo…").wait_for(timeout=3000)
    sara.close()  # she leaves: the line goes
    presence.wait_for(state="hidden", timeout=WAIT_MS)


def test_the_quick_replies_page_creates_edits_and_deletes(page_of, demo, dialogs):
    page = page_of(GIULIA_AGENT)
    page.goto(f"{demo.base}/desk/quick-replies")
    page.fill("#qr-title", "Firma")
    page.fill("#qr-shortcut", "firma")
    page.fill("#qr-body", "Cordiali saluti, {{agent.surname}}")
    page.click("#qr-save")
    page.locator("#qr-error", has_text="body").wait_for(timeout=WAIT_MS)  # the unknown variable, named
    assert "agent.surname" in page.locator("#qr-error").inner_text()
    page.fill("#qr-body", "Cordiali saluti, {{agent.name}}")
    page.click("#qr-save")
    row = page.locator("tr.qr-row[data-shortcut=firma]")
    row.wait_for(timeout=WAIT_MS)
    assert "Solo io" in row.inner_text()  # personal: an agent cannot share
    row.locator("button[data-qr=edit]").click()
    page.fill("#qr-title", "Firma breve")
    page.click("#qr-save")
    page.locator("tr.qr-row[data-title='Firma breve']").wait_for(timeout=WAIT_MS)
    page.locator("tr.qr-row[data-shortcut=firma] button[data-qr=delete]").click()
    page.locator("tr.qr-row[data-shortcut=firma]").wait_for(state="detached", timeout=WAIT_MS)
    assert dialogs == []

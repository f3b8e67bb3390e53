"""The agent desktop in Chromium against the real demo process (simulator inside): sign in, live
customer messages, replies with ticks, the closed window, private notes, visibility by URL, escaping.

One demo process and one browser for the module; each test signs in in its own browser context."""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterator
from typing import Any

import pytest

from centralino.demo_access import DEMO_USERS
from tests.browser.demo_desk import WAIT_MS, Demo, running_demo, signed_in_pages

GIULIA_AGENT = next(u for u in DEMO_USERS if u.email.startswith("giulia"))  # Assistenza clienti
MARCO_AGENT = next(u for u in DEMO_USERS if u.email.startswith("marco"))  # Vendite: not the demo channel


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    yield from running_demo(tmp_path_factory, "desk-demo")


@pytest.fixture
def dialogs() -> list[str]:
    """Every alert/confirm/prompt any page opened (none should)."""
    return []


@pytest.fixture
def page_of(browser, demo, dialogs) -> Iterator[Any]:
    yield from signed_in_pages(browser, demo, dialogs)


def test_sign_in_and_a_customer_message_appears_live_in_the_inbox(page_of, demo):
    page = page_of(GIULIA_AGENT)
    rows = page.locator("li.row")
    rows.first.wait_for()
    assert rows.count() == 4
    page.wait_for_timeout(300)  # the event stream is connected once the page has loaded
    demo.customer_writes("393471234567", "Il pacco è arrivato, grazie!")
    first = page.locator("li.row").first
    first.locator(".preview", has_text="Il pacco è arrivato").wait_for(timeout=WAIT_MS)


def test_reply_from_the_composer_and_the_ticks_arrive(page_of, demo):
    conversation = demo.conversations()["Giulia Bianchi"]
    page = page_of(GIULIA_AGENT)
    page.goto(f"{demo.base}/desk/conversations/{conversation['id']}")
    page.fill("#composer-text", "Le spediamo la sostituzione oggi.")
    page.keyboard.press("Control+Enter")
    mine = page.locator("li.message.dir-out", has_text="Le spediamo la sostituzione oggi.")
    mine.wait_for(timeout=WAIT_MS)
    # queued/accepted, then sent and delivered as the simulator reports them, without a reload
    mine.locator(".tick[data-tick=delivered], .tick[data-tick=read]").wait_for(timeout=WAIT_MS)
    # and the customer writing now shows up in the open conversation too
    page.wait_for_timeout(300)
    demo.customer_writes("393471234567", "Perfetto")
    page.locator("li.message.dir-in", has_text="Perfetto").wait_for(timeout=WAIT_MS)


def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


def test_send_a_photo_with_a_caption_and_a_location_from_the_composer(page_of, demo):
    conversation = demo.conversations()["Giulia Bianchi"]
    page = page_of(GIULIA_AGENT)
    page.goto(f"{demo.base}/desk/conversations/{conversation['id']}")
    page.fill("#composer-text", "Ecco l'etichetta di reso")
    page.set_input_files("#attach", files=[{"name": "etichetta.png", "mimeType": "image/png", "buffer": tiny_png()}])
    photo = page.locator("li.message.dir-out.type-image", has_text="Ecco l'etichetta di reso")
    photo.wait_for(timeout=WAIT_MS)
    assert photo.locator("img").count() == 1
    page.click("#location-toggle")
    page.fill("#location-lat", "45.4642")
    page.fill("#location-lon", "9.19")
    page.fill("#location-name", "Punto di ritiro")
    page.click("#location-send")
    place = page.locator("li.message.dir-out.type-location", has_text="Punto di ritiro")
    place.wait_for(timeout=WAIT_MS)
    assert "openstreetmap.org" in place.locator("a").get_attribute("href")
    place.locator(".tick[data-tick=delivered], .tick[data-tick=read]").wait_for(timeout=WAIT_MS)


def test_a_private_note_is_shown_and_never_reaches_the_customer(page_of, demo):
    conversation = demo.conversations()["Marco Rossi"]
    wa_id = next(i["value"] for i in demo.api.get(f"/api/v1/contacts/{conversation['contact_id']}").json()[
        "identities"] if i["kind"] == "whatsapp")
    sent_before = demo.api.get("/simulator/_sim/stats").json()["numbers"]  # per number: accepted, refused…
    page = page_of(GIULIA_AGENT)
    page.goto(f"{demo.base}/desk/conversations/{conversation['id']}")
    page.click("button[data-mode=note]")
    page.fill("#composer-text", "Nota interna: cliente VIP")
    page.click("#composer-submit")
    page.locator("li.message.dir-int", has_text="Nota interna: cliente VIP").wait_for(timeout=WAIT_MS)
    page.wait_for_timeout(1000)  # a sender that would send it has had its chance
    assert "Nota interna" not in demo.simulator_saw(wa_id)
    assert demo.api.get("/simulator/_sim/stats").json()["numbers"] == sent_before


def test_a_closed_window_shows_the_template_path_instead_of_the_text_box(page_of, demo):
    conversation = demo.conversations()["Sofia Ricci"]
    demo.close_window(conversation["id"])
    page = page_of(GIULIA_AGENT)
    page.goto(f"{demo.base}/desk/conversations/{conversation['id']}")
    assert page.locator("#window-closed").is_visible()
    assert not page.locator("#composer-text").is_visible()
    assert "modello approvato" in page.locator("#window-closed").inner_text()
    page.click("button[data-mode=note]")  # notes are still possible
    assert page.locator("#composer-text").is_visible()


def test_a_window_that_closed_while_the_page_was_open_switches_to_the_template_path_on_send(page_of, demo):
    conversation = demo.conversations()["Giulia Bianchi"]
    page = page_of(GIULIA_AGENT)
    page.goto(f"{demo.base}/desk/conversations/{conversation['id']}")
    assert page.locator("#composer-text").is_visible()  # open when the page loaded
    demo.close_window(conversation["id"])
    try:
        page.fill("#composer-text", "Questo non deve partire")
        page.keyboard.press("Control+Enter")
        page.locator("#window-closed").wait_for(timeout=WAIT_MS)  # the server's window.closed, understood
        assert not page.locator("#composer-text").is_visible()
        assert "Questo non deve partire" not in demo.simulator_saw("393471234567")
    finally:
        demo.customer_writes("393471234567", "Ci sono ancora")  # the window opens again for the other tests
        page.locator("li.message.dir-in", has_text="Ci sono ancora").wait_for(timeout=WAIT_MS)


def test_an_agent_of_another_department_gets_not_found_by_url(page_of, demo):
    conversation = demo.conversations()["Giulia Bianchi"]
    page = page_of(MARCO_AGENT)
    answer = page.goto(f"{demo.base}/desk/conversations/{conversation['id']}")
    assert answer is not None and answer.status == 404
    assert "Giulia Bianchi" not in page.content()
    page.goto(f"{demo.base}/desk/")
    assert page.locator("li.row").count() == 0  # nor in the inbox


def test_a_customer_named_like_markup_is_shown_as_text(page_of, demo, dialogs):
    evil = "<img src=x onerror=alert(1)>"
    page = page_of(GIULIA_AGENT)
    page.locator("li.row").first.wait_for()
    page.wait_for_timeout(300)
    demo.customer_writes("393479990001", f"ciao {evil}", name=evil)
    row = page.locator("li.row .name", has_text=evil)
    row.wait_for(timeout=WAIT_MS)  # arrived live, as text
    assert row.inner_text() == evil
    row.click()
    page.locator("h1.customer-name").wait_for()
    assert page.locator("h1.customer-name").inner_text() == evil
    assert page.locator("li.message.dir-in .text", has_text=evil).count() == 1
    assert page.locator("img[src=x]").count() == 0
    assert dialogs == []


def test_an_assignment_appears_live_and_the_keyboard_opens_a_conversation(page_of, demo):
    conversation = demo.conversations()["Marco Rossi"]
    page = page_of(GIULIA_AGENT)
    page.locator("li.row").first.wait_for()
    page.wait_for_timeout(300)
    # the supervisor assigns Marco Rossi's conversation to Giulia (through the API, as another screen would)
    giulia_id = next(u["id"] for u in demo.api.get("/api/v1/users").json()
                     if u["email"] == GIULIA_AGENT.email)
    answer = demo.api.put(f"/api/v1/conversations/{conversation['id']}/assignee", json={"user_id": giulia_id})
    assert answer.status_code == 204, answer.text
    row = page.locator(f"li.row[data-conversation-id='{conversation['id']}']")
    row.locator(".assignee", has_text="Giulia Agente").wait_for(timeout=WAIT_MS)
    # j selects the first row, j the next…; Enter opens the selected one
    index = [int(i) for i in page.locator("li.row").evaluate_all(
        "rows => rows.map(r => r.dataset.conversationId)")].index(conversation["id"])
    for _ in range(index + 1):
        page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/desk/conversations/{conversation['id']}")
    assert page.locator("#conversation-assignee").inner_text() == "Giulia Agente"
    page.keyboard.press("Escape")
    page.wait_for_url(re.compile(r".*/desk/$"))

"""The agent's side of the virtual agent in Chromium: a suggestion appears live when the runtime announces it,
one click sends it as the agent and the ticks arrive from the simulator; the handoff summary appears live and
shows customer values as text; "Edit" fills the composer; "Take over" ends the bot's session and assigns.

The demo runs in this process (the simulator inside, workers on), so the test publishes the runtime's events on
the real bus after writing the bot's rows with the factories of tests/bot_helpers.py: the desk is tested without
depending on the runtime's decisions."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import select

from centralino.config import Settings
from centralino.demo_access import DEMO_USERS
from centralino.services import Services, build_services
from centralino.storage import bot as bot_repo
from centralino.storage.tables import contact_identities, conversations, messages, users
from centralino.storage.tables_bot import bot_sessions
from tests.access_helpers import cheap_hashing
from tests.bot_helpers import HANDOFF_SUMMARY, bot_session, bot_turn, emit
from tests.browser.demo_desk import WAIT_MS, signed_in_pages
from tests.processes import free_port

GIULIA_AGENT = next(u for u in DEMO_USERS if u.email.startswith("giulia"))  # Assistenza clienti
GIULIA_CUSTOMER = "393471234567"
SOFIA_CUSTOMER = "393331112222"
MARCO_CUSTOMER = "447700900123"
XSS = "<img src=x onerror=alert(1)>"


@dataclass
class LiveDemo:
    base: str
    services: Services

    def conversation_of(self, wa_id: str) -> int:
        with self.services.engine.connect() as conn:
            return int(conn.execute(select(conversations.c.id).join(
                contact_identities, contact_identities.c.contact_id == conversations.c.contact_id)
                .where(contact_identities.c.value == wa_id)).scalar_one())

    def user_id(self, email: str) -> int:
        with self.services.engine.connect() as conn:
            return int(conn.execute(select(users.c.id).where(users.c.email == email)).scalar_one())

    def emit(self, event_type: str, **payload: Any) -> None:
        emit(self.services.engine, self.services.bus, event_type, **payload)

    def customer_writes(self, wa_id: str, body: str, name: str) -> None:
        answer = httpx.post(f"{self.base}/simulator/_sim/customers/{wa_id}/messages",
                            json={"type": "text", "body": body, "name": name}, timeout=10)
        assert answer.status_code < 300, answer.text


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, sqlite_template) -> Iterator[LiveDemo]:
    from centralino.demo import Demo

    cwd = tmp_path_factory.mktemp("bot-desk")
    shutil.copy(sqlite_template, cwd / "centralino.db")
    port = free_port()
    settings = cheap_hashing(Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite:///{cwd / 'centralino.db'}", media_dir=cwd / "media", run_workers=True,
        migrate_on_start=False, worker_poll_s=0.05, host="127.0.0.1", port=port, sender_pair_interval_s=0))
    services = build_services(settings, migrate=False)
    demo = Demo(settings, services)
    server = uvicorn.Server(uvicorn.Config(demo.build_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 90
    while not demo.done.is_set() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert demo.done.is_set(), "the demo's customers did not play in time"
    while not bot_enabled(services) and time.monotonic() < deadline + 60:  # its model trained (demo_bot.py)
        time.sleep(0.1)
    assert bot_enabled(services), "the demo's bot was not enabled in time"
    try:
        yield LiveDemo(f"http://127.0.0.1:{port}", services)
    finally:
        server.should_exit = True
        thread.join(20)
        services.dispose()


def bot_enabled(services: Services) -> bool:
    with services.engine.connect() as conn:
        return bool(bot_repo.enabled_channels(conn))


@pytest.fixture
def dialogs() -> list[str]:
    return []


@pytest.fixture
def page_of(browser, demo, dialogs) -> Iterator[Any]:
    yield from signed_in_pages(browser, demo, dialogs)


def test_a_suggestion_appears_live_and_one_click_sends_it_with_ticks(page_of, demo, dialogs):
    conversation = demo.conversation_of(GIULIA_CUSTOMER)
    bot_session(demo.services.engine, conversation, state="handed_off", summary=HANDOFF_SUMMARY)
    page = page_of(GIULIA_AGENT)
    page.goto(f"{demo.base}/desk/conversations/{conversation}")
    page.locator("#bot-summary").wait_for()
    assert page.locator("#bot-suggestion").count() == 0
    page.wait_for_timeout(300)  # the event stream is connected once the page has loaded
    text = "Il suo ordine 4711 è partito ieri: arriva domani con BRT."
    turn = bot_turn(demo.services.engine, conversation, suggestion=text)
    demo.emit("bot.suggested", conversation_id=conversation, turn_id=turn)
    card = page.locator("#bot-suggestion")
    card.wait_for(timeout=WAIT_MS)
    assert card.locator("#bot-suggestion-text").inner_text() == text
    page.click("#bot-send")
    mine = page.locator("li.message.dir-out", has_text="arriva domani con BRT")
    mine.wait_for(timeout=WAIT_MS)
    page.locator("#bot-suggestion").wait_for(state="detached", timeout=WAIT_MS)
    # queued, then sent and delivered as the simulator reports them, without a reload
    mine.locator(".tick[data-tick=delivered], .tick[data-tick=read]").wait_for(timeout=WAIT_MS)
    with demo.services.engine.connect() as conn:
        origins = conn.execute(select(messages.c.origin).where(messages.c.conversation_id == conversation,
                                                               messages.c.text == text)).scalars().all()
    assert origins == [f"agent:{demo.user_id(GIULIA_AGENT.email)}"]
    assert dialogs == []


def test_edit_puts_the_suggestion_in_the_composer(page_of, demo):
    conversation = demo.conversation_of(MARCO_CUSTOMER)  # the demo replied there, no agent has yet
    bot_session(demo.services.engine, conversation, state="handed_off", summary=HANDOFF_SUMMARY)
    text = "Certo, mi indica il nuovo indirizzo completo?"
    bot_turn(demo.services.engine, conversation, suggestion=text)
    page = page_of(GIULIA_AGENT)
    page.goto(f"{demo.base}/desk/conversations/{conversation}")
    page.click("#bot-edit")
    assert page.input_value("#composer-text") == text


def test_the_handoff_summary_appears_live_and_take_over_assigns(page_of, demo, dialogs):
    conversation = demo.conversation_of(SOFIA_CUSTOMER)
    bot_session(demo.services.engine, conversation, state="active", intent="opening_hours")
    page = page_of(GIULIA_AGENT)
    row = page.locator(f'li.row[data-conversation-id="{conversation}"]')
    row.locator(".badge.bot-owner").wait_for(timeout=WAIT_MS)  # the inbox shows who answers
    page.goto(f"{demo.base}/desk/conversations/{conversation}")
    page.locator("#bot-owner").wait_for()
    page.wait_for_timeout(300)
    # the runtime hands off: the summary card appears, the badge goes, with customer values as text
    bot_session(demo.services.engine, conversation, state="handed_off", summary={
        **HANDOFF_SUMMARY, "intent": "opening_hours", "slots": {"negozio": XSS},
        "text": "Customer (it): opening_hours (91%); handed off: not understood after rephrasing"})
    demo.emit("bot.handed_off", conversation_id=conversation, reason="not_understood")
    summary = page.locator("#bot-summary")
    summary.wait_for(timeout=WAIT_MS)
    summary.locator("#bot-slots", has_text=XSS).wait_for(timeout=WAIT_MS)  # the markup shown as text
    assert "opening_hours" in summary.locator("#bot-summary-text").inner_text()
    page.locator("#bot-owner").wait_for(state="detached", timeout=WAIT_MS)
    assert page.locator("#bot-slots img").count() == 0 and dialogs == []
    # a new session, and the agent takes over from the bot
    bot_session(demo.services.engine, conversation, state="active", intent="opening_hours")
    page.reload()
    page.click("#bot-take-over")
    page.locator("#conversation-assignee", has_text=GIULIA_AGENT.display_name).wait_for(timeout=WAIT_MS)
    page.locator("#bot-owner").wait_for(state="detached", timeout=WAIT_MS)
    with demo.services.engine.connect() as conn:
        state = conn.execute(select(bot_sessions.c.state).where(bot_sessions.c.conversation_id == conversation)).scalar()
        assignee = conn.execute(select(conversations.c.assignee_user_id)
                                .where(conversations.c.id == conversation)).scalar()
    assert state == "ended" and assignee == demo.user_id(GIULIA_AGENT.email)


def test_the_bots_own_suggestion_to_a_new_customer_is_sent_with_one_click(page_of, demo, dialogs):
    """No factory: the demo's bot (refund: automation "suggest") decides, the desk shows and sends it."""
    page = page_of(GIULIA_AGENT)
    page.locator("li.row").first.wait_for()
    page.wait_for_timeout(300)
    demo.customer_writes("393475550001", "voglio un rimborso", "Anna Neri")
    page.locator("li.row", has_text="Anna Neri").wait_for(timeout=WAIT_MS)
    conversation = demo.conversation_of("393475550001")
    page.goto(f"{demo.base}/desk/conversations/{conversation}")
    card = page.locator("#bot-suggestion")
    card.wait_for(timeout=WAIT_MS)
    assert "rimborso" in card.locator("#bot-suggestion-text").inner_text()
    page.locator("#bot-summary").wait_for()
    page.click("#bot-send")
    mine = page.locator("li.message.dir-out", has_text="Il rimborso viene accreditato")
    mine.wait_for(timeout=WAIT_MS)
    mine.locator(".tick[data-tick=delivered], .tick[data-tick=read]").wait_for(timeout=WAIT_MS)
    page.locator("#bot-suggestion").wait_for(state="detached", timeout=WAIT_MS)
    assert dialogs == []

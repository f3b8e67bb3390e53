"""The campaign page in Chromium against a real server (embedded workers): a supervisor starts a planned
campaign; the counters move from planned to queued and the status to completed without a reload (the page
polls the progress)."""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import expect

from centralino.domain.access import Language, Principal, Role
from tests.access_helpers import cheap_hashing
from tests.campaign_helpers import SUPERVISOR, approved_template, contacts_with
from tests.factories import whatsapp_channel
from tests.processes import free_port

WAIT_MS = 20_000
ADMIN = Principal(role=Role.ADMIN, user_id=None, via="integration")
PASSWORD = "supervisor-password-1"


@pytest.fixture
def db_url(tmp_path, sqlite_template) -> str:
    """One database is enough for the page (the campaign rules run on both in tests/app)."""
    path = tmp_path / "centralino.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def settings(settings):
    return cheap_hashing(settings).model_copy(update={"run_workers": True})


@pytest.fixture
def server(settings, services) -> Iterator[str]:
    from centralino.web.app import create_app

    port = free_port()
    config = uvicorn.Config(create_app(settings, services), host="127.0.0.1", port=port, log_level="warning")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not running.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(10)


def test_the_campaign_page_follows_the_campaign_live(browser, server, services):
    channel_id = whatsapp_channel(services)  # its Graph API is unreachable: messages stay queued, that is enough
    template_id = approved_template(services)
    contacts_with(services, 5, tags=("vip",), attributes={"city": "Milano"})
    services.admin.do_create_user(ADMIN, email="sara@example.com", display_name="Sara", role=Role.SUPERVISOR,
                                  password=PASSWORD, language=Language.IT, department_ids=[])
    campaign = services.campaigns.do_create(SUPERVISOR, {
        "name": "Primavera", "channel_id": channel_id, "template_id": template_id, "audience": {"tags": ["vip"]},
        "parameters": {"1": {"field": "display_name"}, "2": {"attribute": "city"}, "3": {"text": "X"}},
        "rate_per_s": 10, "daily_tier": "unlimited"})
    services.campaigns.do_plan(SUPERVISOR, int(campaign["id"]))
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="it-IT")
    page: Any = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(f"{server}/desk/sign-in")
        page.fill("input[name=email]", "sara@example.com")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r".*/desk/(\?.*)?$"))
        page.click("a[href='/desk/campaigns']")
        page.click("text=Primavera")
        assert page.locator("#camp-count-planned").inner_text() == "5"
        assert page.locator("button[data-action=pause]").is_hidden()
        page.click("button[data-action=start]")
        page.locator("#camp-status[data-status=running]").wait_for(timeout=WAIT_MS)
        assert page.locator("#camp-status").inner_text() == "in corso"
        expect(page.locator("#camp-count-planned")).to_have_text("0", timeout=WAIT_MS)  # live, no reload
        assert page.locator("#camp-count-queued").inner_text() == "5"
        assert page.locator("button[data-action=start]").is_hidden()
        # everyone handed to the sender: the campaign completes, and the page shows it without a reload
        page.locator("#camp-status[data-status=completed]").wait_for(timeout=WAIT_MS)
        assert page.locator("#camp-status").inner_text() == "completata"
        assert page.locator("button[data-action=cancel]").is_hidden()
        assert page.locator("button[data-action=retry-failed]").is_visible()
        assert not errors, errors
    finally:
        context.close()

"""The desktop's browser tests share this: the real demo process (simulator inside) driven over its API,
and agents signed in, each in a browser context of their own."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.processes import free_port
from tests.test_demo import demo_process, wait_for

TOKEN = {"Authorization": "Bearer demo-token"}
WAIT_MS = 10_000


class Demo:
    def __init__(self, cwd: Path, port: int) -> None:
        self.cwd = cwd
        self.base = f"http://127.0.0.1:{port}"
        self.api = httpx.Client(base_url=self.base, headers=TOKEN, timeout=10)

    def conversations(self) -> dict[str, dict[str, Any]]:
        return {c["contact_name"]: c for c in self.api.get("/api/v1/conversations").json()["items"]}

    def customer_writes(self, wa_id: str, body: str, name: str | None = None) -> None:
        answer = self.api.post(f"/simulator/_sim/customers/{wa_id}/messages",
                               json={"type": "text", "body": body, **({"name": name} if name else {})})
        assert answer.status_code < 300, answer.text

    def simulator_saw(self, wa_id: str) -> str:
        return self.api.get(f"/simulator/_sim/customers/{wa_id}/conversation").text

    def deliveries_settled(self) -> bool:
        with sqlite3.connect(self.cwd / "var" / "centralino.db") as db:
            return db.execute("SELECT count(*) FROM webhook_deliveries WHERE state = 'pending'").fetchone()[0] == 0

    def close_window(self, conversation_id: int) -> None:
        """As if the customer last wrote two days ago (the demo's SQLite database, written directly)."""
        with sqlite3.connect(self.cwd / "var" / "centralino.db") as db:
            db.execute("UPDATE conversations SET window_expires_at = '2020-01-01 00:00:00.000000' WHERE id = ?",
                       (conversation_id,))


def running_demo(tmp_path_factory: pytest.TempPathFactory, name: str, *, bot: bool = False) -> Iterator[Demo]:
    """A demo process for a module's tests, once its four conversations are there and its virtual agent is
    ready; the virtual agent then stops answering on the demo channel unless `bot`: it starts once its model is
    trained, seconds after the script on an idle machine, later on a busy one, so a customer's message in a test
    would otherwise reach the bot or the queues depending on the machine's load."""
    cwd = tmp_path_factory.mktemp(name)
    port = free_port()
    with demo_process(cwd, port):
        running = Demo(cwd, port)
        wait_for("the demo's four conversations", lambda: len(running.conversations()) == 4, cwd)
        # and its script played to the end (the customers' taps and STOP come last; one arriving after a test
        # closed a window would open it again), every webhook of it applied
        wait_for("the demo's script", lambda: "customers chatting" in (cwd / "demo.log").read_text(), cwd)
        wait_for("the demo's webhooks applied", running.deliveries_settled, cwd)
        wait_for("the demo's virtual agent", lambda: "the virtual agent answers" in (cwd / "demo.log").read_text(),
                 cwd, timeout=180)
        if not bot:
            channels = running.api.get("/api/v1/bot/channels").json()
            enabled = [c for c in channels if c["enabled"]]
            assert enabled, f"the demo's log says its bot answers, yet no channel has it enabled: {channels}"
            answer = running.api.patch(f"/api/v1/bot/channels/{enabled[0]['channel_id']}", json={"enabled": False})
            assert answer.status_code == 200, answer.text
        yield running


def signed_in_pages(browser: Any, demo: Demo, dialogs: list[str] | None = None, *,
                    height: int = 800) -> Iterator[Callable[[Any], Any]]:
    """open_as(user): a page of the desk signed in as `user`; every dialog a page opens is noted in `dialogs`
    and dismissed. The contexts close when the test ends."""
    contexts = []

    def open_as(user: Any) -> Any:
        context = browser.new_context(viewport={"width": 1280, "height": height}, locale="it-IT")
        contexts.append(context)
        page = context.new_page()
        if dialogs is not None:
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(f"{demo.base}/desk/")
        page.fill("input[name=email]", user.email)
        page.fill("input[name=password]", user.password)
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r".*/desk/(\?.*)?$"))
        return page

    yield open_as
    for context in contexts:
        context.close()

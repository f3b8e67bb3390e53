"""The bot's administration pages (/desk/bot/…) in Chromium against the real demo process, checked against the
demo's own database: a supervisor creates an intent and gives it examples (each held back or not by its text's
hash), edits a dialog flow in the YAML editor (a wrong one is refused under the editor and nothing is saved),
trains a model and sees its figures — the version's state, accuracy and reason in the page's language, and the new
intent's precision and coverage on the held-back examples, as the stored evaluation gives them."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest

from centralino.app.bot_admin import intent_figures
from centralino.demo_access import DEMO_USERS
from centralino.domain.bot_config import eval_split
from centralino.web.desk.bot_pages import model_reason
from centralino.web.desk.i18n import translator
from tests.browser.demo_desk import WAIT_MS, Demo, running_demo, signed_in_pages
from tests.test_demo import wait_for

SARA_SUPERVISOR = next(u for u in DEMO_USERS if u.email.startswith("supervisor"))
TRAIN_MS = 120_000  # the demo trains with the default encoder (USE): seconds, more on a busy machine
PHRASES = [
    "vorrei comprare una carta regalo", "avete buoni regalo", "posso regalare una gift card",
    "quanto costa la carta regalo", "carta regalo da 50 euro", "come uso il buono regalo",
    "il mio buono regalo è scaduto", "saldo della carta regalo", "regalare un buono a un'amica",
    "do you sell gift cards", "how do I use my gift card", "gift card balance please",
]
# two held back at least: the page then has precision and coverage to show for the new intent
EXAMPLES = [p for p in PHRASES if eval_split(p) == "eval"][:3] + [p for p in PHRASES if eval_split(p) == "train"][:8]
NEW_PROMPT = "Mi scrive il numero dell'ordine, per favore? (6 cifre)"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    yield from running_demo(tmp_path_factory, "bot-admin-demo")


@pytest.fixture
def page_of(browser, demo) -> Iterator[Any]:
    yield from signed_in_pages(browser, demo, height=900)


def db_rows(demo: Demo, sql: str, *params: Any) -> list[dict[str, Any]]:
    """What the demo process stored (its SQLite database, read directly)."""
    with sqlite3.connect(demo.cwd / "var" / "centralino.db") as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute(sql, params).fetchall()]


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def test_create_an_intent_with_examples(page_of, demo):
    assert sum(eval_split(e) == "eval" for e in EXAMPLES) >= 2
    boss = page_of(SARA_SUPERVISOR)
    boss.goto(f"{demo.base}/desk/bot/intents")
    form = boss.locator("#new-intent")
    form.locator("input[name=name]").fill("gift_card")
    form.locator("textarea[name='answers.it']").fill("Le carte regalo si comprano in cassa o sul sito.")
    form.locator("button[type=submit]").click()
    boss.wait_for_url("**/desk/bot/intents/*")
    for text in EXAMPLES:
        adding = boss.locator("#add-example")
        adding.locator("input[name=text]").fill(text)
        adding.locator("button[type=submit]").click()
        boss.locator("#examples tr[data-example] td", has_text=text).first.wait_for(timeout=WAIT_MS)  # reloaded

    [intent] = db_rows(demo, "SELECT * FROM bot_intents WHERE name = 'gift_card'")
    assert (intent["automation"], intent["threshold"], intent["enabled"]) == ("suggest", 0.8, 1)
    assert json.loads(intent["answers"]) == {"it": "Le carte regalo si comprano in cassa o sul sito."}
    stored = db_rows(demo, "SELECT id, text, split, source FROM bot_examples WHERE intent_id = ? ORDER BY id",
                     intent["id"])
    assert [(e["text"], e["split"], e["source"]) for e in stored] == [(t, eval_split(t), "ui") for t in EXAMPLES]
    shown = boss.locator("#examples tr[data-example]")
    assert sorted(int(shown.nth(i).get_attribute("data-example")) for i in range(shown.count())) == [
        e["id"] for e in stored]


def test_edit_a_flow_and_a_wrong_one_is_refused_under_the_editor(page_of, demo):
    [before] = db_rows(demo, "SELECT * FROM bot_flows WHERE name = 'order_status'")
    boss = page_of(SARA_SUPERVISOR)
    boss.goto(f"{demo.base}/desk/bot/flows")
    boss.click("#flows tr[data-flow=order_status] a")
    boss.wait_for_url(f"**/desk/bot/flows/{before['id']}")
    editor = boss.locator("#flow-editor textarea[name=source]")
    source = editor.input_value()
    assert source == before["source"]
    old_prompt = json.loads(before["definition"])["steps"][0]["prompt"]["it"]
    edited = source.replace(old_prompt, NEW_PROMPT, 1)
    assert edited != source
    editor.fill(edited)
    boss.locator("#flow-editor button[type=submit]").click()
    first_step = boss.locator("#steps li").first
    first_step.filter(has_text=NEW_PROMPT).wait_for(timeout=WAIT_MS)  # reloaded with the new text
    assert f"v{before['version'] + 1}" in boss.locator("h1").inner_text()
    [after] = db_rows(demo, "SELECT * FROM bot_flows WHERE id = ?", before["id"])
    assert (after["version"], after["source"]) == (before["version"] + 1, edited)
    assert json.loads(after["definition"])["steps"][0]["prompt"]["it"] == NEW_PROMPT

    editor = boss.locator("#flow-editor textarea[name=source]")
    editor.fill(edited.replace("kind: ask", "kind: wonder", 1))
    boss.locator("#flow-editor button[type=submit]").click()
    error = boss.locator("#flow-editor [data-error]")
    error.wait_for(timeout=WAIT_MS)
    assert error.inner_text().startswith("steps[0].kind")
    assert db_rows(demo, "SELECT version, source FROM bot_flows WHERE id = ?", before["id"]) == [
        {"version": after["version"], "source": edited}]


def test_train_and_see_the_models_figures(page_of, demo):
    if not db_rows(demo, "SELECT id FROM bot_intents WHERE name = 'gift_card'"):  # run on its own: over the API
        created = demo.api.post("/api/v1/bot/intents", json={"name": "gift_card", "answers": {"it": "In cassa."}})
        for text in EXAMPLES:
            demo.api.post(f"/api/v1/bot/intents/{created.json()['id']}/examples", json={"text": text})
    # the demo trains its first model as it starts: that one is not ours
    wait_for("the demo's first model", lambda: db_rows(demo, "SELECT version FROM bot_models"), demo.cwd,
             timeout=TRAIN_MS / 1000)
    before = db_rows(demo, "SELECT version FROM bot_models")
    boss = page_of(SARA_SUPERVISOR)
    boss.goto(f"{demo.base}/desk/bot/models")
    boss.click("#train-now")
    boss.locator("#train [data-result]").wait_for(timeout=TRAIN_MS)
    [trained] = db_rows(demo, "SELECT * FROM bot_models ORDER BY version DESC LIMIT 1")
    assert len(db_rows(demo, "SELECT version FROM bot_models")) == len(before) + 1
    metrics = json.loads(trained["metrics"])
    assert "gift_card" in metrics["intents"]
    row = boss.locator(f"#versions tr[data-version='{trained['version']}']")
    row.wait_for(timeout=WAIT_MS)  # the page reloaded with the new version
    assert row.get_attribute("data-state") == trained["state"]
    assert row.locator("[data-figure=accuracy]").inner_text() == percent(metrics["accuracy"])
    # why it is in its state, in the page's language (the supervisor's: Italian), from the stored English reason
    assert row.locator("[data-reason]").inner_text() == model_reason(translator("it"), trained["reason"])
    assert trained["reason"] and row.locator("[data-reason]").inner_text() != trained["reason"]

    boss.click("a[href='/desk/bot/intents']")
    figures = boss.locator("#intents tr[data-intent=gift_card]")
    figures.wait_for(timeout=WAIT_MS)
    # the figures come from the active version's stored evaluation at the intent's threshold
    [active] = db_rows(demo, "SELECT metrics FROM bot_models WHERE state = 'active'")
    expected = intent_figures(json.loads(active["metrics"]).get("eval") or [], "gift_card", 0.8)
    assert figures.locator("[data-figure=precision]").inner_text() == percent(expected["precision"])
    assert figures.locator("[data-figure=coverage]").inner_text() == percent(expected["coverage"])
    if trained["state"] == "active":
        assert expected["support"] == sum(eval_split(e) == "eval" for e in EXAMPLES)

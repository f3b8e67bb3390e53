"""The virtual agent's administration in Chromium against the real demo process: a supervisor defines an intent
in the UI and gives it examples, trains a model, sees its precision and coverage on the held-back examples, and
raises the intent's automation level; a wrong intents file is refused naming the field.

With CENTRALINO_DOC_SHOTS=<folder> it also saves the screenshot docs/bot.md shows (bot-intents.png)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from centralino.demo_access import DEMO_USERS
from centralino.domain.bot_config import eval_split
from tests.browser.demo_desk import WAIT_MS, Demo, running_demo, signed_in_pages

SARA_SUPERVISOR = next(u for u in DEMO_USERS if u.email.startswith("supervisor"))
SHOTS = os.environ.get("CENTRALINO_DOC_SHOTS")
TRAIN_MS = 120_000  # the demo trains with the default encoder (USE): seconds, more on a busy machine

PHRASES = [
    "mi serve la fattura", "potete mandarmi la fattura dell'acquisto", "vorrei la fattura con la partita iva",
    "non ho ricevuto la fattura", "fattura intestata alla mia azienda", "dove scarico la fattura",
    "mi inviate una copia della fattura", "la fattura ha un errore", "serve la ricevuta fiscale",
    "fattura elettronica per favore", "come richiedo la fattura", "fattura dell'ordine del mese scorso",
    "I need an invoice", "can you send me the invoice", "invoice for my company please",
    "I did not get the invoice", "where can I download my invoice", "the invoice has a mistake",
]
# at least two held back, so the page has precision and coverage to show for the new intent
EXAMPLES = [p for p in PHRASES if eval_split(p) == "eval"][:3] + [p for p in PHRASES if eval_split(p) == "train"][:9]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    yield from running_demo(tmp_path_factory, "bot-demo")


@pytest.fixture
def page_of(browser, demo) -> Iterator[Any]:
    yield from signed_in_pages(browser, demo, height=900)


def shot(page: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / name), full_page=True)


def test_a_supervisor_defines_an_intent_trains_sees_the_figures_and_raises_automation(page_of, demo):
    assert sum(eval_split(e) == "eval" for e in EXAMPLES) >= 2
    boss = page_of(SARA_SUPERVISOR)
    boss.click("#nav-bot")
    boss.wait_for_url("**/desk/bot/intents")
    form = boss.locator("#new-intent")
    form.locator("input[name=name]").fill("invoice_request")
    form.locator("input[name=description]").fill("Richieste di fattura")
    form.locator("textarea[name='answers.it']").fill("Le mandiamo la fattura per email entro un giorno.")
    form.locator("button[type=submit]").click()
    boss.wait_for_url("**/desk/bot/intents/*")
    intent_url = boss.url
    for text in EXAMPLES:
        adding = boss.locator("#add-example")
        adding.locator("input[name=text]").fill(text)
        adding.locator("button[type=submit]").click()
        boss.locator("#examples tr[data-example] td", has_text=text).first.wait_for(timeout=WAIT_MS)  # reloaded
    duplicate = boss.locator("#add-example")
    duplicate.locator("input[name=text]").fill(EXAMPLES[0])
    duplicate.locator("button[type=submit]").click()
    error = duplicate.locator("[data-error]")
    error.wait_for(timeout=WAIT_MS)
    assert error.inner_text().startswith("text:")
    assert boss.locator("#examples tr[data-example]").count() == len(EXAMPLES)

    boss.goto(f"{demo.base}/desk/bot/models")
    before = demo.api.get("/api/v1/bot/models").json()
    boss.click("#train-now")
    boss.locator("#train [data-result]").wait_for(timeout=TRAIN_MS)
    trained = demo.api.get("/api/v1/bot/models").json()[0]
    assert len(demo.api.get("/api/v1/bot/models").json()) == len(before) + 1
    assert "invoice_request" in trained["metrics"]["intents"]
    boss.locator(f"#versions tr[data-version='{trained['version']}']").wait_for(timeout=WAIT_MS)  # reloaded
    row = boss.locator(f"#versions tr[data-version='{trained['version']}']")
    assert row.get_attribute("data-state") == trained["state"]
    assert "%" in row.locator("[data-figure=accuracy]").inner_text()

    boss.click("a[href='/desk/bot/intents']")
    figures = boss.locator("#intents tr[data-intent=invoice_request]")
    figures.wait_for(timeout=WAIT_MS)
    report = demo.api.get("/api/v1/bot/report").json()
    invoice_request = report["intents"]["invoice_request"]
    assert invoice_request["support"] >= 2
    if trained["state"] == "active":  # the figures come from the active version
        assert figures.locator("[data-figure=precision]").inner_text().endswith("%")
        assert figures.locator("[data-figure=coverage]").inner_text().endswith("%")
    shot(boss, "bot-intents.png")

    boss.goto(intent_url)
    settings = boss.locator("#intent-settings")
    settings.locator("select[name=automation]").select_option("auto")
    settings.locator("input[name=threshold]").fill("0.6")
    settings.locator("button[type=submit]").click()
    boss.locator("#intent-settings select[name=automation] option[value=auto][selected]").wait_for(
        state="attached", timeout=WAIT_MS)
    saved = next(i for i in demo.api.get("/api/v1/bot/intents").json() if i["name"] == "invoice_request")
    assert (saved["automation"], saved["threshold"], saved["examples"]) == ("auto", 0.6, len(EXAMPLES))
    assert saved["answers"] == {"it": "Le mandiamo la fattura per email entro un giorno."}


def test_a_wrong_intents_file_is_refused_naming_the_field(page_of, demo):
    boss = page_of(SARA_SUPERVISOR)
    boss.goto(f"{demo.base}/desk/bot/intents")
    before = demo.api.get("/api/v1/bot/intents").json()
    form = boss.locator("#import-intents")
    form.locator("textarea[name=file]").fill("intents:\n  - name: ok_one\n    examples: [ciao]\n"
                                              "  - name: bad\n    threshold: 7\n")
    form.locator("button[type=submit]").click()
    error = form.locator("[data-error]")
    error.wait_for(timeout=WAIT_MS)
    assert error.inner_text().startswith("intents[1].threshold:")
    assert demo.api.get("/api/v1/bot/intents").json() == before

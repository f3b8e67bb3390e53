"""What the desk shows of the bot follows the agent's language like the rest of the desk: the handoff summary's
one-liner and every handoff reason on the conversation page, and why each model version is in its state on the
Models page (the runtime and the model store write English, for the API and the logs)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import insert

from centralino.app.bot_models import judge
from centralino.storage.tables_bot import bot_models
from tests.access_helpers import sign_in
from tests.bot_admin_helpers import INTENTS_YAML
from tests.bot_helpers import HANDOFF_SUMMARY, bot_session

INTEGRATION = {"Authorization": "Bearer demo-token"}


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"bot_encoder": "tfidf"})


def _card(client, conversation: int) -> str:
    html = client.get(f"/desk/conversations/{conversation}").text
    return html.split('id="bot-summary"')[1].split("</details>")[0]


def _between(html: str, start: str, end: str) -> str:
    return html.split(start)[1].split(end)[0]


def test_the_summary_card_speaks_the_agents_language(client, org, services):
    bot_session(services.engine, org.care_conversation, state="handed_off", summary=HANDOFF_SUMMARY)
    csrf = sign_in(client, "agent_care")  # Italian by default
    card = _card(client, org.care_conversation)
    assert _between(card, 'id="bot-summary-text">', "</p>") == (
        "Cliente (it): order_status (91%); order_number=4711; passata a un operatore: risposta suggerita "
        "all&#39;operatore")
    assert "Customer" not in card and "handed off" not in card
    assert client.put("/api/v1/auth/language", json={"language": "en"}, headers=csrf).status_code == 204
    card = _card(client, org.care_conversation)
    assert _between(card, 'id="bot-summary-text">', "</p>") == (
        "Customer (it): order_status (91%); order_number=4711; handed off: answer suggested to the agent")


@pytest.mark.parametrize(("reason", "italian"), [
    ("not_text", "il cliente ha inviato qualcosa che non è testo"),
    ("case_failed", "non è stato possibile aprire la pratica"),
    ("queue_open", "il team è tornato (il bot l&#39;ha tenuta fuori orario)"),
])
def test_every_handoff_reason_is_translated(client, org, services, reason, italian):
    summary = {**HANDOFF_SUMMARY, "reason": reason, "opens_at": "2026-11-30T09:00:00+01:00"}
    bot_session(services.engine, org.care_conversation, state="handed_off", summary=summary)
    sign_in(client, "agent_care")
    card = _card(client, org.care_conversation)
    assert _between(card, 'id="bot-reason">', "</dd>") == italian
    assert _between(card, 'id="bot-summary-line">', "</span>").endswith(italian)
    assert _between(card, 'id="bot-opens-at">', "</dd>") == "2026-11-30 09:00"


def test_a_summary_that_is_not_the_runtimes_is_shown_as_written(client, org, services):
    bot_session(services.engine, org.care_conversation, state="handed_off", summary={"text": "Imported note"})
    sign_in(client, "agent_care")
    assert _between(_card(client, org.care_conversation), 'id="bot-summary-text">', "</p>") == "Imported note"


def _reasons(client) -> dict[str, str]:
    html = client.get("/desk/bot/models").text
    found = {}
    for row in html.split('<tr data-version="')[1:]:
        found[row.split('"')[0]] = _between(row, "<td data-reason>", "</td>")
    return found


def test_the_models_page_says_why_in_the_agents_language(client, org, services):
    assert client.post("/api/v1/bot/intents/import", headers=INTEGRATION, content=INTENTS_YAML).status_code == 200
    assert client.post("/api/v1/bot/models/train", headers=INTEGRATION).json()["version"] == 1
    assert client.post("/api/v1/bot/models/train", headers=INTEGRATION).json()["state"] == "active"
    client.post("/api/v1/bot/models/rollback", headers=INTEGRATION)  # v1 active again, v2 retired
    state, reason = judge({"accuracy": 0.75, "eval_examples": 8}, {"accuracy": 0.875}, 1)
    with services.engine.begin() as conn:  # a version the gate refused, as the model store writes it
        conn.execute(insert(bot_models).values(version=3, state=state, encoder="tfidf", blob=b"", metrics={},
                                               trained_examples=40, reason=reason, trained_by="user:1",
                                               created_at=datetime.now(UTC)))
    csrf = sign_in(client, "supervisor")
    reasons = _reasons(client)
    assert reasons["3"] == ("accuratezza sugli esempi tenuti da parte 75.0%, peggiore di 87.5% della versione "
                            "attiva 1 sugli stessi 8 esempi")
    assert reasons["1"].startswith("ripristinata da ")
    assert reasons["2"].startswith("accuratezza sugli esempi tenuti da parte ") and ", non peggiore di " in reasons["2"]
    assert client.put("/api/v1/auth/language", json={"language": "en"}, headers=csrf).status_code == 204
    reasons = _reasons(client)
    assert reasons["3"] == ("held-back accuracy 75.0% is worse than 87.5% of the active version 1 on the same 8 "
                            "examples")
    assert reasons["1"].startswith("rolled back by ")
    # the API keeps the stored English reason
    versions = client.get("/api/v1/bot/models", headers=INTEGRATION).json()
    assert versions[0]["reason"] == reason

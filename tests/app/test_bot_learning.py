"""Continuous learning: candidates labelled in one click (the bot's guess confirmed, or another intent picked)
become examples (source agent), dismissed ones do not; "train now"; scheduled retraining only when due and only
when examples were added since the newest version."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from centralino.app.bot_learning import BotLearning
from centralino.app.bot_models import BotModels
from centralino.errors import Conflict, Forbidden, InvalidInput, NotFound
from centralino.storage.tables_bot import bot_candidates, bot_examples, bot_models
from tests.bot_admin_helpers import ADMIN, AGENT, INTENTS_YAML, SUPERVISOR, candidate


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"bot_encoder": "tfidf"})


@pytest.fixture
def bot(services):
    services.bot_admin.intents.do_import(ADMIN, INTENTS_YAML)
    return services.bot_admin


def _intent_id(bot, name):
    return next(i["id"] for i in bot.intents.intents(SUPERVISOR) if i["name"] == name)


def _candidate(services, candidate_id):
    with services.engine.connect() as conn:
        return conn.execute(select(bot_candidates).where(bot_candidates.c.id == candidate_id)).one()


def test_an_agent_confirms_the_bots_guess_in_one_click(bot, services, recorder):
    found = candidate(services, "il mio ordine è in ritardo", predicted="order_status")
    items, _ = bot.learning.candidates(AGENT)
    assert [(c["id"], c["predicted_intent"], c["state"]) for c in items] == [(found, "order_status", "pending")]
    labelled = bot.learning.do_label(AGENT, found)
    assert labelled["intent"] == "order_status" and labelled["example_id"] is not None
    with services.engine.connect() as conn:
        example = conn.execute(select(bot_examples).where(bot_examples.c.id == labelled["example_id"])).one()
    assert (example.text, example.source, example.intent_id) == (
        "il mio ordine è in ritardo", "agent", _intent_id(bot, "order_status"))
    row = _candidate(services, found)
    assert (row.state, row.label_intent_id, row.labelled_by) == ("labelled", _intent_id(bot, "order_status"),
                                                                 AGENT.actor)
    event = next(e for e in recorder.events if e.type == "bot.candidate_labelled")
    assert event.payload["confirmed"] is True and event.payload["intent"] == "order_status"
    assert bot.learning.candidates(AGENT)[0] == []
    assert [c["label_intent"] for c in bot.learning.candidates(AGENT, state="labelled")[0]] == ["order_status"]


def test_an_agent_picks_another_intent(bot, services, recorder):
    found = candidate(services, "rivoglio i miei soldi", predicted="order_status")
    labelled = bot.learning.do_label(AGENT, found, _intent_id(bot, "refund"))
    assert labelled["intent"] == "refund"
    assert next(e for e in recorder.events if e.type == "bot.candidate_labelled").payload["confirmed"] is False
    with pytest.raises(Conflict) as again:
        bot.learning.do_label(AGENT, found, _intent_id(bot, "refund"))
    assert again.value.code == "bot.candidate_done"


def test_labels_that_cannot_be_taken(bot, services):
    unsure = candidate(services, "boh", predicted=None)
    with pytest.raises(InvalidInput) as no_guess:
        bot.learning.do_label(AGENT, unsure)
    assert no_guess.value.field == "intent_id"
    with pytest.raises(InvalidInput) as unknown:
        bot.learning.do_label(AGENT, unsure, 999)
    assert unknown.value.field == "intent_id"
    known = candidate(services, "voglio un rimborso", predicted="order_status", wa_id="393470000002")
    with pytest.raises(Conflict) as elsewhere:  # already an example of refund: not a second, contradicting label
        bot.learning.do_label(AGENT, known, _intent_id(bot, "order_status"))
    assert "refund" in elsewhere.value.message
    assert bot.learning.do_label(AGENT, known, _intent_id(bot, "refund"))["example_id"] is None
    with pytest.raises(NotFound):
        bot.learning.do_label(AGENT, 12345)
    with services.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(bot_examples)
                            .where(bot_examples.c.source == "agent")).scalar_one() == 0


def test_dismissed_candidates_leave_no_example(bot, services, recorder):
    found = candidate(services, "spam spam spam", predicted="greeting")
    bot.learning.do_dismiss(AGENT, found)
    assert _candidate(services, found).state == "dismissed"
    assert "bot.candidate_dismissed" in recorder.types()
    with pytest.raises(Conflict):
        bot.learning.do_label(AGENT, found)
    with pytest.raises(InvalidInput) as bad_state:
        bot.learning.candidates(AGENT, state="whatever")
    assert bad_state.value.field == "state"


def test_candidates_page_newest_first(bot, services):
    ids = [candidate(services, f"messaggio {n}", predicted=None, wa_id=f"39347000000{n}") for n in range(3)]
    first, cursor = bot.learning.candidates(AGENT, limit=2)
    rest, end = bot.learning.candidates(AGENT, limit=2, cursor=cursor)
    assert [c["id"] for c in first + rest] == ids[::-1] and end is None


def test_train_now_is_for_supervisors_and_reports_the_gate(bot):
    with pytest.raises(Forbidden):
        bot.learning.do_train_now(AGENT)
    first = bot.learning.do_train_now(SUPERVISOR)
    assert (first["version"], first["state"], first["reason"]) == (1, "active", "first model")
    assert first["accuracy"] is not None


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)  # after the imported examples were written

    def __call__(self) -> datetime:
        return self.now


def test_scheduled_retraining_only_when_due_and_something_was_learnt(bot, services):
    clock = Clock()
    models = BotModels(services.engine, services.bus, clock, "tfidf")
    off = BotLearning(services.engine, services.bus, clock, models, retrain_interval_s=0)
    assert off.tick() is None
    learning = BotLearning(services.engine, services.bus, clock, models, retrain_interval_s=3600)
    assert learning.tick() == 1  # no model yet, examples there: due
    clock.now += timedelta(minutes=30)
    assert learning.tick() is None  # not due yet
    clock.now += timedelta(hours=1)
    assert learning.tick() is None  # due, but nothing new since version 1
    found = candidate(services, "il pacco dove si trova adesso", predicted="order_status")
    bot.learning.clock = clock
    bot.learning.do_label(AGENT, found)
    assert learning.tick() == 2
    with services.engine.connect() as conn:
        assert conn.execute(select(bot_models.c.trained_by).where(bot_models.c.version == 2)).scalar_one() == \
            "scheduler"


def test_scheduled_retraining_waits_for_two_intents(services):
    learning = BotLearning(services.engine, services.bus, Clock(), services.bot_admin.models, retrain_interval_s=60)
    services.bot_admin.intents.do_import(ADMIN, "intents: [{name: solo, examples: [ciao]}]")
    assert learning.tick() is None


def test_the_retrain_loop_survives_a_failing_round(caplog):
    from centralino.workers.bot_retrain import RetrainLoop

    class Broken:
        retrain_interval_s = 30.0

        def tick(self):
            raise RuntimeError("database away")

    loop = RetrainLoop(Broken())  # type: ignore[arg-type]
    assert loop.check_s == 30.0  # looks at least as often as the interval
    assert loop.run_once() is None
    assert "scheduled retraining failed" in caplog.text


def test_the_learning_loop_end_to_end(services):
    """A customer asks what the bot does not know: unsure, a candidate. The business adds the intent, an agent
    labels the message in one click, a supervisor trains: the next customer asking the same gets the answer."""
    from tests.bot_runtime_helpers import build_bot_center

    bc = build_bot_center(services)
    intents = services.bot_admin.intents
    for intent in intents.intents(SUPERVISOR):  # a cautious business: the bot acts only when very sure
        intents.do_save_intent(SUPERVISOR, {"threshold": 0.9}, intent["id"])
    question = "spedite anche in svizzera?"
    first = bc.writes(question)
    bc.answer()
    assert bc.decisions(first) == ["rephrase"]
    (pending,), _ = services.bot_admin.learning.candidates(AGENT)
    assert (pending["text"], pending["reason"]) == (question, "unsure")
    created = intents.do_save_intent(SUPERVISOR, {"name": "shipping_abroad", "automation": "auto", "threshold": 0.4,
                                                  "answers": {"it": "Sì, spediamo in tutta Europa."}})
    for text in ("spedite all'estero?", "consegnate in Francia?", "spedizioni internazionali",
                 "fate spedizioni fuori dall'Italia?", "do you ship abroad?"):
        intents.do_add_example(SUPERVISOR, created["id"], text)
    labelled = services.bot_admin.learning.do_label(AGENT, pending["id"], created["id"])
    assert labelled["example_id"] is not None
    before = services.bot_admin.models.active()
    trained = services.bot_admin.learning.do_train_now(SUPERVISOR)
    assert trained["state"] == "active" and (before is None or trained["version"] > before[0])
    second = bc.writes(question)
    bc.answer()
    assert bc.decisions(second) == ["answered"]
    assert bc.texts(second) == ["Sì, spediamo in tutta Europa."]
    assert bc.turns(second)[0]["model_version"] == trained["version"]

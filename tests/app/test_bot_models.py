"""The bot's model store: the first model is activated, a retrained one only if it is not worse on the held-back
examples (refused with the reason otherwise), manual activation and rollback, and the active model as the
runtime sees it (cached per version, another process's activation noticed)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from centralino.app import bot_models as bot_models_module
from centralino.app.bot_models import BotModels
from centralino.domain.bot_config import eval_split
from centralino.errors import Conflict, InvalidInput, NotFound
from centralino.storage.tables_bot import bot_examples, bot_intents, bot_models
from tests.bot_admin_helpers import ADMIN, INTENTS_YAML, SUPERVISOR


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"bot_encoder": "tfidf"})


@pytest.fixture
def bot(services):
    services.bot_admin.intents.do_import(ADMIN, INTENTS_YAML)
    return services.bot_admin


def _rows(services):
    with services.engine.connect() as conn:
        return {r.version: r for r in conn.execute(select(bot_models).order_by(bot_models.c.version))}


def test_the_first_model_is_trained_evaluated_stored_and_activated(bot, services, recorder):
    assert bot.models.active() is None
    version = bot.models.do_train("user:1")
    assert version == 1
    row = _rows(services)[1]
    assert (row.state, row.reason, row.encoder, row.trained_by) == ("active", "first model", "tfidf", "user:1")
    assert row.activated_at is not None and row.trained_examples == row.metrics["train_examples"] > 0
    assert row.metrics["eval_examples"] == len(row.metrics["eval"]) > 0
    assert 0.5 < row.metrics["accuracy"] <= 1.0
    assert row.metrics["intents"] == ["greeting", "opening_hours", "order_status", "refund"]
    assert [e.type for e in recorder.events if e.type.startswith("bot.model")] == [
        "bot.model_trained", "bot.model_activated"]
    active = bot.models.active()
    assert active is not None and active[0] == 1
    assert active[1].predict("dove si trova il mio ordine?").intent == "order_status"


def test_training_needs_two_intents_with_examples(services):
    services.bot_admin.intents.do_import(ADMIN, "intents:\n  - name: only_one\n    examples: [ciao, salve]\n")
    with pytest.raises(InvalidInput) as err:
        services.bot_admin.models.do_train("user:1")
    assert err.value.field == "examples"
    assert _rows(services) == {}


def test_a_worse_retrained_model_is_refused_with_the_reason_and_the_active_one_stays(bot, services, recorder):
    bot.models.do_train("user:1")
    first_accuracy = _rows(services)[1].metrics["accuracy"]
    # Agents mislabel: messages like the held-back order questions filed under refund, a few times each. Only
    # training texts (their hash puts them in the train split): the held-back examples stay as they were and
    # both versions are judged on them.
    with services.engine.connect() as conn:
        held_back = conn.execute(select(bot_examples.c.text).join(bot_intents).where(
            bot_intents.c.name == "order_status", bot_examples.c.split == "eval")).scalars().all()
    assert held_back
    refund = next(i["id"] for i in bot.intents.intents(SUPERVISOR) if i["name"] == "refund")
    wrong = [t for t in (f"{prefix}{text}{suffix}" for text in held_back
                         for prefix in ("", "ciao, ", "scusate, ", "buongiorno, ")
                         for suffix in ("?", " per favore", " grazie", "!!", " ...")) if eval_split(t) == "train"]
    for text in wrong:
        bot.intents.do_add_example(SUPERVISOR, refund, text)
    version = bot.models.do_train("user:1")
    rows = _rows(services)
    assert version == 2 and rows[2].state == "refused" and rows[2].activated_at is None
    assert rows[2].metrics["accuracy"] < first_accuracy
    assert rows[2].metrics["compared_with"] == {"version": 1, "accuracy": first_accuracy}
    assert "worse than" in rows[2].reason and "active version 1" in rows[2].reason
    assert rows[1].state == "active"
    assert bot.models.active()[0] == 1
    trained = [e.payload for e in recorder.events if e.type == "bot.model_trained"]
    assert [(p["version"], p["state"]) for p in trained] == [(1, "active"), (2, "refused")]
    assert [e.payload["version"] for e in recorder.events if e.type == "bot.model_activated"] == [1]


def test_a_retrained_model_that_is_not_worse_replaces_the_active_one(bot, services):
    bot.models.do_train("user:1")
    greeting = next(i["id"] for i in bot.intents.intents(SUPERVISOR) if i["name"] == "greeting")
    bot.intents.do_add_example(SUPERVISOR, greeting, "buon pomeriggio")
    assert bot.models.do_train("scheduler") == 2
    rows = _rows(services)
    assert (rows[1].state, rows[2].state) == ("retired", "active")
    assert rows[2].reason.startswith("eval accuracy")
    assert bot.models.active()[0] == 2


def test_rollback_and_manual_activation(bot, services, recorder):
    bot.models.do_train("user:1")
    bot.models.do_train("user:1")  # same examples: as good, so activated
    assert bot.models.do_rollback("user:7") == 1
    rows = _rows(services)
    assert (rows[1].state, rows[2].state) == ("active", "retired")
    assert rows[1].reason == "rolled back by user:7"
    assert bot.models.active()[0] == 1
    assert recorder.events[-1].type == "bot.model_activated" and recorder.events[-1].payload["previous"] == [2]
    bot.models.do_activate(2, "user:7")
    assert (_rows(services)[2].state, _rows(services)[2].reason) == ("active", "activated by user:7")
    with pytest.raises(Conflict):
        bot.models.do_activate(2, "user:7")
    with pytest.raises(NotFound) as missing:
        bot.models.do_activate(99, "user:7")
    assert missing.value.field == "version"
    with services.engine.connect() as conn:
        assert conn.execute(select(func.count()).where(bot_models.c.state == "active")).scalar_one() == 1


def test_nothing_to_roll_back_to(bot):
    bot.models.do_train("user:1")
    with pytest.raises(Conflict) as err:
        bot.models.do_rollback("user:1")
    assert err.value.code == "bot.no_rollback"


def test_another_process_activation_is_seen(bot, services, monkeypatch):
    bot.models.do_train("user:1")
    bot.models.do_train("user:1")
    other = BotModels(services.engine, services.bus, bot.models.clock, "tfidf")  # another process's store
    assert other.active()[0] == 2
    bot.models.do_rollback("user:1")
    assert other.active()[0] == 2  # cached: re-read at most every ACTIVE_TTL_S
    monkeypatch.setattr(bot_models_module, "ACTIVE_TTL_S", 0.0)
    assert other.active()[0] == 1


def test_versions_leave_out_the_blob_and_the_per_example_evaluation(bot):
    bot.models.do_train("user:1")
    (listed,) = bot.models.versions()
    assert "blob" not in listed and "eval" not in listed["metrics"]
    assert listed["metrics"]["accuracy"] is not None
    assert bot.models.evaluation()["metrics"]["eval"]


def test_the_gate_rules():
    from centralino.app.bot_models import judge

    scored = {"accuracy": 0.75, "eval_examples": 8}
    assert judge(scored, None, None) == ("active", "first model")
    assert judge({"accuracy": None, "eval_examples": 0}, {"accuracy": None}, 3)[0] == "active"  # nothing to judge on
    assert judge(scored, {"accuracy": 0.75}, 3)[0] == "active"  # as good is not worse
    state, reason = judge(scored, {"accuracy": 0.875}, 3)
    assert state == "refused" and reason == ("eval accuracy 0.750 is worse than 0.875 of active version 3 on the "
                                             "same 8 eval examples")


def test_every_stored_reason_reads_back_as_its_code_and_values():
    """The desk shows a version's reason in the agent's language from its code and values (web/desk/bot_pages)."""
    from centralino.app.bot_models import REASONS, judge, reason_parts

    for code, text in REASONS.items():
        values = {name: f"<{name}>" for name in ("new", "old", "version", "n", "actor") if "{" + name + "}" in text}
        assert reason_parts(text.format(**values)) == (code, values)
    assert reason_parts(judge({"accuracy": 0.75, "eval_examples": 8}, {"accuracy": 0.875}, 3)[1]) == (
        "worse", {"new": "0.750", "old": "0.875", "version": "3", "n": "8"})
    assert reason_parts("trained on a Tuesday") is None and reason_parts(None) is None

"""The fixture intents (a small shop, Italian and English) and a model trained on them once per session."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from centralino.bot.nlu.datasets import load_intents
from centralino.bot.nlu.model import IntentModel, train

FIXTURES = Path(__file__).parent / "fixtures"
INTENTS = FIXTURES / "intents.yaml"
TEST_INTENTS = FIXTURES / "test_intents.yaml"


@cache
def tfidf_model() -> IntentModel:
    return train(load_intents(INTENTS).examples, encoder="tfidf")

"""The English head (model.py): MiniLM for English messages in a mostly English model, USE otherwise."""

import io
import json
from functools import cache

import numpy as np
import pytest

from centralino.bot.nlu.datasets import load_intents
from centralino.bot.nlu.encoders import available, get_encoder
from centralino.bot.nlu.model import IntentModel, mostly_english, train
from centralino.bot.nlu.types import Example
from tests.bot.nlu.nlu_helpers import INTENTS

needs_encoders = pytest.mark.skipif(not (available("use") and available("minilm")),
                                    reason="the use and minilm encoders cannot run here")

ENGLISH_MESSAGES = {"where is my parcel": "order_status", "I want to talk to an agent": "human",
                    "please cancel my order": "cancel_order"}
ITALIAN_MESSAGES = {"dove si trova il mio pacco": "order_status", "voglio parlare con una persona": "human"}


def _examples(language: str) -> list[Example]:
    return [e for e in load_intents(INTENTS).examples if (e.language or "it") == language]


@cache
def english_model() -> IntentModel:
    return train(_examples("en"), encoder="use")


@cache
def italian_model() -> IntentModel:
    return train(_examples("it"), encoder="use")


def test_mostly_english_counts_detected_english_against_italian_ignoring_undecided_texts():
    assert mostly_english(_examples("en"))
    assert not mostly_english(_examples("it"))
    assert not mostly_english(load_intents(INTENTS).examples)  # the fixture shop is mostly Italian
    undecided = [Example("refund", "a"), Example("rimborso", "a"), Example("card", "b")]
    assert not mostly_english([*undecided, Example("dov'è il mio ordine", "b")])
    assert mostly_english([*undecided, Example("where is my order", "b")])


def test_the_tfidf_model_never_has_the_english_head():
    model = train(_examples("en"), encoder="tfidf")
    assert not model.english_head and model.meta["english_head"] is False
    assert not model.english(list(ENGLISH_MESSAGES)).any()


@needs_encoders
def test_english_head_is_trained_for_english_examples_and_not_for_italian_ones():
    assert english_model().english_head and english_model().meta["english_head"] is True
    assert not italian_model().english_head and italian_model().meta["english_head"] is False
    # the Italian shop's model keeps USE for every message: English messages still transfer from Italian
    assert not italian_model().english(list(ENGLISH_MESSAGES)).any()
    assert [p.intent for p in italian_model().predict_many(list(ENGLISH_MESSAGES))] == list(ENGLISH_MESSAGES.values())


@needs_encoders
def test_an_english_message_is_scored_by_the_english_head_and_an_italian_one_by_the_use_head():
    model = english_model()
    texts = list(ENGLISH_MESSAGES) + list(ITALIAN_MESSAGES)
    assert model.english(texts).tolist() == [True] * 3 + [False] * 2
    assert not model.english(["refund", "Mario Rossi"]).any()  # no telling words: USE, which reads both
    use, minilm = get_encoder("use").encode(texts), get_encoder("minilm").encode(texts)
    base = model.probabilities(texts, embeddings={"use": use, "minilm": minilm})
    # what it encodes itself is the same (USE's vectors vary in the last float32 bits with the batch)
    np.testing.assert_allclose(base, model.probabilities(texts), rtol=1e-6, atol=1e-7)
    rng = np.random.default_rng(0)
    other_use = model.probabilities(texts, embeddings={"use": rng.normal(size=use.shape), "minilm": minilm})
    other_minilm = model.probabilities(texts, embeddings={"use": use, "minilm": rng.normal(size=minilm.shape)})
    # English rows move only with the MiniLM vectors, Italian rows only with the USE vectors
    np.testing.assert_array_equal(other_use[:3], base[:3])
    assert not np.allclose(other_use[3:], base[3:])
    np.testing.assert_array_equal(other_minilm[3:], base[3:])
    assert not np.allclose(other_minilm[:3], base[:3])
    assert [p.intent for p in model.predict_many(texts)] == list(ENGLISH_MESSAGES.values()) + list(
        ITALIAN_MESSAGES.values())


@needs_encoders
def test_round_trip_through_bytes_keeps_the_english_head_and_identical_predictions():
    model = english_model()
    loaded = IntentModel.from_bytes(model.to_bytes())
    assert loaded.english_head
    texts = list(ENGLISH_MESSAGES) + list(ITALIAN_MESSAGES) + ["", "refund"]
    assert loaded.predict_many(texts) == model.predict_many(texts)
    np.testing.assert_array_equal(loaded.probabilities(texts), model.probabilities(texts))


def _without_english_head(blob: bytes) -> bytes:
    """The bytes a model saved before the English head existed: no english_* arrays or header keys."""
    with np.load(io.BytesIO(blob), allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files if not k.startswith("english_")}
    header = json.loads(arrays["header"].tobytes().decode())
    del header["english_encoder"], header["english_weight"]
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


@needs_encoders
def test_an_old_model_without_the_english_head_still_loads_and_uses_the_use_head_for_everything():
    model = english_model()
    old = IntentModel.from_bytes(_without_english_head(model.to_bytes()))
    assert not old.english_head
    texts = list(ENGLISH_MESSAGES) + list(ITALIAN_MESSAGES)
    assert not old.english(texts).any()
    # Italian messages never used the English head: identical; English ones now go through USE, still right
    np.testing.assert_array_equal(old.probabilities(list(ITALIAN_MESSAGES)),
                                  model.probabilities(list(ITALIAN_MESSAGES)))
    assert not np.allclose(old.probabilities(list(ENGLISH_MESSAGES)), model.probabilities(list(ENGLISH_MESSAGES)))
    assert [p.intent for p in old.predict_many(texts)] == list(ENGLISH_MESSAGES.values()) + list(
        ITALIAN_MESSAGES.values())

import numpy as np
import pytest

from centralino.bot.nlu.datasets import load_intents
from centralino.bot.nlu.model import IntentModel, calibrate_oos, name_words, train
from centralino.bot.nlu.types import Example
from tests.bot.nlu.nlu_helpers import INTENTS, TEST_INTENTS, tfidf_model


def test_tfidf_model_classifies_unseen_italian_and_english_messages():
    model = tfidf_model()
    assert model.intents == ("cancel_order", "human", "opening_hours", "order_status")
    texts = {"il mio ordine non è arrivato": "order_status", "annullate il mio ordine": "cancel_order",
             "a che ora aprite domani": "opening_hours", "voglio un operatore": "human",
             "where is my parcel": "order_status", "I want to talk to an agent": "human"}
    predictions = model.predict_many(list(texts))
    assert [p.intent for p in predictions] == list(texts.values())
    for p in predictions:
        assert 0 < p.confidence <= 1
        assert p.ranking[0] == (p.intent, p.confidence)
        assert [s for _, s in p.ranking] == sorted((s for _, s in p.ranking), reverse=True)
        assert len(p.ranking) == 4  # top 5 of 4 intents
    assert model.predict("dov'è il mio ordine?") == model.predict_many(["dov'è il mio ordine?"])[0]


def test_serialisation_round_trip_gives_identical_predictions_and_never_pickles():
    model = tfidf_model()
    blob = model.to_bytes()
    assert b"pickle" not in blob
    loaded = IntentModel.from_bytes(blob)
    texts = [e.text for e in load_intents(TEST_INTENTS).examples] + ["", "???", "ordine ordine ordine"]
    assert loaded.predict_many(texts) == model.predict_many(texts)
    assert (loaded.encoder_name, loaded.intents, loaded.oos_threshold) == ("tfidf", model.intents, 0.0)
    np.testing.assert_array_equal(loaded.probabilities(texts), model.probabilities(texts))


def test_out_of_scope_below_the_threshold_learnt_from_out_of_scope_examples():
    examples = load_intents(INTENTS).examples
    unrelated = ["qual è la capitale della Francia", "raccontami una barzelletta", "che tempo fa a Roma",
                 "tell me a joke", "who won the football match", "how tall is mount everest",
                 "ricetta della carbonara", "what is the meaning of life"]
    model = train(examples, encoder="tfidf", out_of_scope=unrelated)
    assert model.oos_class and 0 <= model.oos_threshold < 1
    far = model.predict("la ricetta del tiramisù con il mascarpone")
    assert far.intent is None
    assert far.ranking and all(name in model.intents for name, _ in far.ranking)  # for the record, intents only
    assert model.predict("dov'è il mio ordine").intent == "order_status"
    # the out-of-scope class takes its share of the probability: rows sum to less than 1
    assert model.probabilities(["la ricetta del tiramisù"]).sum() < 1
    loaded = IntentModel.from_bytes(model.to_bytes())
    assert (loaded.oos_threshold, loaded.oos_class) == (model.oos_threshold, True)
    texts = ["la ricetta del tiramisù", "dov'è il mio ordine", "tell me a story"]
    assert loaded.predict_many(texts) == model.predict_many(texts)


def test_calibrate_oos_keeps_the_out_of_scope_recall_floor_at_the_best_in_scope_accuracy():
    model = tfidf_model()
    in_scope = [e for e in load_intents(TEST_INTENTS).examples if e.intent != "oos"]
    unrelated = ["zzz qqq", "xylophone", "la ricetta della carbonara", "who won the match", "capitale di Francia"]
    top_out = list(model.probabilities(unrelated).max(axis=1))
    for floor in (0.2, 0.6, 1.0):
        t = calibrate_oos(model, in_scope, unrelated, oos_recall=floor).oos_threshold
        assert sum(c < t for c in top_out) / len(unrelated) >= floor
        # the lowest such threshold: one step down (the next lower confidence) loses the floor
        lower = [c for c in top_out if c < t]
        assert not lower or sum(c < max(lower) for c in top_out) / len(unrelated) < floor
    assert (calibrate_oos(model, in_scope, unrelated, oos_recall=0.2).oos_threshold
            <= calibrate_oos(model, in_scope, unrelated, oos_recall=1.0).oos_threshold)


def test_intent_names_are_taught_as_examples_in_words():
    assert [name_words(n) for n in ("card_arrival", "AddToPlaylist", "get-weather")] == [
        "card arrival", "add to playlist", "get weather"]
    examples = [Example("voglio indietro i soldi", "refund_request"), Example("rivoglio il denaro", "refund_request"),
                Example("quando aprite", "store_hours"), Example("a che ora chiudete", "store_hours")]
    assert train(examples, encoder="tfidf").predict("refund").intent == "refund_request"
    without = train(examples, encoder="tfidf", intent_names=False)
    assert without.meta["intent_names"] is False
    assert without.predict("refund").confidence < train(examples, encoder="tfidf").predict("refund").confidence


def test_calibrate_oos_chooses_a_threshold_between_in_scope_and_out_of_scope_confidences():
    model = tfidf_model()
    in_scope = [Example("dov'è il mio ordine", "order_status"), Example("annullate l'ordine", "cancel_order")]
    calibrated = calibrate_oos(model, in_scope, ["zzz qqq", "xylophone"])
    low = model.probabilities(["zzz qqq", "xylophone"]).max(axis=1).max()
    high = model.probabilities([e.text for e in in_scope]).max(axis=1).min()
    assert low < calibrated.oos_threshold <= high
    assert calibrate_oos(model, in_scope, []) is model


def test_training_needs_two_intents_and_a_known_encoder():
    with pytest.raises(ValueError, match="two intents"):
        train([Example("a", "x"), Example("b", "x")], encoder="tfidf")
    with pytest.raises(ValueError, match="unknown encoder"):
        train([Example("a", "x"), Example("b", "y")], encoder="bert")


def test_two_intents_binary_head_predicts_both():
    model = train([Example("ciao", "greet"), Example("buongiorno", "greet"), Example("arrivederci", "bye"),
                   Example("a presto", "bye")], encoder="tfidf")
    assert model.predict("ciao a tutti").intent == "greet"
    assert model.predict("arrivederci e grazie").intent == "bye"


def test_use_encoder_model_transfers_from_english_examples_to_italian_messages():
    english = [e for e in load_intents(INTENTS).examples if e.language == "en"]
    model = train(english, encoder="use")
    assert model.encoder_name == "use"
    italian = {"dove si trova il mio pacco": "order_status", "voglio parlare con una persona": "human",
               "quando aprite": "opening_hours"}
    assert [p.intent for p in model.predict_many(list(italian))] == list(italian.values())
    loaded = IntentModel.from_bytes(model.to_bytes())
    assert loaded.predict_many(list(italian)) == model.predict_many(list(italian))

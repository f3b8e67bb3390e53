from centralino.bot.nlu.datasets import load_intents
from centralino.bot.nlu.evaluate import ALL, PerIntent, evaluate, precision_coverage, threshold_for_precision
from centralino.bot.nlu.types import Prediction
from tests.bot.nlu.nlu_helpers import TEST_INTENTS, tfidf_model


def p(intent, confidence):
    return Prediction(intent=intent, confidence=confidence, ranking=((intent or "x", confidence),))


# a hand-made case: 6 messages, gold a,a,a,b,b and one out of scope
PREDICTIONS = [p("a", 0.9), p("a", 0.8), p("b", 0.4), p("b", 0.95), p("a", 0.7), p("a", 0.6)]
GOLD = ["a", "a", "a", "b", "b", None]


def test_precision_coverage_per_intent_at_a_threshold():
    result = precision_coverage(PREDICTIONS, GOLD, 0.65)
    # answered: a@0.9 right, a@0.8 right, b@0.95 right, a@0.7 wrong (gold b); b@0.4 and a@0.6 below threshold
    assert result["a"] == PerIntent(precision=round(2 / 3, 4), coverage=round(2 / 3, 4), support=3)
    assert result["b"] == PerIntent(precision=1.0, coverage=0.5, support=2)
    assert result[ALL] == PerIntent(precision=0.75, coverage=0.5, support=6)
    nothing = precision_coverage(PREDICTIONS, GOLD, 0.99)
    assert nothing["a"] == PerIntent(precision=1.0, coverage=0.0, support=3)


def test_threshold_for_precision_is_the_lowest_reaching_the_target():
    # by confidence: .95 right, .9 right, .8 right, .7 wrong, .6 wrong (oos), .4 wrong (gold a)
    assert threshold_for_precision(PREDICTIONS, GOLD, 1.0) == 0.8
    assert threshold_for_precision(PREDICTIONS, GOLD, 0.75) == 0.7
    assert threshold_for_precision(PREDICTIONS, GOLD, 0.5) == 0.4
    assert threshold_for_precision(PREDICTIONS, GOLD, 1.0, intent="a") == 0.8
    assert threshold_for_precision([p("a", 0.9)], ["b"], 0.95) is None


def test_evaluate_on_a_labelled_file_with_out_of_scope_examples():
    model = tfidf_model()
    examples = load_intents(TEST_INTENTS).examples
    result = evaluate(model, examples, threshold=0.0)
    assert result.examples == 10
    # the model has no out-of-scope threshold: the two oos examples are wrong, the eight others right
    assert result.accuracy == 0.8
    assert result.per_intent["order_status"].support == 2
    assert set(result.thresholds_for_precision) == {"0.95", "0.98"}
    assert result.to_dict()["per_intent"][ALL]["support"] == 10

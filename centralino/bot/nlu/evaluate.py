"""How good a model is on labelled examples: accuracy, and per intent the precision and coverage of the
automatic answers at a confidence threshold (what the business looks at before raising automation)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from centralino.bot.nlu.types import Example, Prediction

ALL = "*"  # the key of the overall figures in precision_coverage's result


@dataclass(frozen=True)
class PerIntent:
    precision: float  # of the messages answered as this intent (confidence >= threshold), the share right
    coverage: float  # of the messages of this intent, the share answered right automatically
    support: int  # messages of this intent in the labelled data


@dataclass(frozen=True)
class Evaluation:
    accuracy: float  # top intent right (out of scope counts as an intent: gold None)
    examples: int
    threshold: float
    per_intent: dict[str, PerIntent]
    thresholds_for_precision: dict[str, float | None]  # "0.95", "0.98" -> the lowest threshold reaching it

    def to_dict(self) -> dict[str, object]:
        return {"accuracy": self.accuracy, "examples": self.examples, "threshold": self.threshold,
                "thresholds_for_precision": self.thresholds_for_precision,
                "per_intent": {k: {"precision": v.precision, "coverage": v.coverage, "support": v.support}
                               for k, v in sorted(self.per_intent.items())}}


def evaluate(model: object, examples: Sequence[Example], threshold: float = 0.0) -> Evaluation:
    """`model`: anything with predict_many (an IntentModel). Examples labelled "oos" are out of scope."""
    predictions = model.predict_many([e.text for e in examples])  # type: ignore[attr-defined]
    gold = [None if e.intent == "oos" else e.intent for e in examples]
    right = sum(p.intent == g for p, g in zip(predictions, gold, strict=True))
    return Evaluation(accuracy=round(right / len(examples), 4) if examples else 0.0, examples=len(examples),
                      threshold=threshold, per_intent=precision_coverage(predictions, gold, threshold),
                      thresholds_for_precision={
                          str(t): threshold_for_precision(predictions, gold, t) for t in (0.95, 0.98)})


def precision_coverage(predictions: Sequence[Prediction], gold: Sequence[str | None],
                       threshold: float) -> dict[str, PerIntent]:
    """Per intent (and ALL for everything): a message is answered automatically when the model names an
    intent with confidence >= threshold. Precision: answered right / answered (1.0 when nothing was
    answered); coverage: answered right / the intent's messages (out of scope: never covered)."""
    answered: dict[str, int] = {}
    right: dict[str, int] = {}
    support: dict[str, int] = {}
    for p, g in zip(predictions, gold, strict=True):
        if g is not None:
            support[g] = support.get(g, 0) + 1
        support[ALL] = support.get(ALL, 0) + 1
        if p.intent is not None and p.confidence >= threshold:
            for key in (p.intent, ALL):
                answered[key] = answered.get(key, 0) + 1
                right[key] = right.get(key, 0) + (p.intent == g)
    out = {}
    for key in sorted(set(support) | set(answered)):
        n_answered, n_right, n = answered.get(key, 0), right.get(key, 0), support.get(key, 0)
        out[key] = PerIntent(precision=round(n_right / n_answered, 4) if n_answered else 1.0,
                             coverage=round(n_right / n, 4) if n else 0.0, support=n)
    return out


def threshold_for_precision(predictions: Sequence[Prediction], gold: Sequence[str | None], target: float,
                            *, intent: str | None = None) -> float | None:
    """The lowest confidence threshold at which the automatic answers (of `intent` only, if given) are right
    at least `target` of the time — the most coverage for that precision; None if no threshold reaches it."""
    pairs = sorted(((p.confidence, p.intent == g) for p, g in zip(predictions, gold, strict=True)
                    if p.intent is not None and (intent is None or p.intent == intent)), reverse=True)
    best, answered, right = None, 0, 0
    i = 0
    while i < len(pairs):
        confidence = pairs[i][0]
        while i < len(pairs) and pairs[i][0] == confidence:  # equal confidences stand or fall together
            answered += 1
            right += pairs[i][1]
            i += 1
        if right / answered >= target:
            best = confidence
    return best

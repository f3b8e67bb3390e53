"""The intent model: encoder features -> linear heads -> probabilities, plus an out-of-scope threshold.

With a sentence encoder ("use", "e5") two heads are combined: a logistic regression on the sentence
embedding (meaning, across languages) and a linear SVM on TF-IDF character n-grams and words fitted on the
examples (exact wording, product names, typos). Their scores are added (weights chosen on CLINC150's
validation split, never on test data) and a softmax turns them into probabilities. "tfidf" alone is the
model-free fallback (tests, machines without the encoder).

Out of scope: a prediction whose top probability is under `oos_threshold` has intent None. The threshold is
learnt from out-of-scope examples when some are given (`train(out_of_scope=…)`, or `calibrate_oos` on a
validation split), else it is 0 (never out of scope; the bot's per-intent thresholds still apply).

Serialised as an .npz of arrays plus a JSON header (no pickle: models are stored in the database).
"""

from __future__ import annotations

import io
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse
from threadpoolctl import threadpool_limits

from centralino.bot.nlu.encoders import ENCODERS, TfidfEncoder, get_encoder
from centralino.bot.nlu.types import Example, Prediction

FORMAT = 1
EMBEDDING_C = 10.0  # logistic regression on the embedding
TFIDF_C = 1.0  # linear SVM on TF-IDF
EMBEDDING_WEIGHT, TFIDF_WEIGHT = 0.5, 1.5  # score = 0.5 * logit(embedding) + 1.5 * svm(tfidf)
TFIDF_ONLY_WEIGHT = 5.0  # sharpens the SVM's margins into usable probabilities when it is alone
TOP = 5


@dataclass(frozen=True)
class _Head:
    coef: np.ndarray  # (dim, n_intents) float32
    intercept: np.ndarray  # (n_intents,) float32
    weight: float


class IntentModel:
    def __init__(self, *, encoder_name: str, intents: Sequence[str], tfidf: TfidfEncoder,
                 tfidf_head: _Head, embedding_head: _Head | None, oos_threshold: float = 0.0,
                 meta: dict[str, Any] | None = None) -> None:
        self.encoder_name = encoder_name
        self.intents = tuple(intents)
        self.oos_threshold = float(oos_threshold)
        self.meta = dict(meta or {})
        self._tfidf = tfidf
        self._tfidf_head = tfidf_head
        self._embedding_head = embedding_head

    # --- prediction ---------------------------------------------------------------------------------

    def predict(self, text: str) -> Prediction:
        return self.predict_many([text])[0]

    def predict_many(self, texts: Sequence[str], *, embeddings: np.ndarray | None = None) -> list[Prediction]:
        """`embeddings`: the texts' sentence embeddings if already computed (benchmarks)."""
        if not texts:
            return []
        probabilities = self.probabilities(texts, embeddings=embeddings)
        out = []
        for row in probabilities:
            order = np.argsort(-row, kind="stable")[:TOP]
            ranking = tuple((self.intents[i], round(float(row[i]), 6)) for i in order)
            best, confidence = ranking[0]
            out.append(Prediction(intent=best if confidence >= self.oos_threshold else None,
                                  confidence=confidence, ranking=ranking))
        return out

    def probabilities(self, texts: Sequence[str], *, embeddings: np.ndarray | None = None) -> np.ndarray:
        """(len(texts), len(intents)) softmax of the combined scores."""
        texts = list(texts)
        scores = _apply(self._tfidf_head, self._tfidf.encode(texts))
        if self._embedding_head is not None:
            if embeddings is None:
                embeddings = get_encoder(self.encoder_name).encode(texts)
            scores = scores + _apply(self._embedding_head, embeddings)
        scores = scores - scores.max(axis=1, keepdims=True)
        exp = np.exp(scores)
        return np.asarray(exp / exp.sum(axis=1, keepdims=True))

    def with_oos_threshold(self, threshold: float) -> IntentModel:
        return IntentModel(encoder_name=self.encoder_name, intents=self.intents, tfidf=self._tfidf,
                           tfidf_head=self._tfidf_head, embedding_head=self._embedding_head,
                           oos_threshold=threshold, meta=self.meta)

    # --- serialisation ------------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        char_vocab, char_idf, word_vocab, word_idf = self._tfidf.state()
        header = {"format": FORMAT, "encoder": self.encoder_name, "intents": list(self.intents),
                  "oos_threshold": self.oos_threshold, "meta": self.meta, "char_vocab": char_vocab,
                  "word_vocab": word_vocab, "tfidf_weight": self._tfidf_head.weight,
                  "embedding_weight": self._embedding_head.weight if self._embedding_head else None}
        arrays = {"header": np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
                  "char_idf": char_idf, "word_idf": word_idf,
                  "tfidf_coef": self._tfidf_head.coef, "tfidf_intercept": self._tfidf_head.intercept}
        if self._embedding_head is not None:
            arrays["embedding_coef"] = self._embedding_head.coef
            arrays["embedding_intercept"] = self._embedding_head.intercept
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes) -> IntentModel:
        with np.load(io.BytesIO(blob), allow_pickle=False) as data:
            header = json.loads(data["header"].tobytes().decode())
            if header.get("format") != FORMAT:
                raise ValueError(f"unknown intent model format {header.get('format')!r}")
            tfidf = TfidfEncoder(header["char_vocab"], data["char_idf"], header["word_vocab"], data["word_idf"])
            tfidf_head = _Head(data["tfidf_coef"], data["tfidf_intercept"], header["tfidf_weight"])
            embedding_head = (_Head(data["embedding_coef"], data["embedding_intercept"],
                                    header["embedding_weight"]) if "embedding_coef" in data else None)
        return cls(encoder_name=header["encoder"], intents=header["intents"], tfidf=tfidf, tfidf_head=tfidf_head,
                   embedding_head=embedding_head, oos_threshold=header["oos_threshold"], meta=header["meta"])


def _apply(head: _Head, features: Any) -> np.ndarray:
    if sparse.issparse(features) and features.shape[0] == 1:  # one message: add up the rows of its terms
        scores = features.data.astype(np.float64) @ head.coef[features.indices].astype(np.float64)
        return np.asarray(head.weight * (scores[None, :] + head.intercept))
    # float64 sums, so that one message and a batch give the same probabilities to the 6 decimals kept
    scores = features.astype(np.float64) @ head.coef.astype(np.float64)
    return np.asarray(head.weight * (np.asarray(scores) + head.intercept))


# --- training -----------------------------------------------------------------------------------------

def train(examples: Sequence[Example], *, encoder: str = "use", seed: int = 0,
          out_of_scope: Sequence[str] = (), embeddings: np.ndarray | None = None) -> IntentModel:
    """Fit the heads on the examples (at least two intents). `out_of_scope`: texts that match no intent;
    when given, a fifth of the examples is held out to learn the out-of-scope threshold, then the model is
    refitted on all examples. `embeddings`: the examples' sentence embeddings if already computed."""
    if encoder not in ENCODERS:
        raise ValueError(f"unknown encoder {encoder!r} (one of {', '.join(ENCODERS)})")
    intents = sorted({e.intent for e in examples})
    if len(intents) < 2:
        raise ValueError("training needs examples of at least two intents")
    if out_of_scope:
        fit_part, held_out = _split(examples, seed)
        if held_out:
            probe = _fit(fit_part, encoder, seed, None)
            threshold = calibrate_oos(probe, held_out, out_of_scope).oos_threshold
            return _fit(examples, encoder, seed, embeddings).with_oos_threshold(threshold)
    return _fit(examples, encoder, seed, embeddings)


def _fit(examples: Sequence[Example], encoder: str, seed: int, embeddings: np.ndarray | None) -> IntentModel:
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    intents = sorted({e.intent for e in examples})
    index = {name: i for i, name in enumerate(intents)}
    texts = [e.text for e in examples]
    y = np.array([index[e.intent] for e in examples])
    with threadpool_limits(1):
        tfidf = TfidfEncoder().fit(texts)
        svm = LinearSVC(C=TFIDF_C, random_state=seed).fit(tfidf.encode(texts), y)
        tfidf_head = _Head(*_coef(svm, len(intents)), TFIDF_WEIGHT if encoder != "tfidf" else TFIDF_ONLY_WEIGHT)
        embedding_head = None
        if encoder != "tfidf":
            vectors = embeddings if embeddings is not None else get_encoder(encoder).encode(texts)
            lr = LogisticRegression(C=EMBEDDING_C, max_iter=300, random_state=seed).fit(vectors, y)
            embedding_head = _Head(*_coef(lr, len(intents)), EMBEDDING_WEIGHT)
    meta = {"examples": len(examples), "seed": seed}
    return IntentModel(encoder_name=encoder, intents=intents, tfidf=tfidf, tfidf_head=tfidf_head,
                       embedding_head=embedding_head, meta=meta)


def _coef(estimator: Any, n_intents: int) -> tuple[np.ndarray, np.ndarray]:
    coef = np.asarray(estimator.coef_, dtype=np.float32)
    intercept = np.asarray(estimator.intercept_, dtype=np.float32)
    if n_intents == 2:  # binary estimators keep one row: the second intent's score against the first's
        coef = np.vstack([-coef / 2, coef / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2], dtype=np.float32)
    return np.ascontiguousarray(coef.T), intercept


def _split(examples: Sequence[Example], seed: int) -> tuple[list[Example], list[Example]]:
    """About a fifth of each intent's examples held out (intents with fewer than 3 keep all)."""
    rng = random.Random(seed)
    by_intent: dict[str, list[Example]] = {}
    for e in examples:
        by_intent.setdefault(e.intent, []).append(e)
    fit_part, held_out = [], []
    for intent in sorted(by_intent):
        pool = list(by_intent[intent])
        rng.shuffle(pool)
        k = len(pool) // 5 if len(pool) >= 3 else 0
        held_out += pool[:k]
        fit_part += pool[k:]
    return fit_part, held_out


def calibrate_oos(model: IntentModel, in_scope: Sequence[Example], out_of_scope: Sequence[str], *,
                  in_embeddings: np.ndarray | None = None, out_embeddings: np.ndarray | None = None) -> IntentModel:
    """The threshold maximising (in-scope accuracy + out-of-scope recall) / 2 on held-out examples."""
    if not in_scope or not out_of_scope:
        return model
    p_in = model.probabilities([e.text for e in in_scope], embeddings=in_embeddings)
    gold = np.array([model.intents.index(e.intent) if e.intent in model.intents else -1 for e in in_scope])
    top_in, correct = p_in.max(axis=1), p_in.argmax(axis=1) == gold
    top_out = model.probabilities(list(out_of_scope), embeddings=out_embeddings).max(axis=1)
    best, best_score = 0.0, -1.0
    for t in np.unique(np.concatenate([[0.0], top_in, top_out])):
        score = (correct & (top_in >= t)).mean() + (top_out < t).mean()
        if score > best_score + 1e-12:
            best, best_score = float(t), score
    return model.with_oos_threshold(best)


__all__ = ["IntentModel", "calibrate_oos", "train"]

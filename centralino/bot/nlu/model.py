"""The intent model: encoder features -> linear heads -> probabilities, plus an out-of-scope threshold.

With a sentence encoder ("use", "e5") two heads are combined: a logistic regression on the sentence
embedding (meaning, across languages) and a linear SVM on TF-IDF character n-grams and words fitted on the
examples (exact wording, product names, typos). Their scores are added (weights chosen on CLINC150's
validation split, never on test data) and a softmax turns them into probabilities. "tfidf" alone is the
model-free fallback (tests, machines without the encoder).

Out of scope: out-of-scope examples, when given (`train(out_of_scope=…)`), are taught as one more class
whose probability is the share left over by the intents; a prediction has intent None when that class wins or
the top intent's probability is under `oos_threshold`. The threshold is the one giving the best in-scope
accuracy while at least `OOS_RECALL_FLOOR` of held-out out-of-scope examples are refused (`calibrate_oos`,
on a fifth held out in `train` or on a validation split); without out-of-scope examples it is 0 (never out of
scope; the bot's per-intent thresholds still apply).

The English head: when most examples are English (more detected English than Italian by
language.detect_language) and the encoder is "use", a third head is trained, a logistic regression on the
English-only all-MiniLM-L6-v2 embedding ("minilm", same C). A message detected as English (not a tie: a
message with no telling words stays with USE) is scored by it (weight 1) instead of the USE head; other
messages by the USE head.
Better English intents (BANKING77 10-shot 82.4% -> 86.3%) while an Italian business's model, which never gets
the head, keeps USE's transfer from its Italian examples to English messages.

Each intent's name ("card_arrival", "AddToPlaylist") is also taught as one example of it, in words: with
few examples per intent it is a useful one (CLINC150 10-shot validation 88.8% -> 89.4%).

Serialised as an .npz of arrays plus a JSON header (no pickle: models are stored in the database).
"""

from __future__ import annotations

import functools
import io
import json
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse
from threadpoolctl import threadpool_limits

from centralino.bot.nlu.encoders import ENCODERS, TfidfEncoder, available, get_encoder
from centralino.bot.nlu.language import detect_language
from centralino.bot.nlu.types import Example, Prediction

FORMAT = 1
EMBEDDING_C = 10.0  # logistic regression on the embedding
# the out-of-scope recall the threshold must keep on held-out data: 60% + a margin. 0.8 since the English head
# (at 0.7 CLINC150's oos_test recall fell to 49%: the held-out recall did not carry over to test)
OOS_RECALL_FLOOR = 0.8
ENGLISH_ENCODER, ENGLISH_WEIGHT = "minilm", 1.0  # the English head: replaces the USE head on English messages
TFIDF_C = 1.0  # linear SVM on TF-IDF
EMBEDDING_WEIGHT, TFIDF_WEIGHT = 0.5, 1.5  # score = 0.5 * logit(embedding) + 1.5 * svm(tfidf)
TFIDF_ONLY_WEIGHT = 5.0  # sharpens the SVM's margins into usable probabilities when it is alone
TOP = 5

# Texts' sentence embeddings when already computed: an array is the model's encoder's; a dict maps encoder names
# ("use", "minilm") to arrays, one row per text. Whatever is missing is encoded.
Vectors = np.ndarray | dict[str, np.ndarray]


@dataclass(frozen=True)
class _Head:
    coef: np.ndarray  # (dim, n_intents) float32; one more, last, column for the out-of-scope class
    intercept: np.ndarray  # (n_intents,) float32
    weight: float

    @functools.cached_property
    def coef64(self) -> np.ndarray:  # converted once, not on every message
        return self.coef.astype(np.float64)


class IntentModel:
    def __init__(self, *, encoder_name: str, intents: Sequence[str], tfidf: TfidfEncoder,
                 tfidf_head: _Head, embedding_head: _Head | None, oos_threshold: float = 0.0,
                 oos_class: bool = False, meta: dict[str, Any] | None = None,
                 english_head: _Head | None = None) -> None:
        self.encoder_name = encoder_name
        self.intents = tuple(intents)
        self.oos_threshold = float(oos_threshold)
        self.oos_class = oos_class  # the heads have one more, last, column: out of scope
        self.meta = dict(meta or {})
        self._tfidf = tfidf
        self._tfidf_head = tfidf_head
        self._embedding_head = embedding_head
        self._english_head = english_head  # on ENGLISH_ENCODER's embedding, for messages detected as English

    @property
    def english_head(self) -> bool:
        return self._english_head is not None

    def english(self, texts: Sequence[str]) -> np.ndarray:
        """Which texts the English head scores (none without it, or if its encoder cannot run here)."""
        if self._english_head is None or self._embedding_head is None or not _english_encoder_available():
            return np.zeros(len(texts), dtype=bool)
        # a message with no telling words ("refund", a name) stays with USE, which reads either language
        return np.array([detect_language(t, default="it") == "en" for t in texts], dtype=bool)

    # --- prediction ---------------------------------------------------------------------------------

    def predict(self, text: str) -> Prediction:
        return self.predict_many([text])[0]

    def predict_many(self, texts: Sequence[str], *, embeddings: Vectors | None = None) -> list[Prediction]:
        """`embeddings`: the texts' sentence embeddings if already computed (benchmarks)."""
        if not texts:
            return []
        probabilities = self.probabilities(texts, embeddings=embeddings)
        out = []
        for row in probabilities:
            order = np.argsort(-row, kind="stable")[:TOP]
            ranking = tuple((self.intents[i], round(float(row[i]), 6)) for i in order)
            best, confidence = ranking[0]
            top = float(row[order[0]])  # unrounded, as calibrate_oos compares it
            refused = top < self.oos_threshold or 1.0 - float(row.sum()) > top
            out.append(Prediction(intent=None if refused else best, confidence=confidence, ranking=ranking))
        return out

    def probabilities(self, texts: Sequence[str], *, embeddings: Vectors | None = None) -> np.ndarray:
        """(len(texts), len(intents)) softmax of the combined scores (without the out-of-scope class's column:
        then a row sums to 1 minus the out-of-scope probability)."""
        texts = list(texts)
        scores = _apply(self._tfidf_head, self._tfidf.encode(texts))
        if self._embedding_head is not None:
            english = self.english(texts)
            for head, encoder, rows in ((self._embedding_head, self.encoder_name, np.flatnonzero(~english)),
                                        (self._english_head, ENGLISH_ENCODER, np.flatnonzero(english))):
                if head is not None and len(rows):
                    vectors = _vectors(embeddings, encoder, self.encoder_name, texts, rows)
                    scores[rows] += _apply(head, vectors)
        scores = scores - scores.max(axis=1, keepdims=True)
        exp = np.exp(scores)
        return np.asarray(exp / exp.sum(axis=1, keepdims=True))[:, :len(self.intents)]

    def with_oos_threshold(self, threshold: float) -> IntentModel:
        return IntentModel(encoder_name=self.encoder_name, intents=self.intents, tfidf=self._tfidf,
                           tfidf_head=self._tfidf_head, embedding_head=self._embedding_head,
                           oos_threshold=threshold, oos_class=self.oos_class, meta=self.meta,
                           english_head=self._english_head)

    # --- serialisation ------------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        char_vocab, char_idf, word_vocab, word_idf = self._tfidf.state()
        header = {"format": FORMAT, "encoder": self.encoder_name, "intents": list(self.intents),
                  "oos_threshold": self.oos_threshold, "oos_class": self.oos_class, "meta": self.meta,
                  "char_vocab": char_vocab, "word_vocab": word_vocab, "tfidf_weight": self._tfidf_head.weight,
                  "embedding_weight": self._embedding_head.weight if self._embedding_head else None,
                  "english_encoder": ENGLISH_ENCODER if self._english_head else None,
                  "english_weight": self._english_head.weight if self._english_head else None}
        arrays = {"header": np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
                  "char_idf": char_idf, "word_idf": word_idf,
                  "tfidf_coef": self._tfidf_head.coef, "tfidf_intercept": self._tfidf_head.intercept}
        if self._embedding_head is not None:
            arrays["embedding_coef"] = self._embedding_head.coef
            arrays["embedding_intercept"] = self._embedding_head.intercept
        if self._english_head is not None:
            arrays["english_coef"] = self._english_head.coef
            arrays["english_intercept"] = self._english_head.intercept
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
            # models saved before the English head have none: their messages all use the embedding head
            english_head = (_Head(data["english_coef"], data["english_intercept"], header["english_weight"])
                            if "english_coef" in data else None)
        return cls(encoder_name=header["encoder"], intents=header["intents"], tfidf=tfidf, tfidf_head=tfidf_head,
                   embedding_head=embedding_head, oos_threshold=header["oos_threshold"],
                   oos_class=header.get("oos_class", False), meta=header["meta"], english_head=english_head)


@functools.cache
def _english_encoder_available() -> bool:
    return available(ENGLISH_ENCODER)


def _vectors(embeddings: Vectors | None, encoder: str, model_encoder: str, texts: Sequence[str],
             rows: np.ndarray) -> np.ndarray:
    """`encoder`'s embeddings of texts[rows]: from `embeddings` if there, else encoded now."""
    if isinstance(embeddings, dict) and encoder in embeddings:
        return np.asarray(embeddings[encoder][rows])
    if isinstance(embeddings, np.ndarray) and encoder == model_encoder:
        return np.asarray(embeddings[rows])
    return np.asarray(get_encoder(encoder).encode([texts[i] for i in rows]))


def _take(embeddings: Vectors | None, rows: Sequence[int]) -> Vectors | None:
    if isinstance(embeddings, dict):
        return {name: vectors[list(rows)] for name, vectors in embeddings.items()}
    return None if embeddings is None else embeddings[list(rows)]


def mostly_english(examples: Sequence[Example]) -> bool:
    """More examples detected as English than as Italian (those with no telling words count for neither)."""
    languages = [detect_language(e.text, default="") for e in examples]
    return languages.count("en") > languages.count("it")


def _apply(head: _Head, features: Any) -> np.ndarray:
    if sparse.issparse(features) and features.shape[0] == 1:  # one message: add up the rows of its terms
        scores = features.data.astype(np.float64) @ head.coef64[features.indices]
        return np.asarray(head.weight * (scores[None, :] + head.intercept))
    # float64 sums, so that one message and a batch give the same probabilities to the 6 decimals kept
    scores = features.astype(np.float64) @ head.coef64
    return np.asarray(head.weight * (np.asarray(scores) + head.intercept))


# --- training -----------------------------------------------------------------------------------------

def train(examples: Sequence[Example], *, encoder: str = "use", seed: int = 0,
          out_of_scope: Sequence[str] = (), embeddings: Vectors | None = None,
          out_of_scope_embeddings: Vectors | None = None, intent_names: bool = True,
          oos_recall: float = OOS_RECALL_FLOOR) -> IntentModel:
    """Fit the heads on the examples (at least two intents). `out_of_scope`: texts that match no intent,
    taught as a class; a fifth of the examples and of those texts is held out to learn the out-of-scope
    threshold (`calibrate_oos` at `oos_recall`), then the model is refitted on everything. `embeddings`,
    `out_of_scope_embeddings`: the texts' sentence embeddings if already computed (see `Vectors`). With the
    "use" encoder and mostly English examples (`mostly_english`) the model gets the English head.
    `intent_names`: teach each intent's name as one more example."""
    if encoder not in ENCODERS:
        raise ValueError(f"unknown encoder {encoder!r} (one of {', '.join(ENCODERS)})")
    intents = sorted({e.intent for e in examples})
    if len(intents) < 2:
        raise ValueError("training needs examples of at least two intents")
    oos = list(out_of_scope)
    if oos:
        vectors = _Texts(examples, embeddings, oos, out_of_scope_embeddings)
        fit_idx, held_idx, fit_oos, held_oos = _split(examples, len(oos), seed)
        if held_idx and held_oos:
            probe = _fit(vectors.take(fit_idx, fit_oos), encoder, seed, intent_names)
            in_vectors = _take(vectors.embeddings, held_idx)
            out_vectors = _take(vectors.oos_embeddings, held_oos)
            threshold = calibrate_oos(probe, [examples[i] for i in held_idx], [oos[i] for i in held_oos],
                                      in_embeddings=in_vectors, out_embeddings=out_vectors,
                                      oos_recall=oos_recall).oos_threshold
            return _fit(vectors, encoder, seed, intent_names).with_oos_threshold(threshold)
        return _fit(vectors, encoder, seed, intent_names)
    return _fit(_Texts(examples, embeddings, [], None), encoder, seed, intent_names)


@dataclass(frozen=True)
class _Texts:
    """Training texts: the examples, the out-of-scope texts, their embeddings when already computed."""

    examples: Sequence[Example]
    embeddings: Vectors | None
    oos: Sequence[str]
    oos_embeddings: Vectors | None

    def take(self, indices: Sequence[int], oos_indices: Sequence[int]) -> _Texts:
        return _Texts([self.examples[i] for i in indices], _take(self.embeddings, indices),
                      [self.oos[i] for i in oos_indices], _take(self.oos_embeddings, oos_indices))


def name_words(intent: str) -> str:
    """"card_arrival" -> "card arrival", "AddToPlaylist" -> "add to playlist"."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", intent)
    return re.sub(r"[_\-.:/]+", " ", spaced).strip().lower()


def _fit(data: _Texts, encoder: str, seed: int, intent_names: bool) -> IntentModel:
    from sklearn.svm import LinearSVC

    examples = data.examples
    intents = sorted({e.intent for e in examples})
    index = {name: i for i, name in enumerate(intents)}
    names = [name_words(i) for i in intents] if intent_names else []
    texts = [e.text for e in examples] + names + list(data.oos)
    labels = [index[e.intent] for e in examples] + list(range(len(names))) + [len(intents)] * len(data.oos)
    y = np.array(labels)
    n_classes = len(intents) + (1 if data.oos else 0)
    with threadpool_limits(1):
        tfidf = TfidfEncoder().fit(texts)
        svm = LinearSVC(C=TFIDF_C, random_state=seed).fit(tfidf.encode(texts), y)
        tfidf_head = _Head(*_coef(svm, n_classes), TFIDF_WEIGHT if encoder != "tfidf" else TFIDF_ONLY_WEIGHT)
        embedding_head = english_head = None
        if encoder != "tfidf":
            embedding_head = _Head(*_coef(_embedding_lr(data, names, encoder, encoder, y, seed), n_classes),
                                   EMBEDDING_WEIGHT)
            if encoder == "use" and mostly_english(examples) and _english_encoder_available():
                english_head = _Head(*_coef(_embedding_lr(data, names, ENGLISH_ENCODER, encoder, y, seed), n_classes),
                                     ENGLISH_WEIGHT)
    meta = {"examples": len(examples), "seed": seed, "intent_names": intent_names,
            "out_of_scope_examples": len(data.oos), "english_head": english_head is not None}
    return IntentModel(encoder_name=encoder, intents=intents, tfidf=tfidf, tfidf_head=tfidf_head,
                       embedding_head=embedding_head, oos_class=bool(data.oos), meta=meta, english_head=english_head)


def _embedding_lr(data: _Texts, names: Sequence[str], encoder: str, model_encoder: str, y: np.ndarray,
                  seed: int) -> Any:
    """The logistic regression on `encoder`'s embeddings of the examples, the intents' names, the out-of-scope
    texts."""
    from sklearn.linear_model import LogisticRegression

    examples = [e.text for e in data.examples]
    parts = [_vectors(data.embeddings, encoder, model_encoder, examples, np.arange(len(examples)))]
    if names:
        parts.append(np.asarray(get_encoder(encoder).encode(list(names))))
    if data.oos:
        parts.append(_vectors(data.oos_embeddings, encoder, model_encoder, data.oos, np.arange(len(data.oos))))
    return LogisticRegression(C=EMBEDDING_C, max_iter=1000, random_state=seed).fit(np.vstack(parts), y)


def _coef(estimator: Any, n_intents: int) -> tuple[np.ndarray, np.ndarray]:
    coef = np.asarray(estimator.coef_, dtype=np.float32)
    intercept = np.asarray(estimator.intercept_, dtype=np.float32)
    if n_intents == 2:  # binary estimators keep one row: the second intent's score against the first's
        coef = np.vstack([-coef / 2, coef / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2], dtype=np.float32)
    return np.ascontiguousarray(coef.T), intercept


def _split(examples: Sequence[Example], n_oos: int,
           seed: int) -> tuple[list[int], list[int], list[int], list[int]]:
    """About a fifth of each intent's examples held out (intents with fewer than 3 keep all), and a fifth of
    the out-of-scope texts: indices to fit on and to calibrate on."""
    rng = random.Random(seed)
    by_intent: dict[str, list[int]] = {}
    for i, e in enumerate(examples):
        by_intent.setdefault(e.intent, []).append(i)
    fit_part, held_out = [], []
    for intent in sorted(by_intent):
        pool = list(by_intent[intent])
        rng.shuffle(pool)
        k = len(pool) // 5 if len(pool) >= 3 else 0
        held_out += pool[:k]
        fit_part += pool[k:]
    oos = list(range(n_oos))
    rng.shuffle(oos)
    k = max(1, n_oos // 5) if n_oos >= 2 else 0
    return sorted(fit_part), sorted(held_out), sorted(oos[k:]), sorted(oos[:k])


def calibrate_oos(model: IntentModel, in_scope: Sequence[Example], out_of_scope: Sequence[str], *,
                  in_embeddings: Vectors | None = None, out_embeddings: Vectors | None = None,
                  oos_recall: float = OOS_RECALL_FLOOR) -> IntentModel:
    """The threshold giving the best in-scope accuracy (an in-scope message refused is wrong) among those
    refusing at least `oos_recall` of the out-of-scope texts; if none does, the one refusing the most (ties:
    the lowest). In-scope accuracy only falls as the threshold rises, so this is the lowest threshold that
    keeps the recall: the business's floor (60%) plus a margin for the few out-of-scope texts it is measured
    on."""
    if not in_scope or not out_of_scope:
        return model
    p_in = model.probabilities([e.text for e in in_scope], embeddings=in_embeddings)
    gold = np.array([model.intents.index(e.intent) if e.intent in model.intents else -1 for e in in_scope])
    top_in = p_in.max(axis=1)
    correct = (p_in.argmax(axis=1) == gold) & (1.0 - p_in.sum(axis=1) <= top_in)
    p_out = model.probabilities(list(out_of_scope), embeddings=out_embeddings)
    top_out = p_out.max(axis=1)
    class_refused = 1.0 - p_out.sum(axis=1) > top_out  # refused by the out-of-scope class at any threshold
    best: tuple[float, float, float] | None = None  # (recall reached, accuracy, -threshold)
    for t in np.unique(np.concatenate([[0.0], top_in, top_out, [1.0 + 1e-9]])):
        recall = float((class_refused | (top_out < t)).mean())
        key = (min(recall, oos_recall), float((correct & (top_in >= t)).mean()), -float(t))
        if best is None or key > best:
            best = key
    assert best is not None
    return model.with_oos_threshold(-best[2])


__all__ = ["IntentModel", "Vectors", "calibrate_oos", "mostly_english", "name_words", "train"]

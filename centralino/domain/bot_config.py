"""Rules of the bot's configuration as the business edits it (pure: no I/O). Each check returns the clean value
or raises InvalidInput naming the field; `field` prefixes let an import name "intents[3].threshold"."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from centralino.errors import InvalidInput

AUTOMATION_LEVELS = ("auto", "suggest", "human")
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")
HEADER_RE = re.compile(r"^[A-Za-z0-9-]{1,64}$")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
EXAMPLE_MAX = 1000
DESCRIPTION_MAX = 2000
ANSWER_MAX = 4096
EVAL_SHARE = 20  # percent of examples held back to judge retrained models


def eval_split(text: str) -> str:
    """train | eval, fixed by the text alone (a stable hash, ~EVAL_SHARE % eval): every model version is judged
    on the same held-back examples, and an export re-imported lands in the same splits."""
    key = " ".join(text.lower().split()).encode()
    bucket = int.from_bytes(hashlib.sha256(key).digest()[:8], "big") % 100
    return "eval" if bucket < EVAL_SHARE else "train"


def check_name(value: Any, field: str = "name") -> str:
    if not isinstance(value, str) or not NAME_RE.match(value.strip()):
        raise InvalidInput("a name of lower-case letters, digits and _ (starting with a letter, at most 64)",
                           field=field)
    return value.strip()


def check_automation(value: Any, field: str = "automation") -> str:
    if value not in AUTOMATION_LEVELS:
        raise InvalidInput(f"one of {', '.join(AUTOMATION_LEVELS)}", field=field)
    return str(value)


def check_threshold(value: Any, field: str = "threshold") -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise InvalidInput("a number between 0 and 1", field=field)
    return float(value)


def check_language(value: Any, field: str = "language") -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not LANGUAGE_RE.match(value):
        raise InvalidInput("a language code such as it or en", field=field)
    return value


def check_text(value: Any, field: str, *, maximum: int, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise InvalidInput("expected a text", field=field)
    text = value.strip()
    if required and not text:
        raise InvalidInput("must not be empty", field=field)
    if len(text) > maximum:
        raise InvalidInput(f"at most {maximum} characters", field=field)
    return text


def check_answers(value: Any, field: str = "answers") -> dict[str, str]:
    """{language: text}; empty texts are dropped (no answer in that language)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInput("a mapping of language to text, e.g. {it: …, en: …}", field=field)
    out = {}
    for lang, text in value.items():
        check_language(lang, f"{field}.{lang}")
        clean = check_text(text, f"{field}.{lang}", maximum=ANSWER_MAX, required=False)
        if clean:
            out[str(lang)] = clean
    return out


def check_example(value: Any, field: str = "text") -> str:
    return check_text(value, field, maximum=EXAMPLE_MAX)


# --- services --------------------------------------------------------------------------------------------------


def check_method(value: Any, field: str = "method") -> str:
    method = str(value or "").upper()
    if method not in METHODS:
        raise InvalidInput(f"one of {', '.join(METHODS)}", field=field)
    return method


def check_url(value: Any, field: str = "url") -> str:
    url = check_text(value, field, maximum=2000)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInput("an http(s) URL, e.g. https://shop.example/orders/{{ order_number }}", field=field)
    return url


def check_header(value: Any, field: str = "auth_header") -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not HEADER_RE.match(value):
        raise InvalidInput("a header name such as Authorization or X-Api-Key", field=field)
    return value


def check_mapping(value: Any, field: str = "response_mapping") -> dict[str, str]:
    """{slot: "dotted.path[0].x"} of the service's JSON answer."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInput("a mapping of slot to a path in the answer, e.g. {status: order.status}", field=field)
    out = {}
    for slot, path in value.items():
        check_name(slot, f"{field}.{slot}")
        out[str(slot)] = check_text(path, f"{field}.{slot}", maximum=200)
    return out


def check_number(value: Any, field: str, *, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise InvalidInput(f"a number from {low:g} to {high:g}", field=field)
    return float(value)

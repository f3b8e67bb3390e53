"""What a service call returns (bot/actions/http.py makes it; the dialog engine reads it). No I/O here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ServiceResult:
    ok: bool
    data: Mapping[str, Any] = field(default_factory=dict)  # the response mapping's result: {slot: value}
    error: str | None = None  # why not ok, in plain words (for the log and the handoff summary)
    status: int | None = None  # the HTTP status (None: no answer: timeout, connection refused, bad config)
    document: bytes | None = None  # a binary answer (a PDF boarding pass)
    content_type: str | None = None
    filename: str | None = None
    attempts: int = 1
    elapsed_ms: float = 0.0

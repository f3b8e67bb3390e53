"""The one Jinja2 sandbox the bot renders business-written templates with (dialog texts, service URLs and
bodies). Autoescape off: the results are chat messages, URLs and JSON, each escaped its own way by the caller.
On top of Jinja2's sandbox (no attribute walk into Python internals, bounded `range`), multiplication and
powers that would build a huge string, list or number are refused."""

from __future__ import annotations

from typing import Any

from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment

MAX_REPEAT = 10_000  # characters or items a `*` may build
MAX_EXPONENT = 1_000


class BotSandbox(SandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            if isinstance(right, (int, float)) and abs(right) > MAX_EXPONENT:
                raise SecurityError("exponent too large")
            return left**right
        for seq, times in ((left, right), (right, left)):
            if isinstance(seq, (str, bytes, list, tuple)) and isinstance(times, int) and len(seq) * times > MAX_REPEAT:
                raise SecurityError("repetition too large")
        return left * right


def sandbox(**options: Any) -> BotSandbox:
    return BotSandbox(autoescape=False, **options)

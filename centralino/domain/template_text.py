"""The text side of a WhatsApp template: its `{{…}}` variables, its components, Meta's fixed wording.

Pure helpers shared by the linter (domain/template_lint.py) and the send-parameter renderer
(domain/template_params.py). Component and button types are compared upper-case: Meta returns them
upper-case, people write them either way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

VARIABLE = re.compile(r"\{\{([^{}]*)\}\}")
POSITIONAL = re.compile(r"[1-9][0-9]*")
NAMED = re.compile(r"[a-z][a-z0-9_]*")

# Authentication templates have no body text of their own: Meta writes it (in the template's language;
# the English wording here is what we show when the stored template carries no text).
AUTH_BODY = "{{1}} is your verification code."
AUTH_SECURITY = "For your security, do not share this code."
AUTH_EXPIRY = "This code expires in {minutes} minutes."


def variables(text: str) -> list[str]:
    """The names inside `{{…}}` placeholders, in order of appearance (repeats kept)."""
    return VARIABLE.findall(text)


def distinct(names: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(names))


def ctype(component: Mapping[str, Any]) -> str:
    return str(component.get("type") or "").upper()


def find(components: Sequence[Mapping[str, Any]], kind: str) -> Mapping[str, Any] | None:
    """The first component of `kind` (HEADER, BODY, FOOTER, BUTTONS)."""
    return next((c for c in components if isinstance(c, Mapping) and ctype(c) == kind), None)


def buttons(components: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    part = find(components, "BUTTONS") or {}
    listed = part.get("buttons")
    return [b for b in listed if isinstance(b, Mapping)] if isinstance(listed, list) else []


def body_text(category: str, components: Sequence[Mapping[str, Any]]) -> str:
    """The body as written, or Meta's fixed wording for an authentication template without one."""
    body = find(components, "BODY") or {}
    text = body.get("text")
    if isinstance(text, str) and text:
        return text
    if category.lower() == "authentication":
        return AUTH_BODY + (f" {AUTH_SECURITY}" if body.get("add_security_recommendation") else "")
    return ""


def footer_text(category: str, components: Sequence[Mapping[str, Any]]) -> str | None:
    footer = find(components, "FOOTER")
    if footer is None:
        return None
    text = footer.get("text")
    if isinstance(text, str) and text:
        return text
    minutes = footer.get("code_expiration_minutes")
    if category.lower() == "authentication" and isinstance(minutes, int):
        return AUTH_EXPIRY.format(minutes=minutes)
    return None

"""Quick replies' variables: {{contact.name}}, {{contact.first_name}}, {{agent.name}},
{{contact.attributes.<key>}}. Pure: checking a body on save and rendering it to plain text."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from centralino.errors import InvalidInput

VARIABLE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
KNOWN = ("contact.name", "contact.first_name", "agent.name")
ATTRIBUTE = re.compile(r"^contact\.attributes\.[a-z][a-z0-9_]{0,39}$")
BODY_MAX_CHARS = 4096
TITLE_MAX_CHARS = 100
SHORTCUT = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,31}$")


@dataclass(frozen=True)
class RenderContext:
    contact_name: str | None
    agent_name: str | None
    attributes: Mapping[str, str] = field(default_factory=dict)


def variables_in(body: str) -> list[str]:
    return [m.group(1) for m in VARIABLE.finditer(body)]


def check_body(body: str) -> str:
    body = body.strip()
    if not body or len(body) > BODY_MAX_CHARS:
        raise InvalidInput(f"the text has 1 to {BODY_MAX_CHARS} characters", field="body",
                           code="quick_reply.invalid_body")
    unknown = [v for v in variables_in(body) if v not in KNOWN and not ATTRIBUTE.match(v)]
    if unknown:
        raise InvalidInput(f"unknown variable {{{{{unknown[0]}}}}}: use {{{{contact.name}}}}, "
                           "{{contact.first_name}}, {{agent.name}} or {{contact.attributes.<key>}}",
                           field="body", code="quick_reply.unknown_variable", variable=unknown[0])
    return body


def check_title(title: str) -> str:
    title = " ".join(title.split())
    if not title or len(title) > TITLE_MAX_CHARS:
        raise InvalidInput(f"a title has 1 to {TITLE_MAX_CHARS} characters", field="title",
                           code="quick_reply.invalid_title")
    return title


def check_shortcut(shortcut: str) -> str:
    shortcut = shortcut.strip().lstrip("/").lower()
    if not SHORTCUT.match(shortcut):
        raise InvalidInput("a shortcut is 1 to 32 lower-case letters, digits, '-' or '_'", field="shortcut",
                           code="quick_reply.invalid_shortcut")
    return shortcut


def render(body: str, context: RenderContext) -> str:
    """Plain text with the variables filled in (a missing value becomes empty text)."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "contact.name":
            return context.contact_name or ""
        if name == "contact.first_name":
            return (context.contact_name or "").split(" ")[0]
        if name == "agent.name":
            return context.agent_name or ""
        if ATTRIBUTE.match(name):
            return str(context.attributes.get(name.removeprefix("contact.attributes."), ""))
        return match.group(0)

    return VARIABLE.sub(value, body)

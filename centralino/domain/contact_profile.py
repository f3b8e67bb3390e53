"""Rules for what agents edit on a customer's profile: name, language, tags, custom attributes.

Pure: each check returns the normalised value or raises InvalidInput naming the field."""

from __future__ import annotations

import re
from typing import Any

from centralino.errors import InvalidInput

NAME_MAX_CHARS = 300
TAG_MAX_CHARS = 50
MAX_TAGS = 30
ATTRIBUTE_MAX_CHARS = 500
MAX_ATTRIBUTES = 50

# Meta's template language codes most often needed; the customer's language picks the template's.
LANGUAGES: tuple[str, ...] = ("it", "en", "en_US", "en_GB", "es", "es_ES", "fr", "de", "pt_BR", "pt_PT", "nl",
                              "ro", "pl", "ru", "uk", "sq", "ar", "tr", "zh_CN", "hi", "ja")
TAG = re.compile(r"^[\w][\w .\-]*$")
ATTRIBUTE_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def check_name(value: Any) -> str:
    name = " ".join(str(value).split()) if isinstance(value, str) else ""
    if not name or len(name) > NAME_MAX_CHARS:
        raise InvalidInput(f"a name has 1 to {NAME_MAX_CHARS} characters", field="display_name",
                           code="contact.invalid_name")
    return name


def check_language(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if value not in LANGUAGES:
        raise InvalidInput(f"language is one of {', '.join(LANGUAGES)}", field="language",
                           code="contact.invalid_language")
    return str(value)


def check_tag(value: Any, field: str = "tag") -> str:
    tag = " ".join(str(value).split()).lower() if isinstance(value, str) else ""
    if not tag or len(tag) > TAG_MAX_CHARS or not TAG.match(tag):
        raise InvalidInput(f"a tag has 1 to {TAG_MAX_CHARS} letters, digits, spaces, '.', '-' or '_'",
                           field=field, code="contact.invalid_tag")
    return tag


def check_tags(values: Any) -> list[str]:
    if not isinstance(values, list):
        raise InvalidInput("tags is a list", field="tags", code="contact.invalid_tag")
    tags = sorted({check_tag(v, f"tags[{i}]") for i, v in enumerate(values)})
    if len(tags) > MAX_TAGS:
        raise InvalidInput(f"at most {MAX_TAGS} tags", field="tags", code="contact.too_many_tags")
    return tags


def merge_attributes(current: dict[str, Any], changes: Any) -> dict[str, str]:
    """`changes` maps keys to a new text value, or to null to remove the key."""
    if not isinstance(changes, dict):
        raise InvalidInput("attributes is an object", field="attributes", code="contact.invalid_attribute")
    merged = {str(k): str(v) for k, v in current.items()}
    for key, value in changes.items():
        if not isinstance(key, str) or not ATTRIBUTE_KEY.match(key):
            raise InvalidInput("an attribute key is 1 to 40 lower-case letters, digits or '_', starting with a letter",
                               field=f"attributes.{key}", code="contact.invalid_attribute_key")
        if value is None:
            merged.pop(key, None)
            continue
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise InvalidInput("an attribute value is text", field=f"attributes.{key}",
                               code="contact.invalid_attribute_value")
        text = " ".join(str(value).split())
        if not text or len(text) > ATTRIBUTE_MAX_CHARS:
            raise InvalidInput(f"an attribute value has 1 to {ATTRIBUTE_MAX_CHARS} characters",
                               field=f"attributes.{key}", code="contact.invalid_attribute_value")
        merged[key] = text
    if len(merged) > MAX_ATTRIBUTES:
        raise InvalidInput(f"at most {MAX_ATTRIBUTES} attributes", field="attributes",
                           code="contact.too_many_attributes")
    return merged

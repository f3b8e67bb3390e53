"""Message templates: creation checks, the review's rules, and matching a send's parameters (reference §5).

Pure functions over JSON; the template store and its webhooks live in `templates.py`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from centralino.simulator.errors import GraphError
from centralino.simulator.fieldcheck import Obj

CATEGORIES = frozenset({"MARKETING", "UTILITY", "AUTHENTICATION"})
HEADER_FORMATS = frozenset({"TEXT", "IMAGE", "VIDEO", "DOCUMENT", "LOCATION", "GIF"})
BUTTON_TYPES = frozenset({"QUICK_REPLY", "URL", "PHONE_NUMBER", "COPY_CODE", "OTP", "FLOW", "MPM", "CATALOG",
                          "VOICE_CALL", "REQUEST_CONTACT_INFO", "SPM"})
BUTTON_LIMITS = {"QUICK_REPLY": 10, "URL": 2, "PHONE_NUMBER": 1, "COPY_CODE": 1}
NAME = re.compile(r"[a-z0-9_]{1,512}")
LANGUAGE = re.compile(r"[a-z]{2,3}(_[A-Z]{2})?")
_VARIABLE = re.compile(r"\{\{([^{}]*)\}\}")
_POSITIONAL = re.compile(r"[1-9][0-9]*")
_NAMED = re.compile(r"[a-z][a-z0-9_]*")

MARKETING_WORDS = ("sconto", "sconti", "offerta", "offer", "% off", "promo", "discount", "saldi", "sale ",
                   "coupon", "buy now", "compra ora", "gratis", "free gift", "limited time")
ABUSIVE_WORDS = ("idiot", "idiota", "stupid", "stupido", "imbecille", "kill you", "ti ammazzo", "bastard")
SCAM_WORDS = ("password", "card number", "numero della carta", "numero di carta", "cvv", "pin del bancomat")


def _error(details: str, user_title: str = "Invalid template") -> GraphError:
    return GraphError(100, details, subcode=2388043, user_title=user_title, user_message=details)


def variables(text: str) -> list[str]:
    """The `{{…}}` placeholders of a text, in order of appearance."""
    return _VARIABLE.findall(text)


def check_variables(text: str, parameter_format: str, where: str) -> list[str]:
    found = variables(text)
    stray = _VARIABLE.sub("", text)
    if "{{" in stray or "}}" in stray:
        raise _error(f"{where}: unbalanced or nested variable braces.", "Variables have incorrect format")
    pattern = _NAMED if parameter_format == "NAMED" else _POSITIONAL
    for name in found:
        if not pattern.fullmatch(name):
            expected = "lowercase letters, digits and underscores like {{first_name}}" \
                if parameter_format == "NAMED" else "a number like {{1}}"
            raise _error(f"{where}: variable {{{{{name}}}}} must be {expected} "
                         f"(parameter_format {parameter_format}).", "Variables have incorrect format")
    if parameter_format != "NAMED":
        numbers = sorted({int(n) for n in found})
        if numbers != list(range(1, len(numbers) + 1)):
            raise _error(f"{where}: positional variables must be sequential {{{{1}}}}..{{{{n}}}}, found "
                         f"{', '.join('{{' + str(n) + '}}' for n in numbers)}.", "Variables are not sequential")
    return found


@dataclass(frozen=True)
class TemplateDraft:
    name: str
    language: str
    category: str
    parameter_format: str
    components: list[dict[str, Any]]


def validate_create(body: Any) -> TemplateDraft:
    root = Obj(body, ())
    root.only({"name", "language", "category", "parameter_format", "components", "allow_category_change",
               "message_send_ttl_seconds"})
    name = root.need_text("name")
    if not NAME.fullmatch(name):
        raise _error("name must be at most 512 lowercase letters, digits or underscores.", "Invalid template name")
    language = root.need_text("language")
    if not LANGUAGE.fullmatch(language):
        raise _error(f"language '{language}' is not a supported language code (like en_US or it).")
    category = (root.need_text("category")).upper()
    if category not in CATEGORIES:
        raise _error(f"category must be one of {', '.join(sorted(CATEGORIES))}.")
    parameter_format = (root.text("parameter_format") or "positional").upper()
    if parameter_format not in ("POSITIONAL", "NAMED"):
        raise _error("parameter_format must be positional or named.")
    components = root.objects("components", low=1)
    seen: dict[str, int] = {}
    for component in components:
        ctype = (component.need_text("type")).upper()
        component.data["type"] = ctype
        seen[ctype] = seen.get(ctype, 0) + 1
        checker = _COMPONENT_CHECKS.get(ctype)
        if checker is None:
            raise _error(f"component type '{ctype}' must be one of HEADER, BODY, FOOTER, BUTTONS.")
        if seen[ctype] > 1:
            raise _error(f"a template has at most one {ctype} component.")
        checker(component, parameter_format, category)
    if "BODY" not in seen:
        raise _error("a BODY component is required.", "Missing body")
    stored = [c.data for c in components]
    if category == "AUTHENTICATION":
        stored = authentication_preset(language, stored)
    return TemplateDraft(name, language, category, parameter_format, stored)


# Meta writes an authentication template's text itself (the body is not free text): these are the
# stored forms that GET returns and a send renders; other languages fall back to English.
_AUTH_BODY = {"it": "*{{1}}* è il tuo codice di verifica.", "en": "*{{1}}* is your verification code."}
_AUTH_SECURITY = {"it": " Per la tua sicurezza, non condividerlo.", "en": " For your security, do not share this code."}
_AUTH_EXPIRY = {"it": "Questo codice scade tra {} minuti.", "en": "This code expires in {} minutes."}
_AUTH_BUTTON = {"it": "Copia codice", "en": "Copy code"}


def authentication_preset(language: str, components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    lang = language.split("_")[0] if language.split("_")[0] in _AUTH_BODY else "en"
    result: list[dict[str, Any]] = []
    for part in components:
        kind = part.get("type")
        if kind == "BODY" and not part.get("text"):  # a text given anyway is reviewed as written
            text = _AUTH_BODY[lang] + (_AUTH_SECURITY[lang] if part.get("add_security_recommendation") else "")
            result.append({**part, "text": text})
        elif kind == "FOOTER" and part.get("code_expiration_minutes"):
            result.append({**part, "text": _AUTH_EXPIRY[lang].format(int(part["code_expiration_minutes"]))})
        elif kind == "BUTTONS":
            buttons = [{**b, "text": b.get("text") or _AUTH_BUTTON[lang]} if b.get("type") in ("OTP", "COPY_CODE")
                       else b for b in part.get("buttons") or []]
            result.append({**part, "buttons": buttons})
        else:
            result.append(part)
    return result


def _examples(component: Obj, key: str, named_key: str, names: list[str], parameter_format: str,
              where: str) -> None:
    distinct = list(dict.fromkeys(names))
    if not distinct:
        return
    example = component.obj("example", required=False)
    if parameter_format == "NAMED":
        given = example.data.get(named_key) if example else None
        got = {p.get("param_name") for p in given if isinstance(p, dict) and p.get("example")} \
            if isinstance(given, list) else set()
        if not set(distinct) <= got:
            raise _error(f"{where}: every variable needs an example in example.{named_key} "
                         f"(missing: {', '.join(sorted(set(distinct) - got))}).", "Missing variable examples")
        return
    given = example.data.get(key) if example else None
    if key == "body_text" and isinstance(given, list) and given and isinstance(given[0], list):
        given = given[0]
    if not isinstance(given, list) or len(given) != len(distinct) or not all(isinstance(v, str) and v
                                                                               for v in given):
        raise _error(f"{where}: {len(distinct)} variable(s) need as many examples in example.{key}.",
                     "Missing variable examples")


def _header(component: Obj, parameter_format: str, _category: str) -> None:
    fmt = (component.need_text("format")).upper()
    if fmt not in HEADER_FORMATS:
        raise _error(f"HEADER format must be one of {', '.join(sorted(HEADER_FORMATS))}.")
    if fmt == "TEXT":
        text = component.need_text("text")
        if len(text) > 60:
            raise _error("HEADER text must be at most 60 characters.")
        names = check_variables(text, parameter_format, "HEADER")
        if len(names) > 1:
            raise _error("HEADER text may contain at most one variable.")
        _examples(component, "header_text", "header_text_named_params", names, parameter_format, "HEADER")
    elif fmt != "LOCATION":
        example = component.obj("example", required=False)
        handles = example.data.get("header_handle") if example else None
        if not isinstance(handles, list) or not handles:
            raise _error(f"a {fmt} HEADER needs an example.header_handle (a Resumable Upload handle).",
                         "Missing media example")


def _body(component: Obj, parameter_format: str, category: str) -> None:
    text = component.text("text")
    if text is None:
        if category == "AUTHENTICATION":
            return
        raise _error("BODY text is required.", "Missing body")
    if len(text) > 1024:
        raise _error("BODY text must be at most 1024 characters.")
    names = check_variables(text, parameter_format, "BODY")
    _examples(component, "body_text", "body_text_named_params", names, parameter_format, "BODY")


def _footer(component: Obj, parameter_format: str, _category: str) -> None:
    text = component.text("text")
    if text is None:
        return
    if len(text) > 60:
        raise _error("FOOTER text must be at most 60 characters.")
    if variables(text) or "{{" in text:
        raise _error("FOOTER text cannot contain variables.")


def _buttons(component: Obj, parameter_format: str, _category: str) -> None:
    buttons = component.data.get("buttons")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 10:
        raise _error("BUTTONS must list between 1 and 10 buttons.")
    counts: dict[str, int] = {}
    kinds: list[str] = []
    for i, raw in enumerate(buttons):
        button = Obj(raw, ("components", "buttons", i))
        btype = button.need_text("type").upper()
        button.data["type"] = btype
        if btype not in BUTTON_TYPES:
            raise _error(f"button {i}: type must be one of {', '.join(sorted(BUTTON_TYPES))}.")
        counts[btype] = counts.get(btype, 0) + 1
        if counts[btype] > BUTTON_LIMITS.get(btype, 10):
            raise _error(f"at most {BUTTON_LIMITS[btype]} {btype} button(s) per template.")
        kinds.append(btype)
        text = button.text("text")
        # Meta labels OTP and COPY_CODE buttons itself ("Copy code"): they need no text
        if text is None and btype not in ("OTP", "COPY_CODE"):
            raise _error(f"button {i}: text is required.")
        if text is not None and len(text) > 25:
            raise _error(f"button {i}: text must be at most 25 characters.")
        if btype == "URL":
            url = button.need_text("url")
            names = variables(url)
            if names and (names != ["1"] or not url.endswith("{{1}}")):
                raise _error(f"button {i}: a URL may only end with one variable {{{{1}}}}.")
            if names and not button.data.get("example"):
                raise _error(f"button {i}: a URL with a variable needs an example.", "Missing variable examples")
        elif btype == "PHONE_NUMBER":
            button.need_text("phone_number", max_len=20)
        elif btype == "COPY_CODE":
            example = button.data.get("example")
            if not isinstance(example, str) or not 1 <= len(example) <= 15:
                raise _error(f"button {i}: COPY_CODE needs an example of at most 15 characters.")
    quick = [i for i, kind in enumerate(kinds) if kind == "QUICK_REPLY"]
    if quick and quick != list(range(quick[0], quick[-1] + 1)):
        raise _error("QUICK_REPLY buttons must be grouped together.")


_COMPONENT_CHECKS = {"HEADER": _header, "BODY": _body, "FOOTER": _footer, "BUTTONS": _buttons}


# -- review --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Verdict:
    status: str  # APPROVED | REJECTED
    reason: str  # NONE or the rejection reason
    recommendation: str | None = None


def component(components: list[dict[str, Any]], ctype: str) -> dict[str, Any] | None:
    return next((c for c in components if str(c.get("type", "")).upper() == ctype), None)


def all_text(components: list[dict[str, Any]]) -> str:
    parts = [str(c.get("text") or "") for c in components]
    buttons = component(components, "BUTTONS") or {}
    parts += [str(b.get("text") or "") for b in buttons.get("buttons") or [] if isinstance(b, dict)]
    return " ".join(parts)


def review(draft: TemplateDraft) -> Verdict:
    """The automated review, by simple published rules (see docs/simulator.md)."""
    text = all_text(draft.components).lower()
    if any(word in text for word in ABUSIVE_WORDS):
        return Verdict("REJECTED", "ABUSIVE_CONTENT")
    if any(word in text for word in SCAM_WORDS):
        return Verdict("REJECTED", "SCAM")
    body = str((component(draft.components, "BODY") or {}).get("text") or "")
    names = variables(body)
    if names:
        stripped = body.strip().rstrip(".!?…:;, ")
        if stripped.startswith("{{") or stripped.endswith("}}"):
            return Verdict("REJECTED", "INVALID_FORMAT", "Variables can't be at the start or end of the body.")
        if draft.parameter_format != "NAMED":
            order = list(dict.fromkeys(int(n) for n in names))
            if order != sorted(order):
                return Verdict("REJECTED", "INVALID_FORMAT", "Variables must appear in sequential order.")
        words = len(_VARIABLE.sub(" ", body).split())
        if words < 2 * len(names) + 1:
            return Verdict("REJECTED", "INVALID_FORMAT",
                           "The body has too many variables for its length: add more text.")
    if draft.category in ("UTILITY", "AUTHENTICATION") and any(word in f"{text} " for word in MARKETING_WORDS):
        reason = "INCORRECT_CATEGORY" if draft.category == "UTILITY" else "PROMOTIONAL"
        return Verdict("REJECTED", reason)
    return Verdict("APPROVED", "NONE")

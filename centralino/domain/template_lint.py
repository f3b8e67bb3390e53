"""Meta's template rules, checked locally before a template is submitted (reference §5).

`lint(definition)` takes Meta's create-template JSON ({name, language, category, parameter_format?,
components}) and names every problem it finds — it never stops at the first — each with the field path
(like "components[1].text"), a stable code (like "body.variables_not_contiguous") and a plain-English
message. An empty list means Meta's published format rules are met; Meta's review may still reject the
content (policy), which no local check can promise.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from centralino.domain.template_text import NAMED, POSITIONAL, VARIABLE, ctype, distinct, variables


@dataclass(frozen=True)
class LintProblem:
    field: str  # where: "name", "components[1].text", "components[3].buttons[0].url"
    code: str  # stable: "body.variables_not_contiguous"
    message: str  # plain English, for the builder


NAME = re.compile(r"[a-z0-9_]+")
CATEGORIES = frozenset({"marketing", "utility", "authentication"})
PARAMETER_FORMATS = frozenset({"positional", "named"})
HEADER_MEDIA = frozenset({"IMAGE", "VIDEO", "DOCUMENT", "GIF"})
HEADER_FORMATS = HEADER_MEDIA | {"TEXT", "LOCATION"}
BUTTON_LIMITS = {"QUICK_REPLY": 10, "URL": 2, "PHONE_NUMBER": 1, "COPY_CODE": 1, "OTP": 1}
BUTTON_TYPES = frozenset(BUTTON_LIMITS) | {"FLOW", "MPM", "CATALOG", "VOICE_CALL", "REQUEST_CONTACT_INFO", "SPM"}
OTP_TYPES = frozenset({"COPY_CODE", "ONE_TAP", "ZERO_TAP"})
MAX_NAME, MAX_HEADER, MAX_BODY, MAX_FOOTER, MAX_BUTTON_TEXT, MAX_BUTTONS = 512, 60, 1024, 60, 25, 10
MAX_URL, MAX_PHONE, MAX_COUPON = 2000, 20, 15
# Meta's template languages (WhatsApp Manager's list).
_LANGUAGE_LIST = """
af sq ar ar_EG ar_AE ar_LB ar_MA ar_QA az be_BY bn bn_IN bg ca zh_CN zh_HK zh_TW hr cs da prs_AF nl nl_BE
en en_GB en_US en_AE en_AU en_CA en_GH en_IE en_IN en_JM en_MY en_NZ en_QA en_SG en_UG en_ZA et fil fi fr
fr_BE fr_CA fr_CH fr_CI fr_MA ka de de_AT de_CH el gu ha he hi hu id ga it ja kn kk rw_RW ko ky_KG lo lv lt
mk ms ml mr nb ps_AF fa pl pt_BR pt_PT pa ro ru sr si_LK sk sl es es_AR es_CL es_CO es_CR es_DO es_EC es_HN
es_MX es_PA es_PE es_ES es_UY sw sv ta te th tr uk ur uz vi zu
"""
LANGUAGES = frozenset(_LANGUAGE_LIST.split())
# Wording that makes Meta re-categorise a utility template as marketing (or reject it).
PROMOTIONAL = ("% off", "discount", "sconto", "sconti", "offerta", "offer ", "promo", "coupon", "buy now",
               "compra ora", "saldi", "sale ", "free gift", "gratis", "limited time")
_EDGE = " \t\n.!?…:;,"


def lint(definition: Mapping[str, Any]) -> list[LintProblem]:
    found: list[LintProblem] = []

    def add(where: str, code: str, message: str) -> None:
        found.append(LintProblem(where, code, message))

    name = definition.get("name")
    if not isinstance(name, str) or not name:
        add("name", "name.required", "The template needs a name.")
    elif len(name) > MAX_NAME:
        add("name", "name.too_long", f"The name has {len(name)} characters; at most {MAX_NAME} are allowed.")
    elif not NAME.fullmatch(name):
        add("name", "name.format", "The name may only contain lower-case letters, digits and underscores.")
    language = definition.get("language")
    if not isinstance(language, str) or not language:
        add("language", "language.required", "The template needs a language code, like it or en_US.")
    elif language not in LANGUAGES:
        add("language", "language.unknown", f"'{language}' is not a language WhatsApp templates support "
                                            "(codes look like it, en_US, pt_BR).")
    raw_category = definition.get("category")
    category = raw_category.lower() if isinstance(raw_category, str) else ""
    if not category:
        add("category", "category.required", "The template needs a category: marketing, utility or authentication.")
    elif category not in CATEGORIES:
        add("category", "category.unknown", f"'{raw_category}' is not a category; use marketing, utility or "
                                            "authentication.")
    fmt = str(definition.get("parameter_format") or "positional").lower()
    if fmt not in PARAMETER_FORMATS:
        add("parameter_format", "parameter_format.unknown", "parameter_format must be positional or named.")
        fmt = "positional"
    components = definition.get("components")
    if not isinstance(components, list) or not components:
        add("components", "components.required", "The template needs components, at least a BODY.")
        return found
    seen: dict[str, int] = {}
    for i, component in enumerate(components):
        where = f"components[{i}]"
        if not isinstance(component, Mapping):
            add(where, "component.invalid", "Each component must be an object with a type.")
            continue
        kind = ctype(component)
        if kind not in _CHECKS:
            add(f"{where}.type", "component.type_unknown",
                f"'{component.get('type')}' is not a component type; use HEADER, BODY, FOOTER or BUTTONS.")
            continue
        if kind in seen:
            add(f"{where}.type", "component.duplicate", f"A template has at most one {kind} component.")
            continue
        seen[kind] = i
        _CHECKS[kind](_Ctx(add, where, component, category, fmt))
    if "BODY" not in seen:
        add("components", "body.required", "The template needs a BODY component.")
    if category == "authentication":
        _authentication(add, seen, components)
    return found


@dataclass(frozen=True)
class _Ctx:
    add: Callable[[str, str, str], None]
    where: str
    component: Mapping[str, Any]
    category: str
    fmt: str  # positional | named


def _check_variables(ctx: _Ctx, text: str, part: str) -> list[str]:
    """Format checks shared by header and body; returns the distinct variable names."""
    where = f"{ctx.where}.text"
    stray = VARIABLE.sub("", text)
    if "{{" in stray or "}}" in stray:
        ctx.add(where, f"{part}.braces", "A variable's braces are unbalanced or nested: write {{1}} or {{name}}.")
    names = variables(text)
    positional = [n for n in names if POSITIONAL.fullmatch(n)]
    named = [n for n in names if NAMED.fullmatch(n)]
    bad = [n for n in names if n not in positional and n not in named]
    if positional and named:
        ctx.add(where, f"{part}.mixed_variables", "Positional ({{1}}) and named ({{name}}) variables cannot be "
                                                  "mixed in one template.")
    for n in distinct(bad):
        ctx.add(where, f"{part}.variable_format", f"{{{{{n}}}}} is not a valid variable: use {{{{1}}}}, {{{{2}}}} … "
                                                  "or lower-case snake_case names like {{order_id}}.")
    if ctx.fmt == "positional" and named and not positional:
        ctx.add(where, f"{part}.named_variables_not_declared",
                "Named variables need parameter_format \"named\" (or write {{1}}, {{2}} …).")
    if ctx.fmt == "named" and positional:
        ctx.add(where, f"{part}.positional_in_named", "parameter_format is named: write variables as names like "
                                                      "{{first_name}}, not numbers.")
    if ctx.fmt == "positional" and positional:
        numbers = [int(n) for n in distinct(positional)]
        if sorted(numbers) != list(range(1, len(numbers) + 1)):
            ctx.add(where, f"{part}.variables_not_contiguous", "Variables must be numbered {{1}}, {{2}} … without "
                                                               f"gaps; found {', '.join(map(str, sorted(numbers)))}.")
        elif numbers != sorted(numbers):
            ctx.add(where, f"{part}.variables_out_of_order", "Variables must appear in order: {{1}} before {{2}}.")
    return distinct(names)


def _examples(ctx: _Ctx, names: list[str], key: str, named_key: str, part: str) -> None:
    if not names:
        return
    where = f"{ctx.where}.example"
    example = ctx.component.get("example")
    example = example if isinstance(example, Mapping) else {}
    if ctx.fmt == "named":
        given = example.get(named_key)
        got = [p.get("param_name") for p in given if isinstance(p, Mapping) and p.get("example")] \
            if isinstance(given, list) else []
        missing = [n for n in names if n not in got]
        extra = [str(n) for n in got if n not in names]
        if not got:
            ctx.add(f"{where}.{named_key}", f"{part}.examples_missing",
                    f"Every variable needs an example in example.{named_key} ({', '.join(names)}).")
        elif missing or extra:
            ctx.add(f"{where}.{named_key}", f"{part}.examples_count",
                    "The examples must name exactly the variables"
                    + (f"; missing: {', '.join(missing)}" if missing else "")
                    + (f"; not in the text: {', '.join(extra)}" if extra else "") + ".")
        return
    given = example.get(key)
    if key == "body_text" and isinstance(given, list) and given and isinstance(given[0], list):
        given = given[0]
    if not isinstance(given, list) or not given:
        ctx.add(f"{where}.{key}", f"{part}.examples_missing",
                f"{len(names)} variable(s) need as many examples in example.{key}.")
    elif len(given) != len(names) or not all(isinstance(v, str) and v.strip() for v in given):
        ctx.add(f"{where}.{key}", f"{part}.examples_count",
                f"{len(names)} variable(s) need {len(names)} non-empty example(s); {len(given)} given.")


def _header(ctx: _Ctx) -> None:
    fmt = str(ctx.component.get("format") or "").upper()
    if ctx.category == "authentication":
        return  # reported once by _authentication
    if fmt not in HEADER_FORMATS:
        ctx.add(f"{ctx.where}.format", "header.format_unknown",
                "The header format must be TEXT, IMAGE, VIDEO, DOCUMENT or LOCATION.")
        return
    if fmt == "TEXT":
        text = ctx.component.get("text")
        if not isinstance(text, str) or not text.strip():
            ctx.add(f"{ctx.where}.text", "header.text_required", "A TEXT header needs its text.")
            return
        if len(text) > MAX_HEADER:
            ctx.add(f"{ctx.where}.text", "header.too_long",
                    f"The header has {len(text)} characters; at most {MAX_HEADER} are allowed.")
        names = _check_variables(ctx, text, "header")
        if len(names) > 1:
            ctx.add(f"{ctx.where}.text", "header.too_many_variables", "A text header may have at most one variable.")
        _examples(ctx, names, "header_text", "header_text_named_params", "header")
    elif fmt in HEADER_MEDIA:
        example = ctx.component.get("example")
        handles = example.get("header_handle") if isinstance(example, Mapping) else None
        if not isinstance(handles, list) or not handles or not all(isinstance(h, str) and h for h in handles):
            ctx.add(f"{ctx.where}.example.header_handle", "header.media_example_missing",
                    f"A {fmt} header needs a sample file: example.header_handle from Meta's upload.")


def _body(ctx: _Ctx) -> None:
    text = ctx.component.get("text")
    if ctx.category == "authentication":
        if text is not None:
            ctx.add(f"{ctx.where}.text", "authentication.custom_body",
                    "Authentication templates have Meta's fixed body (\"<code> is your verification code.\"): "
                    "remove the text; only add_security_recommendation may be set.")
        flag = ctx.component.get("add_security_recommendation")
        if flag is not None and not isinstance(flag, bool):
            ctx.add(f"{ctx.where}.add_security_recommendation", "authentication.security_recommendation",
                    "add_security_recommendation must be true or false.")
        return
    if not isinstance(text, str) or not text.strip():
        ctx.add(f"{ctx.where}.text", "body.text_required", "The body needs its text.")
        return
    where = f"{ctx.where}.text"
    if len(text) > MAX_BODY:
        ctx.add(where, "body.too_long", f"The body has {len(text)} characters; at most {MAX_BODY} are allowed.")
    names = _check_variables(ctx, text, "body")
    if names:
        stripped = text.strip(_EDGE)
        if stripped.startswith("{{"):
            ctx.add(where, "body.variable_at_start", "The body cannot start with a variable: put some words first.")
        if stripped.endswith("}}"):
            ctx.add(where, "body.variable_at_end", "The body cannot end with a variable: add some words after it.")
        if re.search(r"\}\}\s*\{\{", text):
            ctx.add(where, "body.adjacent_variables", "Two variables cannot be next to each other: put words between.")
        count = len(variables(text))
        words = len(VARIABLE.sub(" ", text).split())
        if words < 2 * count + 1:
            ctx.add(where, "body.too_many_variables", f"The body has {count} variable(s) and {words} word(s): "
                                                      f"Meta asks for at least {2 * count + 1} words of text.")
    _examples(ctx, names, "body_text", "body_text_named_params", "body")
    if ctx.category == "utility" and any(w in f"{text.lower()} " for w in PROMOTIONAL):
        ctx.add(where, "utility.promotional_wording", "Promotional wording (offers, discounts, coupons) in a "
                                                     "utility template: Meta re-categorises it as marketing.")


def _footer(ctx: _Ctx) -> None:
    text = ctx.component.get("text")
    if ctx.category == "authentication":
        minutes = ctx.component.get("code_expiration_minutes")
        if text is not None:
            ctx.add(f"{ctx.where}.text", "authentication.custom_footer",
                    "Authentication templates have no footer text: set code_expiration_minutes (1-90) instead.")
        if minutes is not None and (not isinstance(minutes, int) or isinstance(minutes, bool)
                                    or not 1 <= minutes <= 90):
            ctx.add(f"{ctx.where}.code_expiration_minutes", "authentication.code_expiration",
                    "code_expiration_minutes must be a whole number from 1 to 90.")
        return
    if not isinstance(text, str) or not text.strip():
        ctx.add(f"{ctx.where}.text", "footer.text_required", "The footer needs its text (or remove the footer).")
        return
    if len(text) > MAX_FOOTER:
        ctx.add(f"{ctx.where}.text", "footer.too_long",
                f"The footer has {len(text)} characters; at most {MAX_FOOTER} are allowed.")
    if "{{" in text or "}}" in text:
        ctx.add(f"{ctx.where}.text", "footer.variables", "The footer cannot contain variables.")


def _buttons(ctx: _Ctx) -> None:
    listed = ctx.component.get("buttons")
    where = f"{ctx.where}.buttons"
    if not isinstance(listed, list) or not listed:
        ctx.add(where, "buttons.required", "The BUTTONS component needs at least one button (or remove it).")
        return
    if len(listed) > MAX_BUTTONS:
        ctx.add(where, "buttons.too_many", f"{len(listed)} buttons; a template has at most {MAX_BUTTONS}.")
    kinds: list[str] = []
    for i, button in enumerate(listed):
        at = f"{where}[{i}]"
        if not isinstance(button, Mapping):
            ctx.add(at, "button.invalid", "Each button must be an object with a type.")
            kinds.append("")
            continue
        kind = ctype(button)
        kinds.append(kind)
        if kind not in BUTTON_TYPES:
            ctx.add(f"{at}.type", "button.type_unknown", f"'{button.get('type')}' is not a button type.")
            continue
        _button(ctx, at, kind, button)
    for kind, limit in BUTTON_LIMITS.items():
        if kinds.count(kind) > limit:
            ctx.add(where, f"buttons.too_many_{kind.lower()}",
                    f"{kinds.count(kind)} {kind} buttons; at most {limit} allowed.")
    quick = [i for i, kind in enumerate(kinds) if kind == "QUICK_REPLY"]
    if quick and quick != list(range(quick[0], quick[-1] + 1)):
        ctx.add(where, "buttons.quick_replies_not_grouped", "Quick-reply buttons must be next to each other, "
                                                            "before or after the other buttons.")


def _button(ctx: _Ctx, at: str, kind: str, button: Mapping[str, Any]) -> None:
    text = button.get("text")
    if kind == "OTP":
        if ctx.category != "authentication":
            ctx.add(f"{at}.type", "button.otp_outside_authentication",
                    "One-time-password buttons are only for authentication templates.")
        otp_type = str(button.get("otp_type") or "").upper()
        if otp_type not in OTP_TYPES:
            ctx.add(f"{at}.otp_type", "button.otp_type", "otp_type must be COPY_CODE, ONE_TAP or ZERO_TAP.")
        elif otp_type != "COPY_CODE" and not (button.get("supported_apps") or button.get("package_name")):
            ctx.add(f"{at}.supported_apps", "button.otp_app_missing",
                    f"A {otp_type} button needs supported_apps (package_name and signature_hash).")
    elif kind != "COPY_CODE" and (not isinstance(text, str) or not text.strip()):  # copy code: Meta's label
        ctx.add(f"{at}.text", "button.text_required", "The button needs its label.")
    if isinstance(text, str) and len(text) > MAX_BUTTON_TEXT:
        ctx.add(f"{at}.text", "button.text_too_long",
                f"The label has {len(text)} characters; at most {MAX_BUTTON_TEXT} are allowed.")
    if kind == "URL":
        _url_button(ctx, at, button)
    elif kind == "PHONE_NUMBER":
        phone = button.get("phone_number")
        if not isinstance(phone, str) or not re.fullmatch(r"\+?[0-9 ]{5,20}", phone.strip()) \
                or len(phone) > MAX_PHONE:
            ctx.add(f"{at}.phone_number", "button.phone_number",
                    f"A phone-number button needs a phone number in international format (at most {MAX_PHONE}).")
    elif kind == "COPY_CODE":
        if ctx.category != "marketing":
            ctx.add(f"{at}.type", "button.copy_code_not_marketing",
                    "Copy-code (coupon) buttons are only for marketing templates; authentication uses an OTP button.")
        example = button.get("example")
        if not isinstance(example, str) or not 1 <= len(example) <= MAX_COUPON:
            ctx.add(f"{at}.example", "button.copy_code_example",
                    f"A copy-code button needs an example code of 1 to {MAX_COUPON} characters.")


def _url_button(ctx: _Ctx, at: str, button: Mapping[str, Any]) -> None:
    url = button.get("url")
    if not isinstance(url, str) or not re.match(r"https?://", url):
        ctx.add(f"{at}.url", "button.url_required", "A URL button needs an http(s) address.")
        return
    if len(url) > MAX_URL:
        ctx.add(f"{at}.url", "button.url_too_long", f"The address is longer than {MAX_URL} characters.")
    names = variables(url)
    if len(names) > 1:
        ctx.add(f"{at}.url", "button.url_too_many_variables", "A URL may have only one variable, {{1}}, at its end.")
    elif names and (names != ["1"] or not url.endswith("{{1}}")):
        ctx.add(f"{at}.url", "button.url_variable_position", "The URL's variable must be {{1}} at the very end.")
    if names:
        example = button.get("example")
        ok = (isinstance(example, str) and example) or (isinstance(example, list) and example
                                                      and all(isinstance(e, str) and e for e in example))
        if not ok:
            ctx.add(f"{at}.example", "button.url_example_missing",
                    "A URL with a variable needs an example: the full address with a sample value.")


def _authentication(add: Callable[[str, str, str], None], seen: Mapping[str, int], components: Sequence[Any]) -> None:
    if "HEADER" in seen:
        add(f"components[{seen['HEADER']}]", "authentication.header_not_allowed",
            "Authentication templates have no header.")
    listed = components[seen["BUTTONS"]].get("buttons") if "BUTTONS" in seen else None
    kinds = [ctype(b) for b in listed if isinstance(b, Mapping)] if isinstance(listed, list) else []
    if "OTP" not in kinds:
        add("components", "authentication.otp_button_required",
            "Authentication templates need one OTP button (copy code, one-tap or zero-tap).")
    others = [k for k in kinds if k != "OTP"]
    if others:
        add(f"components[{seen['BUTTONS']}].buttons", "authentication.other_buttons",
            f"Authentication templates only have their OTP button; remove {', '.join(sorted(set(others)))}.")


_CHECKS = {"HEADER": _header, "BODY": _body, "FOOTER": _footer, "BUTTONS": _buttons}

"""A template's send parameters: checked against the stored template, turned into Meta's `components`
and into the preview — the text the customer will see (reference §4 "template").

`parse` reads a stored template once (variables located, buttons classified); `render` is then cheap
enough to run for every recipient of a campaign. Parameters, in the API's request shape:

    {"header": "A-1" | {"media_id": 7, "filename": "pass.pdf"} | {"link": "https://…"}
               | {"latitude": 45.4, "longitude": 9.2, "name": "…", "address": "…"},
     "body": ["Anna", {"type": "currency", "currency": {…}}] | {"first_name": "Anna"},
     "buttons": [{"index": 0, "value": "A-1"}]}

Any value may instead be a mapping `{"from": "contact.name" | "contact.attributes.tier" | "case.<field>"
| "payload.order.id"}`, read from the context the caller passes. Every problem is an InvalidInput (422)
naming the field, like "parameters.body[1]".
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from centralino.domain.media_rules import MediaKind
from centralino.domain.outbound import Media
from centralino.domain.template_text import VARIABLE, body_text, buttons, distinct, find, footer_text
from centralino.errors import InvalidInput

JSON = dict[str, Any]
HEADER_MEDIA = {"IMAGE": MediaKind.IMAGE, "VIDEO": MediaKind.VIDEO, "GIF": MediaKind.VIDEO,
                "DOCUMENT": MediaKind.DOCUMENT}
SOURCES = ("contact", "case", "payload")
MAX_BODY, MAX_HEADER, MAX_COUPON = 1024, 60, 15
_BAD_TEXT = re.compile(r"[\n\t]| {5,}")  # Meta refuses these inside a parameter (132018)
_CURRENCY_CODE = re.compile(r"[A-Z]{3}")
_GROUPS = frozenset({"header", "body", "buttons"})


def fail(message: str, field: str, code: str) -> InvalidInput:
    return InvalidInput(message, field=field, code=code, status=422)


@dataclass(frozen=True)
class Segmented:
    """A text cut at its variables: literal parts around the slots, for a join per recipient."""

    parts: tuple[str, ...]  # len(slots) + 1
    slots: tuple[str, ...]  # variable names, in order, repeats kept
    names: tuple[str, ...]  # distinct, in order of first appearance

    @classmethod
    def of(cls, text: str) -> Segmented:
        pieces = VARIABLE.split(text)  # literal, name, literal, name, …, literal
        slots = tuple(p.strip() for p in pieces[1::2])
        return cls(tuple(pieces[0::2]), slots, tuple(distinct(slots)))

    def fill(self, values: Mapping[str, str]) -> str:
        out = [self.parts[0]]
        for slot, literal in zip(self.slots, self.parts[1:], strict=True):
            out.append(values[slot])
            out.append(literal)
        return "".join(out)


@dataclass(frozen=True)
class ButtonSpec:
    index: int
    kind: str  # QUICK_REPLY, URL, COPY_CODE, OTP, PHONE_NUMBER, …
    label: str
    takes: str | None  # the parameter it takes: url_suffix | coupon_code | otp | payload | None


@dataclass(frozen=True)
class ParsedTemplate:
    name: str
    language: str
    category: str  # lower-case
    named: bool
    header_format: str | None  # TEXT | IMAGE | VIDEO | DOCUMENT | GIF | LOCATION | None
    header: Segmented | None  # TEXT headers
    body: Segmented
    footer: str | None
    buttons: tuple[ButtonSpec, ...]
    template_id: int | None = None


@dataclass(frozen=True)
class Rendered:
    components: tuple[JSON, ...]  # Meta's send components
    preview: str  # header, body, footer, button labels: what the customer sees
    header_media: Media | None  # an uploaded header file (its id is swapped for Meta's when sent)


def parse(name: str, language: str, category: str, parameter_format: str, components: Sequence[Mapping[str, Any]],
          template_id: int | None = None) -> ParsedTemplate:
    category = category.lower()
    header = find(components, "HEADER")
    header_format = str(header.get("format") or "TEXT").upper() if header is not None else None
    header_text = Segmented.of(str(header.get("text") or "")) if header is not None and header_format == "TEXT" \
        else None
    specs = tuple(_button_spec(i, b, category) for i, b in enumerate(buttons(components)))
    return ParsedTemplate(name, language, category, parameter_format.lower() == "named", header_format, header_text,
                          Segmented.of(body_text(category, components)), footer_text(category, components), specs,
                          template_id)


def _button_spec(index: int, button: Mapping[str, Any], category: str) -> ButtonSpec:
    kind = str(button.get("type") or "").upper()
    label = str(button.get("text") or "")
    takes: str | None = None
    if kind == "OTP" or (category == "authentication" and kind == "URL"):
        # Meta stores an OTP button as a URL button; either way it carries the code.
        kind, takes, label = "OTP", "otp", label or "Copy code"
    elif kind == "URL" and VARIABLE.search(str(button.get("url") or "")):
        takes = "url_suffix"
    elif kind == "COPY_CODE":
        takes, label = "coupon_code", label or "Copy offer code"
    elif kind == "QUICK_REPLY":
        takes = "payload"
    return ButtonSpec(index, kind, label, takes)


def render(template: ParsedTemplate, parameters: Mapping[str, Any] | None,
           context: Mapping[str, Any] | None = None) -> Rendered:
    """Check `parameters` against the template and build Meta's components and the preview."""
    parameters = parameters or {}
    if not isinstance(parameters, dict) and isinstance(parameters, Mapping):
        parameters = dict(parameters)
    if not isinstance(parameters, dict):
        raise fail("parameters must be an object with header, body and buttons", "parameters",
                   "template.parameters_invalid")
    unknown = [group for group in parameters if group not in _GROUPS]
    if unknown:
        raise fail(f"unknown parameter group(s): {', '.join(sorted(unknown))} (use header, body, buttons)",
                   "parameters", "template.parameters_invalid")
    ctx = context or {}
    components: list[JSON] = []
    header_line, media = _header(template, parameters.get("header"), ctx, components)
    body_values, body_params = _values(template, template.body, parameters.get("body"), ctx, "parameters.body")
    body = template.body.fill(body_values)
    if len(body) > MAX_BODY:
        raise fail(f"the body is {len(body)} characters with these values; at most {MAX_BODY}", "parameters.body",
                   "template.body_too_long")
    if body_params:
        components.append({"type": "body", "parameters": body_params})
    labels = _buttons(template, parameters.get("buttons"), ctx, components, body_values)
    lines = [line for line in (header_line, body, template.footer) if line]
    lines += [f"[{label}]" for label in labels]
    return Rendered(tuple(components), "\n".join(lines), media)


# --- values -------------------------------------------------------------------------------------------

def resolve(value: Any, context: Mapping[str, Any], field: str) -> Any:
    """A parameter's value, following a {"from": "<source>.<path>"} mapping into the context."""
    if not (isinstance(value, dict) and "from" in value):
        return value
    source = value["from"]
    root, _, rest = str(source).partition(".")
    if root not in SOURCES or not rest:
        raise fail(f"{field} maps from '{source}': use contact.<field>, case.<field> or payload.<path>", field,
                   "template.parameter_source_unknown")
    found: Any = context.get(root)
    for key in rest.split("."):
        if isinstance(found, (dict, Mapping)):
            found = found.get(key)
        elif isinstance(found, list) and key.isdigit() and int(key) < len(found):
            found = found[int(key)]
        else:
            found = None
        if found is None:
            break
    if found is None or found == "":
        raise fail(f"{field} maps from '{source}', which has no value for this recipient", field,
                   "template.parameter_source_missing")
    return found


def _text(value: Any, field: str) -> str:
    if type(value) is str and value.strip() and not _BAD_TEXT.search(value):
        return value  # the common case, checked first: campaigns render this for every recipient
    if isinstance(value, dict) and value.get("type") == "text":
        value = value.get("text")
    if value is None:
        raise fail(f"{field} has no value", field, "template.parameter_empty")
    if isinstance(value, bool) or not isinstance(value, (str, int, float)) \
            or (isinstance(value, float) and not math.isfinite(value)):
        raise fail(f"{field} must be text", field, "template.parameter_type")
    text = str(value)
    if not text.strip():
        raise fail(f"{field} is empty", field, "template.parameter_empty")
    if _BAD_TEXT.search(text):
        raise fail(f"{field} cannot contain new lines, tabs or more than 4 spaces in a row", field,
                   "template.parameter_text_format")
    return text


def _typed(value: Any, field: str) -> tuple[str, JSON]:
    """A body value: (what the customer sees, Meta's parameter object)."""
    if type(value) is str:
        text = _text(value, field)
        return text, {"type": "text", "text": text}
    if isinstance(value, dict) and value.get("type") in ("currency", "date_time"):
        kind = str(value["type"])
        inner = value.get(kind)
        if not isinstance(inner, dict):
            raise fail(f"{field} needs a {kind} object", f"{field}.{kind}", "template.parameter_type")
        fallback = _text(inner.get("fallback_value"), f"{field}.{kind}.fallback_value")
        if kind == "date_time":
            return fallback, {"type": kind, kind: {"fallback_value": fallback}}
        code, amount = inner.get("code"), inner.get("amount_1000")
        if not isinstance(code, str) or not _CURRENCY_CODE.fullmatch(code):
            raise fail(f"{field}.currency.code must be an ISO 4217 code like EUR", f"{field}.currency.code",
                       "template.parameter_type")
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise fail(f"{field}.currency.amount_1000 must be a whole number (the amount times 1000)",
                       f"{field}.currency.amount_1000", "template.parameter_type")
        return fallback, {"type": kind, kind: {"fallback_value": fallback, "code": code, "amount_1000": amount}}
    if isinstance(value, dict) and value.get("type") not in (None, "text"):
        raise fail(f"{field} has type '{value.get('type')}'; use text, currency or date_time", field,
                   "template.parameter_type")
    text = _text(value, field)
    return text, {"type": "text", "text": text}


def _values(template: ParsedTemplate, text: Segmented, given: Any, ctx: Mapping[str, Any], field: str,
            *, text_only: bool = False) -> tuple[dict[str, str], list[JSON]]:
    names = text.names
    if given is None:
        given = {} if template.named else []
    seen: dict[str, str] = {}
    params: list[JSON] = []
    param: JSON
    if template.named:
        if not isinstance(given, dict):
            raise fail(f"the template uses named variables: give {field} as an object "
                       f"({', '.join(names) or 'no variables'})", field, "template.parameters_invalid")
        missing = [n for n in names if n not in given]
        extra = [str(n) for n in given if n not in names]
        if missing or extra:
            raise fail(f"{field}: the template expects {', '.join(names) or 'no values'}"
                       + (f"; missing {', '.join(missing)}" if missing else "")
                       + (f"; unknown {', '.join(extra)}" if extra else ""),
                       f"{field}.{missing[0]}" if missing else f"{field}.{extra[0]}", "template.parameter_count")
        items = [(n, given[n], f"{field}.{n}") for n in names]
    else:
        if not isinstance(given, (list, tuple)):
            raise fail(f"the template uses positional variables: give {field} as a list", field,
                       "template.parameters_invalid")
        if len(given) != len(names):
            raise fail(f"{field}: the template has {len(names)} variable(s), {len(given)} value(s) given", field,
                       "template.parameter_count")
        items = [(n, v, f"{field}[{i}]") for i, (n, v) in enumerate(zip(names, given, strict=True))]
    for name, raw, where in items:
        if type(raw) is str and raw.strip() and not _BAD_TEXT.search(raw):
            shown, param = raw, {"type": "text", "text": raw}  # plain text, the common case: no calls
            if template.named:
                param["parameter_name"] = name
            seen[name] = shown
            params.append(param)
            continue
        value = resolve(raw, ctx, where)
        if text_only:
            shown = _text(value, where)
            param = {"type": "text", "text": shown}
        else:
            shown, param = _typed(value, where)
        if template.named:
            param["parameter_name"] = name
        seen[name] = shown
        params.append(param)
    return seen, params


# --- header and buttons -------------------------------------------------------------------------------

def _header(template: ParsedTemplate, given: Any, ctx: Mapping[str, Any],
            components: list[JSON]) -> tuple[str | None, Media | None]:
    field = "parameters.header"
    fmt = template.header_format
    if fmt is None or (fmt == "TEXT" and template.header is not None and not template.header.names):
        if given is not None:
            raise fail("the template's header takes no parameter", field, "template.header_unexpected")
        return (template.header.fill({}) if template.header is not None else None), None
    if fmt == "TEXT":
        assert template.header is not None
        header = template.header
        if given is None:
            raise fail(f"the header needs a value for {{{{{header.names[0]}}}}}", field, "template.parameter_count")
        name = header.names[0]
        if template.named and isinstance(given, dict) and set(given) == {name}:
            given = given[name]  # {"order_id": "A-1"} as well as "A-1"
        values, params = _values(template, header, {name: given} if template.named else [given], ctx, field,
                                 text_only=True)
        text = header.fill(values)
        if len(text) > MAX_HEADER:
            raise fail(f"the header is {len(text)} characters with this value; at most {MAX_HEADER}", field,
                       "template.header_too_long")
        components.append({"type": "header", "parameters": params})
        return text, None
    if given is None:
        raise fail(f"the template's {fmt.lower()} header needs its {'location' if fmt == 'LOCATION' else 'file'}",
                   field, "template.header_required")
    value = resolve(given, ctx, field)
    if fmt == "LOCATION":
        return _location(value, field, components), None
    kind = HEADER_MEDIA.get(fmt)
    if kind is None:
        raise fail(f"headers of format {fmt} cannot be sent yet", field, "template.header_unsupported")
    return _media(kind, value, field, components)


def _location(value: Any, field: str, components: list[JSON]) -> str:
    if not isinstance(value, dict):
        raise fail("a location header needs latitude and longitude", field, "template.parameter_type")
    try:
        lat, lon = float(value["latitude"]), float(value["longitude"])
    except (KeyError, TypeError, ValueError):
        raise fail("a location header needs numeric latitude and longitude", field,
                   "template.parameter_type") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise fail("latitude must be within ±90 and longitude within ±180", field, "template.parameter_type")
    location: JSON = {"latitude": lat, "longitude": lon}
    for key in ("name", "address"):
        if value.get(key) is not None:
            location[key] = _text(value[key], f"{field}.{key}")
    components.append({"type": "header", "parameters": [{"type": "location", "location": location}]})
    label = ", ".join(str(location[k]) for k in ("name", "address") if k in location)
    return f"[Location: {label}]" if label else "[Location]"


def _media(kind: MediaKind, value: Any, field: str, components: list[JSON]) -> tuple[str, Media | None]:
    if isinstance(value, str):
        value = {"link": value}
    if not isinstance(value, dict) or ("media_id" in value) == ("link" in value):
        raise fail(f"the {kind.value} header needs either media_id (an upload) or link", field,
                   "template.parameter_type")
    filename = value.get("filename")
    if filename is not None:
        filename = _text(filename, f"{field}.filename")
    detail: JSON = {"filename": filename} if filename and kind == MediaKind.DOCUMENT else {}
    media: Media | None = None
    if "media_id" in value:
        media_id = value["media_id"]
        if isinstance(media_id, bool) or not isinstance(media_id, int) or media_id <= 0:
            raise fail(f"{field}.media_id must be the id of an upload", f"{field}.media_id", "template.parameter_type")
        media = Media(kind, media_id=media_id, filename=detail.get("filename"))
    else:
        link = value["link"]
        if not isinstance(link, str) or not re.match(r"https?://[^\s]+$", link):
            raise fail(f"{field}.link must be an http(s) address", f"{field}.link", "template.parameter_type")
        detail = {"link": link, **detail}
    components.append({"type": "header", "parameters": [{"type": kind.value, kind.value: detail}]})
    shown = kind.value.capitalize() + (f": {filename}" if filename else "")
    return f"[{shown}]", media


def _buttons(template: ParsedTemplate, given: Any, ctx: Mapping[str, Any], components: list[JSON],
             body_values: Mapping[str, str]) -> list[str]:
    field = "parameters.buttons"
    if given is None:
        given = []
    if not isinstance(given, (list, tuple)):
        raise fail("buttons must be a list of {index, value}", field, "template.parameters_invalid")
    by_index: dict[int, tuple[Any, str]] = {}
    for i, item in enumerate(given):
        where = f"{field}[{i}]"
        index = item.get("index") if isinstance(item, dict) else None
        if isinstance(index, str) and index.isdigit():
            index = int(index)
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(template.buttons):
            raise fail(f"{where}.index must name one of the template's {len(template.buttons)} button(s) (from 0)",
                       f"{where}.index", "template.button_not_found")
        if index in by_index:
            raise fail(f"button {index} is given twice", f"{where}.index", "template.parameters_invalid")
        assert isinstance(item, dict)
        key = next((k for k in ("value", "text", "payload", "code") if k in item), None)
        by_index[index] = (item[key] if key else None, f"{where}.{key or 'value'}")
    for spec in template.buttons:
        raw, where = by_index.get(spec.index, (None, f"{field}[{spec.index}]"))
        if raw is None and spec.takes == "otp" and template.body.names:
            raw = body_values.get(template.body.names[0])  # the code the body shows
        if raw is None:
            if spec.takes in ("url_suffix", "coupon_code", "otp"):
                raise fail(f"button {spec.index} ({spec.label}) needs its "
                           f"{'URL ending' if spec.takes == 'url_suffix' else 'code'}", where,
                           "template.button_parameter_missing")
            continue
        if spec.takes is None:
            raise fail(f"button {spec.index} ({spec.label}) takes no parameter", where,
                       "template.button_parameter_unexpected")
        value = _text(resolve(raw, ctx, where), where)
        if spec.takes == "coupon_code" and len(value) > MAX_COUPON:
            raise fail(f"a coupon code has at most {MAX_COUPON} characters", where, "template.parameter_type")
        sub_type, param = {
            "url_suffix": ("url", {"type": "text", "text": value}),
            "otp": ("url", {"type": "text", "text": value}),
            "coupon_code": ("copy_code", {"type": "coupon_code", "coupon_code": value}),
            "payload": ("quick_reply", {"type": "payload", "payload": value}),
        }[spec.takes]
        components.append({"type": "button", "sub_type": sub_type, "index": str(spec.index), "parameters": [param]})
    return [spec.label for spec in template.buttons if spec.label]


def outline(template: ParsedTemplate, parameters: Mapping[str, Any] | None = None,
            context: Mapping[str, Any] | None = None) -> str:
    """The preview with the variables as written ({{1}}, {{order_id}}), or with those of `parameters` that
    are usable already: the composer shows it while the agent is still filling the values in."""
    given = parameters if isinstance(parameters, dict) else {}

    def shown(text: Segmented, values: Any) -> str:
        pairs: list[tuple[Any, Any]] = []
        if template.named and isinstance(values, dict):
            pairs = list(values.items())
        elif not template.named and isinstance(values, (list, tuple)):
            pairs = list(zip(text.names, values, strict=False))
        filled = {name: "{{" + name + "}}" for name in text.names}
        for name, raw in pairs:
            if name in filled:
                with suppress(InvalidInput):  # not usable yet: stays as written
                    filled[name] = _typed(resolve(raw, context or {}, "value"), "value")[0]
        return text.fill(filled)

    header = None
    if template.header is not None:
        value = given.get("header")
        if template.header.names and value is not None and not (template.named and isinstance(value, dict)
                                                                 and "from" not in value):
            value = {template.header.names[0]: value} if template.named else [value]
        header = shown(template.header, value)
    elif template.header_format is not None:
        header = f"[{template.header_format.capitalize()}]"
    lines = [line for line in (header, shown(template.body, given.get("body")), template.footer) if line]
    return "\n".join(lines + [f"[{b.label}]" for b in template.buttons if b.label])

"""Matching a template send's `components[].parameters` to the approved template (132000 / 132012 / 132005)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from centralino.simulator.errors import GraphError
from centralino.simulator.state import TemplateRecord
from centralino.simulator.template_rules import component, variables

BODY_PARAMETER_TYPES = frozenset({"text", "currency", "date_time"})
HEADER_MEDIA = {"IMAGE": "image", "VIDEO": "video", "DOCUMENT": "document", "GIF": "video", "LOCATION": "location"}


@dataclass(frozen=True)
class TemplateButton:
    index: int
    type: str  # QUICK_REPLY, URL, …
    text: str
    payload: str | None = None  # quick replies: what the tap sends back


@dataclass(frozen=True)
class RenderedTemplate:
    header: str | None
    body: str
    footer: str | None
    buttons: tuple[TemplateButton, ...]


def _count_error(where: str, given: int, expected: int) -> GraphError:
    return GraphError(132000, f"{where}: number of localizable_params ({given}) does not match the expected "
                              f"number of params ({expected})")


def _value(parameter: dict[str, Any]) -> str:
    ptype = parameter.get("type")
    if ptype in ("currency", "date_time"):
        return str((parameter.get(ptype) or {}).get("fallback_value", ""))
    return str(parameter.get(ptype, ""))  # type: ignore[arg-type]


def _substitute(text: str, names: list[str], parameters: list[dict[str, Any]], named: bool, where: str) -> str:
    distinct = list(dict.fromkeys(names))
    if named:
        by_name: dict[str, str] = {}
        for parameter in parameters:
            pname = parameter.get("parameter_name")
            if not pname:
                raise GraphError(132012, f"{where}: the template uses named parameters; every parameter needs "
                                         "parameter_name.")
            if pname not in distinct:
                raise GraphError(132012, f"{where}: parameter_name '{pname}' is not a variable of the template.")
            by_name[str(pname)] = _value(parameter)
        values = by_name
    else:
        if any(p.get("parameter_name") for p in parameters):
            raise GraphError(132012, f"{where}: the template uses positional parameters; remove parameter_name.")
        values = {name: _value(p) for name, p in zip(distinct, parameters, strict=False)}
    for name in distinct:
        text = text.replace("{{" + name + "}}", values.get(name, ""))
    return text


def match(template: TemplateRecord, requested: list[dict[str, Any]]) -> RenderedTemplate:
    """Check the parameters of a send against `template`; the text as the customer will see it."""
    named = template.parameter_format == "NAMED"
    given: dict[str, list[dict[str, Any]]] = {"header": [], "body": []}
    button_params: dict[int, dict[str, Any]] = {}
    for comp in requested:
        ctype = comp.get("type")
        params = list(comp.get("parameters") or [])
        if ctype == "button":
            try:
                index = int(comp.get("index", -1))
            except (TypeError, ValueError):
                index = -1
            button_params[index] = comp
        elif ctype in given:
            given[ctype] += params

    header_def = component(template.components, "HEADER")
    header_text: str | None = None
    if header_def is not None and str(header_def.get("format", "TEXT")).upper() == "TEXT":
        names = variables(str(header_def.get("text", "")))
        if len(given["header"]) != len(set(names)):
            raise _count_error("header", len(given["header"]), len(set(names)))
        _types(given["header"], {"text"}, "header")
        header_text = _substitute(str(header_def.get("text", "")), names, given["header"], named, "header")
    elif header_def is not None:
        media = HEADER_MEDIA[str(header_def.get("format")).upper()]
        if len(given["header"]) != 1:
            raise _count_error("header", len(given["header"]), 1)
        _types(given["header"], {media}, "header")
        header_text = f"[{media}]"
    elif given["header"]:
        raise _count_error("header", len(given["header"]), 0)

    body_def = component(template.components, "BODY") or {}
    body_names = variables(str(body_def.get("text", "")))
    if len(given["body"]) != len(set(body_names)):
        raise _count_error("body", len(given["body"]), len(set(body_names)))
    _types(given["body"], BODY_PARAMETER_TYPES, "body")
    body = _substitute(str(body_def.get("text", "")), body_names, given["body"], named, "body")
    if len(body) > 1024:
        raise GraphError(132005, f"body: {len(body)} characters after substitution, the limit is 1024")

    footer_def = component(template.components, "FOOTER")
    buttons = _buttons(template, button_params)
    return RenderedTemplate(header_text, body, str(footer_def.get("text")) if footer_def else None, buttons)


def _types(parameters: list[dict[str, Any]], allowed: set[str] | frozenset[str], where: str) -> None:
    for parameter in parameters:
        if parameter.get("type") not in allowed:
            raise GraphError(132012, f"{where}: parameter of type '{parameter.get('type')}' where the template "
                                     f"expects {' or '.join(sorted(allowed))}")


def _buttons(template: TemplateRecord, requested: dict[int, dict[str, Any]]) -> tuple[TemplateButton, ...]:
    definition = component(template.components, "BUTTONS") or {}
    defined = [b for b in definition.get("buttons") or [] if isinstance(b, dict)]
    for index in requested:
        if not 0 <= index < len(defined):
            raise GraphError(132000, f"buttons: the template has no button at index {index}")
    found = []
    for index, button in enumerate(defined):
        btype = str(button.get("type", "")).upper()
        comp = requested.get(index, {})
        params = list(comp.get("parameters") or [])
        text = str(button.get("text") or "")
        payload = None
        if btype == "URL" and variables(str(button.get("url", ""))):
            if len(params) != 1:
                raise _count_error(f"button at index {index} (URL)", len(params), 1)
            _types(params, {"text"}, f"button at index {index}")
        elif btype == "COPY_CODE":
            if len(params) != 1:
                raise _count_error(f"button at index {index} (COPY_CODE)", len(params), 1)
            _types(params, {"coupon_code"}, f"button at index {index}")
        elif btype == "QUICK_REPLY":
            if len(params) > 1:
                raise _count_error(f"button at index {index} (QUICK_REPLY)", len(params), 1)
            _types(params, {"payload"}, f"button at index {index}")
            payload = str(params[0].get("payload")) if params else text
        elif params and btype not in ("FLOW", "OTP", "CATALOG", "MPM"):
            raise _count_error(f"button at index {index} ({btype})", len(params), 0)
        found.append(TemplateButton(index, btype, text, payload))
    return tuple(found)

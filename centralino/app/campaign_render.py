"""A campaign's message per recipient, rendered by the template send helper (app/template_send.py
render_for) so a campaign sends everything a single template send does: media and location headers,
button parameters, currency and date_time values, {"from": "contact.…"} mappings and CSV columns
({"from": "payload.<column>"}), in each recipient's language when the template exists in it.

Two shapes of `parameters` are accepted: the template send's {"header", "body", "buttons"}, and the older
variable map {"1": {"field" | "attribute" | "text", "default"}} (text header and body only).

`check_definition` refuses a definition that cannot fit the template (422 naming the field) when the
campaign is created; `CampaignRenderer.render` then only fails for one recipient's own data (a missing
attribute), which the plan reports as that recipient's rejection.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from centralino.app.template_send import SENDABLE, pick_language, prepare, render_for
from centralino.domain.campaigns import ParameterSource, parse_parameters, resolve_parameters
from centralino.domain.outbound import Media, TemplateMessage
from centralino.domain.outbound_codec import to_dict
from centralino.domain.template_params import ParsedTemplate
from centralino.errors import InvalidInput

GROUPS = frozenset({"header", "body", "buttons"})
_PROBE_TEXT = "x"
_PROBE_MEDIA = {"link": "https://example.invalid/probe"}
_PROBE_LOCATION = {"latitude": 0.0, "longitude": 0.0}


def is_send_shape(parameters: Mapping[str, Any] | None) -> bool:
    """The template send's shape ({"header", "body", "buttons"}) rather than the variable map."""
    return bool(parameters) and all(k in GROUPS for k in parameters or {})


def variables(parsed: ParsedTemplate) -> list[str]:
    names = list(parsed.header.names) if parsed.header is not None else []
    return names + [n for n in parsed.body.names if n not in names]


def from_variables(parsed: ParsedTemplate, values: Mapping[str, Any]) -> dict[str, Any]:
    """The variable map's values in the template send's shape."""
    out: dict[str, Any] = {}
    if parsed.header is not None and parsed.header.names:
        name = parsed.header.names[0]
        out["header"] = {name: values[name]} if parsed.named else values[name]
    names = parsed.body.names
    out["body"] = {n: values[n] for n in names} if parsed.named else [values[n] for n in names]
    return out


def _probe(value: Any, header_format: str | None = None) -> Any:
    """Every {"from": …} replaced by a value that fits its place, to check the definition's structure."""
    if isinstance(value, Mapping):
        if "from" in value:
            root = str(value["from"]).partition(".")[0]
            if root == "case":
                raise InvalidInput("a campaign has no conversation to read case.* from: map from contact.* "
                                   "or payload.<CSV column>", field="parameters", code="campaign.bad_parameter",
                                   status=422)
            if header_format == "LOCATION":
                return dict(_PROBE_LOCATION)
            if header_format in ("IMAGE", "VIDEO", "GIF", "DOCUMENT"):
                return dict(_PROBE_MEDIA)
            return _PROBE_TEXT
        return {k: _probe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_probe(v) for v in value]
    return value


def check_definition(template_row: Mapping[str, Any], parameters: Mapping[str, Any] | None,
                     *, from_csv: bool) -> Media | None:
    """Raise InvalidInput (422, naming the field) when the parameters cannot fit the template for anyone;
    the header's uploaded file when it is one (the caller checks the upload)."""
    if parameters is not None and not isinstance(parameters, Mapping):
        raise InvalidInput("parameters must be an object", field="parameters", code="campaign.bad_parameter",
                           status=422)
    parsed = prepare(template_row)
    if is_send_shape(parameters):
        assert parameters is not None
        probe = {k: _probe(v, parsed.header_format if k == "header" else None) for k, v in parameters.items()}
    else:
        sources = parse_parameters(parameters)
        needed = variables(parsed)
        missing = [n for n in needed if n not in sources]
        if missing and not from_csv:
            raise InvalidInput(f"say where {', '.join('{{' + n + '}}' for n in missing)} come from",
                               field="parameters", code="campaign.parameters_missing", status=422)
        probe = from_variables(parsed, {n: _PROBE_TEXT for n in needed})
    return render_for(template_row, probe, {})[2]


class CampaignRenderer:
    """One campaign's rendering: the template parsed once per language, then one fast render per recipient.
    `languages` are the template's rows by language; only approved ones other than the campaign's own are
    used, and only when the definition fits them too (otherwise the campaign's language is sent)."""

    def __init__(self, campaign: Mapping[str, Any], languages: Sequence[Mapping[str, Any]]) -> None:
        own = str(campaign["template_language"])
        self.default = own
        self.parameters: dict[str, Any] = dict(campaign["parameters"] or {})
        self.send_shape = is_send_shape(self.parameters)
        self.sources: dict[str, ParameterSource] = {} if self.send_shape else parse_parameters(self.parameters)
        from_csv = (campaign.get("audience") or {}).get("kind") == "csv"
        self.rows: dict[str, Mapping[str, Any]] = {}
        for row in languages:
            lang = str(row["language"])
            if lang != own and row["status"] != SENDABLE:
                continue
            try:
                check_definition(row, self.parameters, from_csv=from_csv)
            except InvalidInput:
                if lang == own:
                    raise
                continue
            self.rows[lang] = row
        if own not in self.rows:
            raise InvalidInput("the campaign's template no longer exists", field="template_id",
                               code="campaign.bad_template", status=422)
        self.parsed = {lang: prepare(row) for lang, row in self.rows.items()}
        self._available = list(self.rows)
        self._by_contact_language: dict[str | None, str] = {}

    def language_for(self, contact_language: str | None) -> str:
        """The contact's language when the template exists in it (or its base), else the campaign's."""
        found = self._by_contact_language.get(contact_language)
        if found is None:
            found = pick_language(self._available, None, contact_language, self.default) or self.default
            self._by_contact_language[contact_language] = found
        return found

    def render(self, fields: Mapping[str, Any], contact_id: int, columns: Mapping[str, str]) -> dict[str, Any]:
        """The stored content (outbound_codec.to_dict of the TemplateMessage) for one recipient; raises
        InvalidInput naming the parameter when this recipient's data cannot fill it."""
        lang = self.language_for(fields.get("language"))
        row, parsed = self.rows[lang], self.parsed[lang]
        context: Mapping[str, Any] = {}  # the variable map's values are resolved already
        if self.send_shape:
            params: Mapping[str, Any] = self.parameters
            context = {"contact": {"id": contact_id, "name": fields.get("display_name") or fields.get("profile_name"),
                                   "profile_name": fields.get("profile_name"), "language": fields.get("language"),
                                   "phone": fields.get("phone"), "attributes": fields.get("attributes") or {}},
                       "payload": columns}
        else:
            values = resolve_parameters({n: s for n, s in self.sources.items() if n not in columns}, fields)
            if isinstance(values, str):
                raise InvalidInput(values, field="parameters", code="template.parameter_source_missing", status=422)
            for name in variables(parsed):
                if name not in values:
                    value = (columns.get(name) or "").strip()
                    if not value:
                        raise InvalidInput(f"no value for {{{{{name}}}}}", field=f"parameters.{name}",
                                           code="template.parameter_source_missing", status=422)
                    values[name] = value
            params = from_variables(parsed, values)
        components, preview, media = render_for(row, params, context)
        return to_dict(TemplateMessage(parsed.name, parsed.language, parsed.category, components, preview,
                                       parsed.template_id, media))

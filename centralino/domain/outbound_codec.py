"""Outbound content to and from JSON: the API's request shape, also how a queued message stores it.

`parse_request` checks shapes and types (unknown keys are refused: a misspelt field would
otherwise be dropped silently), builds the content and validates every limit, so every error
names the exact field: `interactive.action.sections[1].rows[0].title`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from centralino.domain.media_rules import MediaKind
from centralino.domain.outbound import (
    JSON,
    CallToAction,
    Contacts,
    Content,
    ContentInvalid,
    Header,
    ListMessage,
    ListRow,
    ListSection,
    Location,
    Media,
    Reaction,
    ReplyButton,
    ReplyButtons,
    TemplateMessage,
    Text,
    validate,
)

TYPES = ("text", *(k.value for k in MediaKind), "location", "contacts", "interactive", "reaction")
INTERACTIVE_TYPES = ("button", "list", "cta_url")
MEDIA_TYPES = frozenset(k.value for k in MediaKind)


@dataclass(frozen=True)
class SendRequest:
    content: Content
    reply_to: int | None = None  # our id of the message this one quotes


def parse_request(data: object) -> SendRequest:
    body = _obj(data, "")
    reply_to = _int(body, "reply_to", "", required=False)
    rest = {k: v for k, v in body.items() if k != "reply_to"}
    return SendRequest(parse_content(rest), reply_to)


def parse_content(data: object) -> Content:
    body = _obj(data, "")
    kind = _str(body, "type", "", required=True)
    if kind not in TYPES:
        raise ContentInvalid(f"type must be one of {', '.join(TYPES)}", field="type", code="content.invalid")
    _only(body, {"type", kind}, "")
    content = _parse(kind, body)
    validate(content)
    return content


def decode_stored(data: JSON) -> Content:
    """A queued message's content as stored (to_dict): everything parse_content takes, and templates,
    which only the template use case builds (app/template_send.py), never a raw API request."""
    if data.get("type") != "template":
        return parse_content(data)
    part = data["template"]
    header = part.get("header_media")
    return TemplateMessage(
        name=part["name"], language=part["language"], category=part["category"],
        components=tuple(part.get("components") or ()), preview=part.get("preview") or "",
        template_id=part.get("template_id"),
        header_media=_media(MediaKind(header["kind"]), {k: v for k, v in header.items() if k != "kind"},
                            "template.header") if header else None)


def _parse(kind: str, body: JSON) -> Content:
    if kind == "contacts":
        cards = body.get(kind)
        if not isinstance(cards, list):
            raise _invalid("contacts must be a list of contact objects", "contacts")
        return Contacts(tuple(_obj(c, f"contacts[{i}]") for i, c in enumerate(cards)))
    part = _obj(body.get(kind), kind, required=True)
    if kind == "text":
        _only(part, {"body", "preview_url"}, kind)
        return Text(_str(part, "body", kind, required=True), _bool(part, "preview_url", kind))
    if kind in MEDIA_TYPES:
        return _media(MediaKind(kind), part, kind)
    if kind == "location":
        _only(part, {"latitude", "longitude", "name", "address"}, kind)
        return Location(_num(part, "latitude", kind), _num(part, "longitude", kind),
                        _str(part, "name", kind), _str(part, "address", kind))
    if kind == "reaction":
        _only(part, {"message_id", "emoji"}, kind)
        message_id = _int(part, "message_id", kind, required=True)
        assert message_id is not None
        return Reaction(message_id, _str(part, "emoji", kind, required=False) or "")
    return _interactive(part)


def _media(kind: MediaKind, part: JSON, path: str) -> Media:
    _only(part, {"media_id", "link", "caption", "filename"}, path)
    return Media(kind, media_id=_int(part, "media_id", path), link=_str(part, "link", path),
                 caption=_str(part, "caption", path), filename=_str(part, "filename", path))


def _interactive(part: JSON) -> Content:
    path = "interactive"
    sub = _str(part, "type", path, required=True)
    if sub not in INTERACTIVE_TYPES:
        raise _invalid(f"interactive.type must be one of {', '.join(INTERACTIVE_TYPES)}", "interactive.type")
    _only(part, {"type", "header", "body", "footer", "action"}, path)
    body = _str(_obj(part.get("body"), f"{path}.body", required=True), "text", f"{path}.body", required=True)
    footer_obj = _obj(part.get("footer"), f"{path}.footer") if part.get("footer") is not None else None
    footer = _str(footer_obj, "text", f"{path}.footer", required=True) if footer_obj is not None else None
    action = _obj(part.get("action"), f"{path}.action", required=True)
    header = _header(part.get("header"), text_only=sub == "list")
    if sub == "button":
        _only(action, {"buttons"}, f"{path}.action")
        buttons = []
        for i, b in enumerate(_list(action, "buttons", f"{path}.action")):
            item = _obj(b, f"{path}.action.buttons[{i}]")
            _only(item, {"id", "title"}, f"{path}.action.buttons[{i}]")
            buttons.append(ReplyButton(_str(item, "id", f"{path}.action.buttons[{i}]", required=True),
                                       _str(item, "title", f"{path}.action.buttons[{i}]", required=True)))
        return ReplyButtons(body, tuple(buttons), header, footer)
    if sub == "list":
        _only(action, {"button", "sections"}, f"{path}.action")
        sections = []
        for i, s in enumerate(_list(action, "sections", f"{path}.action")):
            spath = f"{path}.action.sections[{i}]"
            section = _obj(s, spath)
            _only(section, {"title", "rows"}, spath)
            rows = []
            for j, r in enumerate(_list(section, "rows", spath)):
                rpath = f"{spath}.rows[{j}]"
                row = _obj(r, rpath)
                _only(row, {"id", "title", "description"}, rpath)
                rows.append(ListRow(_str(row, "id", rpath, required=True), _str(row, "title", rpath, required=True),
                                    _str(row, "description", rpath)))
            sections.append(ListSection(tuple(rows), _str(section, "title", spath)))
        text_header = header.text if header is not None else None
        return ListMessage(body, _str(action, "button", f"{path}.action", required=True), tuple(sections),
                           text_header, footer)
    _only(action, {"display_text", "url"}, f"{path}.action")
    return CallToAction(body, _str(action, "display_text", f"{path}.action", required=True),
                        _str(action, "url", f"{path}.action", required=True), header, footer)


def _header(value: object, *, text_only: bool) -> Header | None:
    if value is None:
        return None
    path = "interactive.header"
    header = _obj(value, path)
    kind = _str(header, "type", path, required=True)
    if kind == "text":
        _only(header, {"type", "text"}, path)
        return Header(text=_str(header, "text", path, required=True))
    if text_only or kind not in ("image", "video", "document"):
        allowed = "text" if text_only else "text, image, video or document"
        raise ContentInvalid(f"{path}.type must be {allowed}", field=f"{path}.type", code="content.not_allowed")
    _only(header, {"type", kind}, path)
    return Header(media=_media(MediaKind(kind), _obj(header.get(kind), f"{path}.{kind}", required=True),
                               f"{path}.{kind}"))


# --- content → JSON (the same shape) ------------------------------------------------------------------------------

def to_dict(content: Content) -> JSON:
    if isinstance(content, Text):
        return {"type": "text", "text": {"body": content.body, "preview_url": content.preview_url}}
    if isinstance(content, Media):
        return {"type": content.kind.value, content.kind.value: _media_dict(content)}
    if isinstance(content, Location):
        return {"type": "location", "location": _compact({"latitude": content.latitude,
                                                          "longitude": content.longitude,
                                                          "name": content.name, "address": content.address})}
    if isinstance(content, Contacts):
        return {"type": "contacts", "contacts": [dict(c) for c in content.cards]}
    if isinstance(content, Reaction):
        return {"type": "reaction", "reaction": {"message_id": content.message_id, "emoji": content.emoji}}
    if isinstance(content, TemplateMessage):
        header = content.header_media
        return {"type": "template", "template": _compact({
            "name": content.name, "language": content.language, "category": content.category,
            "components": [dict(c) for c in content.components], "preview": content.preview,
            "template_id": content.template_id,
            "header_media": {"kind": header.kind.value, **_media_dict(header)} if header is not None else None})}
    part: JSON = {"type": content.interactive_type, "body": {"text": content.body}}
    if isinstance(content, ListMessage):
        if content.header is not None:
            part["header"] = {"type": "text", "text": content.header}
        part["action"] = {"button": content.button, "sections": [
            _compact({"title": s.title, "rows": [_compact({"id": r.id, "title": r.title,
                                                           "description": r.description}) for r in s.rows]})
            for s in content.sections]}
    else:
        if content.header is not None:
            part["header"] = _header_dict(content.header)
        if isinstance(content, ReplyButtons):
            part["action"] = {"buttons": [{"id": b.id, "title": b.title} for b in content.buttons]}
        else:
            part["action"] = {"display_text": content.display_text, "url": content.url}
    if content.footer is not None:
        part["footer"] = {"text": content.footer}
    return {"type": "interactive", "interactive": part}


def _media_dict(media: Media) -> JSON:
    return _compact({"media_id": media.media_id, "link": media.link, "caption": media.caption,
                     "filename": media.filename})


def _header_dict(header: Header) -> JSON:
    if header.media is not None:
        return {"type": header.media.kind.value, header.media.kind.value: _media_dict(header.media)}
    return {"type": "text", "text": header.text}


def _compact(values: JSON) -> JSON:
    return {k: v for k, v in values.items() if v is not None}


# --- typed readers ----------------------------------------------------------------------------------------------

def _at(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _invalid(message: str, field: str) -> ContentInvalid:
    return ContentInvalid(message, field=field or None, code="content.invalid")


def _obj(value: object, path: str, *, required: bool = False) -> JSON:
    if value is None and required:
        raise ContentInvalid(f"{path} is required", field=path, code="content.required")
    if not isinstance(value, dict):
        raise _invalid(f"{path or 'the body'} must be a JSON object", path)
    return value


def _only(obj: JSON, allowed: set[str], path: str) -> None:
    for key in obj:
        if key not in allowed:
            raise ContentInvalid(f"unknown field {_at(path, key)}; allowed here: {', '.join(sorted(allowed))}",
                                 field=_at(path, key), code="content.unknown_field")


def _str(obj: JSON, key: str, path: str, *, required: bool = False) -> Any:
    value = obj.get(key)
    if value is None:
        if required:
            raise ContentInvalid(f"{_at(path, key)} is required", field=_at(path, key), code="content.required")
        return None
    if not isinstance(value, str):
        raise _invalid(f"{_at(path, key)} must be a string", _at(path, key))
    return value


def _bool(obj: JSON, key: str, path: str) -> bool:
    value = obj.get(key, False)
    if not isinstance(value, bool):
        raise _invalid(f"{_at(path, key)} must be true or false", _at(path, key))
    return value


def _int(obj: JSON, key: str, path: str, *, required: bool = False) -> int | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise ContentInvalid(f"{_at(path, key)} is required", field=_at(path, key), code="content.required")
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise _invalid(f"{_at(path, key)} must be a positive integer id", _at(path, key))
    return value


def _num(obj: JSON, key: str, path: str) -> float:
    value = obj.get(key)
    if value is None:
        raise ContentInvalid(f"{_at(path, key)} is required", field=_at(path, key), code="content.required")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _invalid(f"{_at(path, key)} must be a number", _at(path, key))
    return float(value)


def _list(obj: JSON, key: str, path: str) -> list[Any]:
    value = obj.get(key)
    if value is None:
        raise ContentInvalid(f"{_at(path, key)} is required", field=_at(path, key), code="content.required")
    if not isinstance(value, list):
        raise _invalid(f"{_at(path, key)} must be a list", _at(path, key))
    return value

"""Outbound content → the Graph API's `/messages` body (reference §4). Pure: no I/O here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from centralino.domain.enums import IdentityKind
from centralino.domain.outbound import (
    CallToAction,
    Contacts,
    Content,
    Header,
    ListMessage,
    Location,
    Media,
    Reaction,
    ReplyButtons,
    TemplateMessage,
    Text,
)

JSON = dict[str, Any]


class MissingProviderMedia(LookupError):
    """An upload has no Graph media id for this channel yet (the sender uploads it first)."""


def recipient_fields(kind: str, value: str) -> JSON:
    if kind == IdentityKind.WHATSAPP_BSUID.value:
        return {"recipient": value}
    # Always with '+': without it Meta prefixes the business number's country code.
    return {"to": value if value.startswith("+") else f"+{value}"}


def message_body(content: Content, *, recipient_kind: str, recipient: str, callback_data: str,
                 reply_to_external_id: str | None = None, target_external_id: str | None = None,
                 provider_media: Mapping[int, str] | None = None) -> JSON:
    """`provider_media`: our upload id → Graph media id; `target_external_id`: a reaction's target wamid."""
    body: JSON = {"messaging_product": "whatsapp", "recipient_type": "individual",
                  **recipient_fields(recipient_kind, recipient)}
    media_ids = provider_media or {}
    if isinstance(content, Text):
        body.update(type="text", text={"body": content.body, "preview_url": content.preview_url})
    elif isinstance(content, Media):
        body.update({"type": content.kind.value, content.kind.value: _media(content, media_ids)})
    elif isinstance(content, Location):
        body.update(type="location", location=_compact({
            "latitude": content.latitude, "longitude": content.longitude, "name": content.name,
            "address": content.address}))
    elif isinstance(content, Contacts):
        body.update(type="contacts", contacts=[dict(c) for c in content.cards])
    elif isinstance(content, Reaction):
        if not target_external_id:
            raise ValueError("a reaction needs the wamid of the message it reacts to")
        body.update(type="reaction", reaction={"message_id": target_external_id, "emoji": content.emoji})
    elif isinstance(content, TemplateMessage):
        body.update(type="template", template=_template(content, media_ids))
    else:
        body.update(type="interactive", interactive=_interactive(content, media_ids))
    if reply_to_external_id and not isinstance(content, Reaction):
        body["context"] = {"message_id": reply_to_external_id}
    body["biz_opaque_callback_data"] = callback_data
    return body


def _template(content: TemplateMessage, provider_media: Mapping[int, str]) -> JSON:
    """Meta's template object; an uploaded header file's id (ours) becomes the Graph media id."""
    components: list[JSON] = []
    for component in content.components:
        part = dict(component)
        if part.get("type") == "header" and content.header_media is not None:
            part["parameters"] = [_header_parameter(p, content.header_media, provider_media)
                                  for p in part.get("parameters", [])]
        components.append(part)
    template: JSON = {"name": content.name, "language": {"code": content.language}}
    if components:
        template["components"] = components
    return template


def _header_parameter(parameter: JSON, media: Media, provider_media: Mapping[int, str]) -> JSON:
    kind = parameter.get("type")
    if kind != media.kind.value:
        return parameter
    return {"type": kind, kind: _media(media, provider_media)}


def read_body(external_id: str) -> JSON:
    return {"messaging_product": "whatsapp", "status": "read", "message_id": external_id}


def _media(media: Media, provider_media: Mapping[int, str]) -> JSON:
    if media.media_id is not None:
        if media.media_id not in provider_media:
            raise MissingProviderMedia(media.media_id)
        ref: JSON = {"id": provider_media[media.media_id]}
    else:
        ref = {"link": media.link}
    return {**ref, **_compact({"caption": media.caption, "filename": media.filename})}


def _interactive(content: ReplyButtons | ListMessage | CallToAction, provider_media: Mapping[int, str]) -> JSON:
    part: JSON = {"type": content.interactive_type, "body": {"text": content.body}}
    if isinstance(content, ListMessage):
        if content.header is not None:
            part["header"] = {"type": "text", "text": content.header}
        part["action"] = {"button": content.button, "sections": [
            _compact({"title": s.title, "rows": [
                _compact({"id": r.id, "title": r.title, "description": r.description}) for r in s.rows]})
            for s in content.sections]}
    else:
        if content.header is not None:
            part["header"] = _header(content.header, provider_media)
        if isinstance(content, ReplyButtons):
            part["action"] = {"buttons": [{"type": "reply", "reply": {"id": b.id, "title": b.title}}
                                          for b in content.buttons]}
        else:
            part["action"] = {"name": "cta_url",
                              "parameters": {"display_text": content.display_text, "url": content.url}}
    if content.footer is not None:
        part["footer"] = {"text": content.footer}
    return part


def _header(header: Header, provider_media: Mapping[int, str]) -> JSON:
    if header.media is not None:
        kind = header.media.kind.value
        return {"type": kind, kind: _media(header.media, provider_media)}
    return {"type": "text", "text": header.text}


def _compact(values: JSON) -> JSON:
    return {k: v for k, v in values.items() if v is not None}

"""Validation of `POST /{version}/{phone-number-id}/messages` bodies, per message type (reference §4, §7).

Pure: what needs the simulator's memory (media ownership, templates) is passed in or checked later.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from centralino.simulator import media_rules
from centralino.simulator.errors import GraphError, invalid
from centralino.simulator.fieldcheck import Obj, unique
from centralino.simulator.state import StoredMedia

MEDIA_TYPES = ("image", "video", "audio", "document", "sticker")
MESSAGE_TYPES = frozenset({"text", *MEDIA_TYPES, "location", "contacts", "interactive", "template", "reaction"})
TOP_LEVEL = frozenset({"messaging_product", "recipient_type", "to", "recipient", "type", "context",
                       "biz_opaque_callback_data", *MESSAGE_TYPES})
MEDIA_KEYS = {"image": {"id", "link", "caption"}, "video": {"id", "link", "caption"},
              "document": {"id", "link", "caption", "filename"}, "audio": {"id", "link", "voice"},
              "sticker": {"id", "link"}}
CONTACT_KEYS = {"addresses", "birthday", "emails", "name", "org", "phones", "urls"}
INTERACTIVE_TYPES = frozenset({"button", "list", "cta_url"})
NOT_SIMULATED = frozenset({"flow", "product", "product_list", "catalog_message", "location_request_message",
                           "address_message", "call_permission_request", "contact_request"})

MediaLookup = Callable[[str], StoredMedia | None]


@dataclass(frozen=True)
class SendRequest:
    to: str  # as given
    wa_id: str  # digits only
    type: str
    content: dict[str, Any]  # the object named like the type
    callback_data: str | None
    context_id: str | None


@dataclass(frozen=True)
class MarkRead:
    message_id: str
    typing: bool


def parse(body: Any, media_of: MediaLookup) -> SendRequest | MarkRead:
    root = Obj(body, ())
    product = root.data.get("messaging_product")
    if product is None:
        raise GraphError(100, "The parameter messaging_product is required.")
    if product != "whatsapp":
        raise GraphError(100, f'Param messaging_product must be one of {{WHATSAPP}} - got "{product}".')
    if root.data.get("status") is not None:
        return _mark_read(root)
    root.only(TOP_LEVEL)
    recipient_type = root.choice("recipient_type", {"individual", "group"}, required=False)
    if recipient_type == "group":
        raise invalid(("recipient_type",), "'group' is not supported by the simulator.")
    if root.has("recipient") and not root.has("to"):
        raise invalid(("recipient",), "(a business-scoped user id) is not supported by the simulator: use 'to'.")
    to = root.need_text("to")
    digits = re.sub(r"\D", "", to)
    if not 7 <= len(digits) <= 15 or not re.fullmatch(r"\+?[\d\s().-]+", to.strip()):
        raise invalid(("to",), f"must be a phone number in international format: '{to}' is not valid.")
    kind = root.choice("type", MESSAGE_TYPES, required=False) or "text"
    for other in MESSAGE_TYPES - {kind}:
        if root.has(other):
            raise GraphError(100, f'Unexpected key "{other}" for a message of type "{kind}".')
    if kind == "contacts":
        cards = root.objects("contacts", low=1, high=5)
        for card in cards:
            card.only(CONTACT_KEYS)
            card.need_obj("name").need_text("formatted_name")
        content: dict[str, Any] = {"contacts": [c.data for c in cards]}
    else:
        obj = root.need_obj(kind)
        CHECKS[kind](obj, media_of)
        content = obj.data
    context = root.obj("context", required=False)
    context_id = context.only({"message_id"}).need_text("message_id") if context else None
    callback = root.text("biz_opaque_callback_data", max_len=512)
    return SendRequest(to=to, wa_id=digits, type=kind, content=content, callback_data=callback,
                       context_id=context_id)


def _mark_read(root: Obj) -> MarkRead:
    root.only({"messaging_product", "status", "message_id", "typing_indicator", "recipient_type"})
    if root.data["status"] != "read":
        raise invalid(("status",), f"must be one of {{read}} - got \"{root.data['status']}\".")
    typing = root.obj("typing_indicator", required=False)
    if typing:
        typing.only({"type"}).choice("type", {"text"})
    return MarkRead(message_id=root.need_text("message_id"), typing=typing is not None)


def _text(obj: Obj, _media_of: MediaLookup) -> None:
    obj.only({"body", "preview_url"})
    obj.need_text("body", max_len=4096)
    obj.boolean("preview_url")


def _media(kind: str) -> Callable[[Obj, MediaLookup], None]:
    def check(obj: Obj, media_of: MediaLookup) -> None:
        check_media_object(obj, kind, media_of)
    return check


def check_media_object(obj: Obj, kind: str, media_of: MediaLookup) -> None:
    obj.only(MEDIA_KEYS[kind])
    media_id, link = obj.text("id"), obj.text("link")
    if media_id and link:
        raise invalid(obj.path, "must have either id or link, not both.")
    if not media_id and not link:
        raise GraphError(131008, f"The parameter {obj.at('id')} or {obj.at('link')} is required.")
    if link and not re.match(r"https?://[^\s/]+", link):
        raise invalid((*obj.path, "link"), "must be an http(s) URL.")
    if media_id:
        found = media_of(media_id)
        if found is None:
            raise invalid((*obj.path, "id"), f"is not a valid media id for this phone number: '{media_id}'.")
        if not media_rules.sendable_as(kind, found.mime_type):
            raise invalid((*obj.path, "id"), f"refers to a {found.mime_type} file, which cannot be sent as {kind}.")
    obj.text("caption", max_len=1024)
    obj.text("filename", max_len=240)


def _location(obj: Obj, _media_of: MediaLookup) -> None:
    obj.only({"latitude", "longitude", "name", "address"})
    obj.number("latitude", low=-90, high=90)
    obj.number("longitude", low=-180, high=180)
    obj.text("name", max_len=1000)
    obj.text("address", max_len=1000)


def _reaction(obj: Obj, _media_of: MediaLookup) -> None:
    obj.only({"message_id", "emoji"})
    obj.need_text("message_id")
    if "emoji" not in obj.data:
        raise GraphError(131008, f"The parameter {obj.at('emoji')} is required.")
    emoji = obj.text("emoji", allow_empty=True, max_len=16)
    if emoji and emoji.isascii():
        raise invalid((*obj.path, "emoji"), "must be a single emoji (or empty to remove the reaction).")


def _interactive(obj: Obj, media_of: MediaLookup) -> None:
    kind = obj.text("type", required=True)
    if kind in NOT_SIMULATED:
        raise invalid((*obj.path, "type"), f"'{kind}' is not supported by the simulator.")
    kind = obj.choice("type", INTERACTIVE_TYPES)
    obj.only({"type", "header", "body", "footer", "action"})
    header = obj.obj("header", required=False)
    if header:
        header_types = {"text"} if kind == "list" else {"text", "image", "video", "document"}
        htype = header.choice("type", header_types)
        assert htype is not None
        header.only({"type", htype})
        if htype == "text":
            header.need_text("text", max_len=60)
        else:
            check_media_object(header.need_obj(htype), htype, media_of)
    obj.need_obj("body").only({"text"}).need_text("text", max_len=4096 if kind == "list" else 1024)
    footer = obj.obj("footer", required=False)
    if footer:
        footer.only({"text"}).need_text("text", max_len=60)
    action = obj.need_obj("action")
    if kind == "button":
        _reply_buttons(action)
    elif kind == "list":
        _list(action)
    else:
        action.only({"name", "parameters"}).choice("name", {"cta_url"})
        parameters = action.need_obj("parameters").only({"display_text", "url"})
        parameters.need_text("display_text", max_len=20)
        if not re.match(r"https?://[^\s/]+", parameters.need_text("url", max_len=2000)):
            raise invalid((*parameters.path, "url"), "must be an http(s) URL.")


def _reply_buttons(action: Obj) -> None:
    action.only({"buttons"})
    buttons = action.objects("buttons", low=1, high=3)
    ids, titles = [], []
    for button in buttons:
        button.only({"type", "reply"}).choice("type", {"reply"})
        reply = button.need_obj("reply").only({"id", "title"})
        ids.append(reply.need_text("id", max_len=256))
        titles.append(reply.need_text("title", max_len=20))
    unique(ids, (*action.path, "buttons"), "reply ids")
    unique(titles, (*action.path, "buttons"), "reply titles")


def _list(action: Obj) -> None:
    action.only({"button", "sections"})
    action.need_text("button", max_len=20)
    sections = action.objects("sections", low=1, high=10)
    row_ids: list[str] = []
    for section in sections:
        section.only({"title", "rows"})
        section.text("title", required=len(sections) > 1, max_len=24)
        for row in section.objects("rows", low=1, high=10):
            row.only({"id", "title", "description"})
            row_ids.append(row.need_text("id", max_len=200))
            row.need_text("title", max_len=24)
            row.text("description", max_len=72)
    if len(row_ids) > 10:
        raise invalid((*action.path, "sections"), f"must have at most 10 rows in total, got {len(row_ids)}.")
    unique(row_ids, (*action.path, "sections"), "row ids")


def _template(obj: Obj, _media_of: MediaLookup) -> None:
    obj.only({"name", "language", "components", "namespace"})
    obj.need_text("name", max_len=512)
    language = obj.need_obj("language").only({"code", "policy"})
    language.need_text("code")
    language.choice("policy", {"deterministic"}, required=False)
    for component in obj.objects("components", low=0, required=False):
        component.only({"type", "sub_type", "index", "parameters"})
        component.choice("type", {"header", "body", "button", "footer"})
        for parameter in component.objects("parameters", low=0, required=False):
            ptype = parameter.choice("type", {"text", "currency", "date_time", "image", "video", "document",
                                              "location", "payload", "coupon_code", "action"})
            assert ptype is not None
            parameter.only({"type", "parameter_name", ptype})
            if ptype in ("text", "payload", "coupon_code"):
                parameter.need_text(ptype, max_len=32768)
            elif ptype in ("image", "video", "document"):
                target = parameter.need_obj(ptype)
                target.only({"id", "link", "filename", "caption"})
                if not target.text("id") and not target.text("link"):
                    raise GraphError(131008, f"The parameter {target.at('id')} or {target.at('link')} is required.")
            elif ptype in ("currency", "date_time"):
                parameter.need_obj(ptype).need_text("fallback_value")
            else:
                parameter.need_obj(ptype)


CHECKS: dict[str, Callable[[Obj, MediaLookup], None]] = {
    "text": _text, "location": _location, "reaction": _reaction, "interactive": _interactive,
    "template": _template, **{kind: _media(kind) for kind in MEDIA_TYPES},
}

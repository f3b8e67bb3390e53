"""What a business can send, channel-agnostic, and every limit checked before anything is queued.

The content types are frozen values; `validate` raises `ContentInvalid` with a stable code, a
message and the field path in the API's request shape (`interactive.action.buttons[2].title`),
so the bot, the agent UI and the API get the same answer. A channel turns them into its own
payload (WhatsApp: channels/whatsapp/outbound.py). Limits: reference §4 and §7.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlsplit

from centralino.domain.media_rules import MediaKind
from centralino.errors import InvalidInput

JSON = dict[str, Any]

TEXT_BODY_MAX = 4096
CAPTION_MAX = 1024
INTERACTIVE_BODY_MAX = 1024
LIST_BODY_MAX = 4096
HEADER_TEXT_MAX = 60
FOOTER_TEXT_MAX = 60
BUTTONS_MAX = 3
BUTTON_TITLE_MAX = 20
BUTTON_ID_MAX = 256
LIST_BUTTON_MAX = 20
SECTIONS_MAX = 10
SECTION_TITLE_MAX = 24
ROWS_MAX = 10  # across all sections
ROW_ID_MAX = 200
ROW_TITLE_MAX = 24
ROW_DESCRIPTION_MAX = 72
CTA_DISPLAY_TEXT_MAX = 20
CONTACTS_MIN, CONTACTS_MAX = 1, 5
EMOJI_MAX = 16  # code points: a family or flag sequence is several


class ContentInvalid(InvalidInput):
    status = 422


@dataclass(frozen=True)
class Text:
    body: str
    preview_url: bool = False
    type: ClassVar[str] = "text"


@dataclass(frozen=True)
class Media:
    """An image, video, audio, document or sticker: one of our uploads (`media_id`) or a `link`."""

    kind: MediaKind
    media_id: int | None = None
    link: str | None = None
    caption: str | None = None
    filename: str | None = None  # documents only

    @property
    def type(self) -> str:
        return self.kind.value


@dataclass(frozen=True)
class Location:
    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None
    type: ClassVar[str] = "location"


@dataclass(frozen=True)
class Contacts:
    cards: tuple[JSON, ...]  # vCard-like objects, the shape WhatsApp uses inbound and outbound
    type: ClassVar[str] = "contacts"


@dataclass(frozen=True)
class Header:
    """An interactive message's header: text, or an image/video/document."""

    text: str | None = None
    media: Media | None = None


@dataclass(frozen=True)
class ReplyButton:
    id: str
    title: str


@dataclass(frozen=True)
class ReplyButtons:
    body: str
    buttons: tuple[ReplyButton, ...]
    header: Header | None = None
    footer: str | None = None
    type: ClassVar[str] = "interactive"
    interactive_type: ClassVar[str] = "button"


@dataclass(frozen=True)
class ListRow:
    id: str
    title: str
    description: str | None = None


@dataclass(frozen=True)
class ListSection:
    rows: tuple[ListRow, ...]
    title: str | None = None


@dataclass(frozen=True)
class ListMessage:
    body: str
    button: str
    sections: tuple[ListSection, ...]
    header: str | None = None  # text only
    footer: str | None = None
    type: ClassVar[str] = "interactive"
    interactive_type: ClassVar[str] = "list"


@dataclass(frozen=True)
class CallToAction:
    body: str
    display_text: str
    url: str
    header: Header | None = None
    footer: str | None = None
    type: ClassVar[str] = "interactive"
    interactive_type: ClassVar[str] = "cta_url"


@dataclass(frozen=True)
class Reaction:
    message_id: int  # ours; the channel's id for it is resolved when queued
    emoji: str  # "" removes our reaction
    type: ClassVar[str] = "reaction"


@dataclass(frozen=True)
class TemplateMessage:
    """An approved WhatsApp template with its parameters, ready to queue (app/template_send.py builds it from
    the stored template and checks every parameter first). The one kind allowed outside the window."""

    name: str
    language: str  # Meta's code: it, en_US, …
    category: str  # marketing | utility | authentication: decides the consent purpose (domain/consent.py)
    components: tuple[dict[str, Any], ...]  # Meta's `components` send parameters, already checked
    preview: str  # the message as the customer will see it (header, body, footer, buttons): desk and search
    template_id: int | None = None  # our templates row
    header_media: Media | None = None  # an uploaded header file: its media_id is handed to the channel first
    type: ClassVar[str] = "template"


Content = Text | Media | Location | Contacts | ReplyButtons | ListMessage | CallToAction | Reaction | TemplateMessage
Interactive = ReplyButtons | ListMessage | CallToAction


def is_free_form(content: Content) -> bool:
    """Free-form content may only be sent inside the customer-service window. Every type here is
    free-form except an approved template."""
    return not isinstance(content, TemplateMessage)


def uploads(content: Content) -> list[int]:
    """Our upload ids the content refers to (the sender hands them to the channel first)."""
    media = content if isinstance(content, Media) else _header_media(content)
    return [media.media_id] if media is not None and media.media_id is not None else []


def media_items(content: Content) -> list[tuple[Media, str]]:
    """(media, its field path) for every media item in the content."""
    if isinstance(content, Media):
        return [(content, content.kind.value)]
    media = _header_media(content)
    if media is None:
        return []
    where = "template.header" if isinstance(content, TemplateMessage) else "interactive.header"
    return [(media, f"{where}.{media.kind.value}")]


def searchable_text(content: Content) -> str | None:
    if isinstance(content, Text):
        return content.body
    if isinstance(content, Media):
        return content.caption or content.filename
    if isinstance(content, Location):
        return " ".join(p for p in (content.name, content.address) if p) or None
    if isinstance(content, Contacts):
        return ", ".join(str((c.get("name") or {}).get("formatted_name") or "") for c in content.cards) or None
    if isinstance(content, Reaction):
        return content.emoji or None
    if isinstance(content, TemplateMessage):
        return content.preview
    return content.body


def _header_media(content: Content) -> Media | None:
    if isinstance(content, (ReplyButtons, CallToAction)) and content.header is not None:
        return content.header.media
    if isinstance(content, TemplateMessage):
        return content.header_media
    return None


# --- validation -------------------------------------------------------------------------------------------------

def validate(content: Content) -> None:
    """Raise `ContentInvalid` for the first rule the content breaks."""
    if isinstance(content, Text):
        _text(content.body, "text.body", TEXT_BODY_MAX)
    elif isinstance(content, Media):
        _media(content, content.kind.value)
    elif isinstance(content, Location):
        _location(content)
    elif isinstance(content, Contacts):
        _contacts(content)
    elif isinstance(content, ReplyButtons):
        _buttons(content)
    elif isinstance(content, ListMessage):
        _list(content)
    elif isinstance(content, CallToAction):
        _cta(content)
    elif isinstance(content, Reaction):
        _reaction(content)
    # a TemplateMessage is checked against its stored template when built (app/template_send.py)


def _fail(code: str, message: str, field: str) -> ContentInvalid:
    return ContentInvalid(message, field=field, code=code)


def _text(value: str | None, field: str, limit: int, *, required: bool = True) -> None:
    if value is None or not value.strip():
        if required:
            raise _fail("content.required", f"{field} must not be empty", field)
        if value is None:
            return
        raise _fail("content.required", f"{field} must not be blank (omit it instead)", field)
    if len(value) > limit:
        raise _fail("content.too_long", f"{field} is {len(value)} characters; at most {limit} are allowed", field)


def check_url(url: str, field: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in url):
        raise _fail("content.bad_url", f"{field} must be an absolute http(s) URL", field)


def _media(media: Media, path: str) -> None:
    if (media.media_id is None) == (media.link is None):
        raise _fail("content.required", f"{path} needs exactly one of media_id (an upload) or link", path)
    if media.link is not None:
        check_url(media.link, f"{path}.link")
    if media.caption is not None:
        if media.kind not in (MediaKind.IMAGE, MediaKind.VIDEO, MediaKind.DOCUMENT):
            raise _fail("content.not_allowed", f"{media.kind.value} messages have no caption", f"{path}.caption")
        _text(media.caption, f"{path}.caption", CAPTION_MAX, required=False)
    if media.filename is not None:
        if media.kind is not MediaKind.DOCUMENT:
            raise _fail("content.not_allowed", "only documents have a filename", f"{path}.filename")
        _text(media.filename, f"{path}.filename", 240, required=False)


def _location(loc: Location) -> None:
    for name, value, bound in (("latitude", loc.latitude, 90.0), ("longitude", loc.longitude, 180.0)):
        if not math.isfinite(value) or not -bound <= value <= bound:
            raise _fail("content.out_of_range", f"location.{name} must be between -{bound:g} and {bound:g}",
                        f"location.{name}")
    _text(loc.name, "location.name", 1000, required=False)
    _text(loc.address, "location.address", 1000, required=False)


def _contacts(contacts: Contacts) -> None:
    count = len(contacts.cards)
    if not CONTACTS_MIN <= count <= CONTACTS_MAX:
        code = "content.too_few" if count < CONTACTS_MIN else "content.too_many"
        raise _fail(code, f"send {CONTACTS_MIN} to {CONTACTS_MAX} contacts (got {count})", "contacts")
    for i, card in enumerate(contacts.cards):
        name = card.get("name")
        formatted = name.get("formatted_name") if isinstance(name, dict) else None
        if not isinstance(formatted, str) or not formatted.strip():
            raise _fail("content.required", "every contact needs name.formatted_name",
                        f"contacts[{i}].name.formatted_name")
        for key in ("phones", "emails", "urls", "addresses"):
            items = card.get(key)
            if items is not None and (not isinstance(items, list) or not all(isinstance(x, dict) for x in items)):
                raise _fail("content.invalid", f"contacts[{i}].{key} must be a list of objects",
                            f"contacts[{i}].{key}")


def _header(header: Header | None) -> None:
    if header is None:
        return
    if (header.text is None) == (header.media is None):
        raise _fail("content.required", "a header is either text or one image/video/document", "interactive.header")
    if header.text is not None:
        _text(header.text, "interactive.header.text", HEADER_TEXT_MAX)
    elif header.media is not None:
        if header.media.kind not in (MediaKind.IMAGE, MediaKind.VIDEO, MediaKind.DOCUMENT):
            raise _fail("content.not_allowed", "a header's media is an image, a video or a document",
                        "interactive.header.type")
        path = f"interactive.header.{header.media.kind.value}"
        if header.media.caption is not None:
            raise _fail("content.not_allowed", "a header's media has no caption (use the body)", f"{path}.caption")
        _media(header.media, path)


def _buttons(msg: ReplyButtons) -> None:
    _header(msg.header)
    _text(msg.body, "interactive.body.text", INTERACTIVE_BODY_MAX)
    _text(msg.footer, "interactive.footer.text", FOOTER_TEXT_MAX, required=False)
    if not msg.buttons:
        raise _fail("content.too_few", "reply buttons need at least one button", "interactive.action.buttons")
    if len(msg.buttons) > BUTTONS_MAX:
        raise _fail("content.too_many", f"at most {BUTTONS_MAX} reply buttons (got {len(msg.buttons)})",
                    "interactive.action.buttons")
    ids: set[str] = set()
    titles: set[str] = set()
    for i, button in enumerate(msg.buttons):
        path = f"interactive.action.buttons[{i}]"
        _text(button.id, f"{path}.id", BUTTON_ID_MAX)
        _text(button.title, f"{path}.title", BUTTON_TITLE_MAX)
        if button.id in ids:
            raise _fail("content.not_unique", f"button id {button.id!r} is used twice", f"{path}.id")
        if button.title in titles:
            raise _fail("content.not_unique", f"button title {button.title!r} is used twice", f"{path}.title")
        ids.add(button.id)
        titles.add(button.title)


def _list(msg: ListMessage) -> None:
    _text(msg.header, "interactive.header.text", HEADER_TEXT_MAX, required=False)
    _text(msg.body, "interactive.body.text", LIST_BODY_MAX)
    _text(msg.footer, "interactive.footer.text", FOOTER_TEXT_MAX, required=False)
    _text(msg.button, "interactive.action.button", LIST_BUTTON_MAX)
    if not msg.sections:
        raise _fail("content.too_few", "a list needs at least one section", "interactive.action.sections")
    if len(msg.sections) > SECTIONS_MAX:
        raise _fail("content.too_many", f"at most {SECTIONS_MAX} sections (got {len(msg.sections)})",
                    "interactive.action.sections")
    total = sum(len(s.rows) for s in msg.sections)
    if total > ROWS_MAX:
        raise _fail("content.too_many", f"at most {ROWS_MAX} rows across all sections (got {total})",
                    "interactive.action.sections")
    ids: set[str] = set()
    for i, section in enumerate(msg.sections):
        path = f"interactive.action.sections[{i}]"
        # A title is what tells several sections apart; a single section may go without.
        _text(section.title, f"{path}.title", SECTION_TITLE_MAX, required=len(msg.sections) > 1)
        if not section.rows:
            raise _fail("content.too_few", "every section needs at least one row", f"{path}.rows")
        for j, row in enumerate(section.rows):
            row_path = f"{path}.rows[{j}]"
            _text(row.id, f"{row_path}.id", ROW_ID_MAX)
            _text(row.title, f"{row_path}.title", ROW_TITLE_MAX)
            _text(row.description, f"{row_path}.description", ROW_DESCRIPTION_MAX, required=False)
            if row.id in ids:
                raise _fail("content.not_unique", f"row id {row.id!r} is used twice", f"{row_path}.id")
            ids.add(row.id)


def _cta(msg: CallToAction) -> None:
    _header(msg.header)
    _text(msg.body, "interactive.body.text", INTERACTIVE_BODY_MAX)
    _text(msg.footer, "interactive.footer.text", FOOTER_TEXT_MAX, required=False)
    _text(msg.display_text, "interactive.action.display_text", CTA_DISPLAY_TEXT_MAX)
    _text(msg.url, "interactive.action.url", 2000)
    check_url(msg.url, "interactive.action.url")


def _reaction(reaction: Reaction) -> None:
    if len(reaction.emoji) > EMOJI_MAX or any(c.isspace() or (c.isascii() and c.isalpha()) for c in reaction.emoji):
        raise _fail("content.invalid", "reaction.emoji must be one emoji, or empty to remove the reaction",
                    "reaction.emoji")

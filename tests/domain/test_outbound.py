"""Outbound content: every type parses, round-trips, and every limit is refused with its field."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from centralino.domain.media_rules import MediaKind
from centralino.domain.outbound import (
    CallToAction,
    ContentInvalid,
    Header,
    ListMessage,
    ListRow,
    ListSection,
    Media,
    ReplyButton,
    ReplyButtons,
    Text,
    is_free_form,
    media_items,
    searchable_text,
    uploads,
    validate,
)
from centralino.domain.outbound_codec import parse_content, parse_request, to_dict
from tests.outbound_samples import VALID


def refused(data: dict[str, Any]) -> ContentInvalid:
    with pytest.raises(ContentInvalid) as caught:
        parse_content(data)
    return caught.value


def with_change(name: str, path: str, value: Any) -> dict[str, Any]:
    """A copy of VALID[name] with the value at a dotted path (list indexes as numbers) replaced."""
    data = copy.deepcopy(VALID[name])
    *parents, last = path.split(".")
    node: Any = data
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    if last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value
    return data


@pytest.mark.parametrize("name", sorted(VALID))
def test_every_type_parses_validates_and_round_trips(name: str) -> None:
    content = parse_content(VALID[name])
    assert to_dict(content) == VALID[name] or parse_content(to_dict(content)) == content
    assert parse_content(to_dict(content)) == content
    assert is_free_form(content)


def test_the_same_content_built_in_python_gives_the_same_json() -> None:
    buttons = ReplyButtons("Solved?", (ReplyButton("y", "Yes"), ReplyButton("n", "No")),
                           header=Header(text="Support"), footer="Thanks")
    assert parse_content(to_dict(buttons)) == buttons
    listed = ListMessage("Pick", "Choose", (ListSection((ListRow("a", "A", "first"),)),))
    assert parse_content(to_dict(listed)) == listed
    cta = CallToAction("Track", "Open", "https://example.com", footer="f")
    assert parse_content(to_dict(cta)) == cta


def test_helpers_name_uploads_media_paths_and_searchable_text() -> None:
    buttons = parse_content(VALID["buttons"])
    assert uploads(buttons) == [9]
    assert [path for _, path in media_items(buttons)] == ["interactive.header.image"]
    assert uploads(parse_content(VALID["video"])) == []
    assert searchable_text(parse_content(VALID["text"])) == "Ciao!"
    assert searchable_text(parse_content(VALID["document"])) == "4711"
    assert searchable_text(parse_content(VALID["location"])) == "Duomo Piazza del Duomo"
    assert searchable_text(parse_content(VALID["contacts"])) == "Desk"


def test_reply_to_is_read_beside_the_content() -> None:
    request = parse_request({**VALID["text"], "reply_to": 7})
    assert request.reply_to == 7 and isinstance(request.content, Text)
    assert refused_request({**VALID["text"], "reply_to": "7"}).field == "reply_to"


def refused_request(data: dict[str, Any]) -> ContentInvalid:
    with pytest.raises(ContentInvalid) as caught:
        parse_request(data)
    return caught.value


@pytest.mark.parametrize(("name", "path", "value", "code", "field"), [
    # text
    ("text", "text.body", "x" * 4097, "content.too_long", "text.body"),
    ("text", "text.body", "   ", "content.required", "text.body"),
    ("text", "text.body", 5, "content.invalid", "text.body"),
    ("text", "text.preview_url", "yes", "content.invalid", "text.preview_url"),
    # media
    ("image", "image.caption", "c" * 1025, "content.too_long", "image.caption"),
    ("video", "video.caption", "c" * 1025, "content.too_long", "video.caption"),
    ("document", "document.caption", "c" * 1025, "content.too_long", "document.caption"),
    ("audio", "audio.caption", "hi", "content.not_allowed", "audio.caption"),
    ("sticker", "sticker.caption", "hi", "content.not_allowed", "sticker.caption"),
    ("image", "image.filename", "a.png", "content.not_allowed", "image.filename"),
    ("video", "video.link", "ftp://example.com/v.mp4", "content.bad_url", "video.link"),
    ("video", "video.link", "not a url", "content.bad_url", "video.link"),
    ("image", "image.media_id", 0, "content.invalid", "image.media_id"),
    ("image", "image.link", "https://example.com/a.png", "content.required", "image"),  # both id and link
    # location
    ("location", "location.latitude", 90.5, "content.out_of_range", "location.latitude"),
    ("location", "location.latitude", -91, "content.out_of_range", "location.latitude"),
    ("location", "location.longitude", 180.01, "content.out_of_range", "location.longitude"),
    ("location", "location.longitude", "9.19", "content.invalid", "location.longitude"),
    ("location", "location.latitude", None, "content.required", "location.latitude"),
    # contacts
    ("contacts", "contacts", [], "content.too_few", "contacts"),
    ("contacts", "contacts", [{"name": {"formatted_name": f"C{i}"}} for i in range(6)], "content.too_many", "contacts"),
    ("contacts", "contacts.0.name", {"first_name": "x"}, "content.required", "contacts[0].name.formatted_name"),
    ("contacts", "contacts.0.phones", "+39", "content.invalid", "contacts[0].phones"),
    # reply buttons
    ("buttons", "interactive.action.buttons", [], "content.too_few", "interactive.action.buttons"),
    ("buttons", "interactive.action.buttons", [{"id": str(i), "title": str(i)} for i in range(4)],
     "content.too_many", "interactive.action.buttons"),
    ("buttons", "interactive.action.buttons.2.title", "t" * 21, "content.too_long",
     "interactive.action.buttons[2].title"),
    ("buttons", "interactive.action.buttons.1.id", "i" * 257, "content.too_long", "interactive.action.buttons[1].id"),
    ("buttons", "interactive.action.buttons.1.id", "y", "content.not_unique", "interactive.action.buttons[1].id"),
    ("buttons", "interactive.action.buttons.2.title", "Yes", "content.not_unique",
     "interactive.action.buttons[2].title"),
    ("buttons", "interactive.action.buttons.0.title", "", "content.required", "interactive.action.buttons[0].title"),
    ("buttons", "interactive.body.text", "b" * 1025, "content.too_long", "interactive.body.text"),
    ("buttons", "interactive.footer.text", "f" * 61, "content.too_long", "interactive.footer.text"),
    ("buttons", "interactive.header", {"type": "text", "text": "h" * 61}, "content.too_long",
     "interactive.header.text"),
    ("buttons", "interactive.header", {"type": "sticker", "sticker": {"media_id": 1}}, "content.not_allowed",
     "interactive.header.type"),
    ("buttons", "interactive.header", {"type": "image", "image": {"media_id": 1, "caption": "x"}},
     "content.not_allowed", "interactive.header.image.caption"),
    ("buttons", "interactive.action.buttons.0", {"id": "y", "title": "Yes", "type": "reply"},
     "content.unknown_field", "interactive.action.buttons[0].type"),
    # list
    ("list", "interactive.action.button", "b" * 21, "content.too_long", "interactive.action.button"),
    ("list", "interactive.action.sections.0.title", "s" * 25, "content.too_long",
     "interactive.action.sections[0].title"),
    ("list", "interactive.action.sections.0.title", None, "content.required", "interactive.action.sections[0].title"),
    ("list", "interactive.action.sections.1.rows.0.title", "r" * 25, "content.too_long",
     "interactive.action.sections[1].rows[0].title"),
    ("list", "interactive.action.sections.1.rows.1.description", "d" * 73, "content.too_long",
     "interactive.action.sections[1].rows[1].description"),
    ("list", "interactive.action.sections.1.rows.0.id", "i" * 201, "content.too_long",
     "interactive.action.sections[1].rows[0].id"),
    ("list", "interactive.action.sections.1.rows.1.id", "m1", "content.not_unique",
     "interactive.action.sections[1].rows[1].id"),
    ("list", "interactive.action.sections.1.rows",
     [{"id": f"r{i}", "title": "x"} for i in range(10)], "content.too_many", "interactive.action.sections"),
    ("list", "interactive.action.sections",
     [{"title": f"s{i}", "rows": [{"id": f"r{i}", "title": "x"}]} for i in range(11)], "content.too_many",
     "interactive.action.sections"),
    ("list", "interactive.action.sections", [], "content.too_few", "interactive.action.sections"),
    ("list", "interactive.action.sections.0.rows", [], "content.too_few", "interactive.action.sections[0].rows"),
    ("list", "interactive.body.text", "b" * 4097, "content.too_long", "interactive.body.text"),
    ("list", "interactive.header", {"type": "image", "image": {"link": "https://e.com/a.png"}},
     "content.not_allowed", "interactive.header.type"),
    ("list", "interactive.header", {"type": "text", "text": "h" * 61}, "content.too_long", "interactive.header.text"),
    # call to action
    ("cta_url", "interactive.action.display_text", "d" * 21, "content.too_long", "interactive.action.display_text"),
    ("cta_url", "interactive.action.url", "javascript:alert(1)", "content.bad_url", "interactive.action.url"),
    ("cta_url", "interactive.action.url", None, "content.required", "interactive.action.url"),
    ("cta_url", "interactive.footer", {"text": "f" * 61}, "content.too_long", "interactive.footer.text"),
    ("cta_url", "interactive.type", "flow", "content.invalid", "interactive.type"),
    # reaction
    ("reaction", "reaction.emoji", "ok", "content.invalid", "reaction.emoji"),
    ("reaction", "reaction.emoji", "\U0001f44d " * 9, "content.invalid", "reaction.emoji"),
    ("reaction", "reaction.message_id", None, "content.required", "reaction.message_id"),
    # the envelope
    ("text", "type", "poll", "content.invalid", "type"),
    ("text", "image", {"media_id": 1}, "content.unknown_field", "image"),
])
def test_limits_are_refused_with_code_and_field(name: str, path: str, value: Any, code: str, field: str) -> None:
    error = refused(with_change(name, path, value))
    assert (error.code, error.field) == (code, field), error.message
    assert error.status == 422 and error.message


@pytest.mark.parametrize(("name", "path", "value"), [
    ("text", "text.body", "x" * 4096),
    ("image", "image.caption", "c" * 1024),
    ("buttons", "interactive.action.buttons.2.title", "t" * 20),
    ("buttons", "interactive.action.buttons.2.id", "i" * 256),
    ("list", "interactive.action.sections.0.title", "s" * 24),
    ("list", "interactive.action.sections.1.rows.1.description", "d" * 72),
    ("list", "interactive.action.sections.1.rows.0.id", "i" * 200),
    ("list", "interactive.action.sections.1.rows", [{"id": f"r{i}", "title": "x"} for i in range(9)]),
    ("cta_url", "interactive.action.display_text", "d" * 20),
    ("cta_url", "interactive.header", {"type": "text", "text": "h" * 60}),
    ("location", "location.latitude", -90),
    ("location", "location.longitude", 180),
    ("contacts", "contacts", [{"name": {"formatted_name": f"C{i}"}} for i in range(5)]),
    ("reaction", "reaction.emoji", ""),  # removes the reaction
    ("reaction", "reaction.emoji", "\U0001f468\u200d\U0001f469\u200d\U0001f467"),  # a family is one emoji
])
def test_values_at_the_limit_are_accepted(name: str, path: str, value: Any) -> None:
    parse_content(with_change(name, path, value))


def test_a_single_list_section_may_go_without_a_title() -> None:
    data = copy.deepcopy(VALID["list"])
    data["interactive"]["action"]["sections"] = [{"rows": [{"id": "a", "title": "A"}]}]
    parse_content(data)


def test_body_shape_errors_name_the_field() -> None:
    assert refused([]).code == "content.invalid"  # type: ignore[arg-type]
    assert refused({"type": "text"}).field == "text"
    assert refused({"type": "text", "text": "hi"}).field == "text"
    assert refused({"type": "text", "text": {"body": "hi", "preview": True}}).field == "text.preview"
    assert refused({"type": "interactive", "interactive": {"type": "button", "body": {"text": "x"}}}).field == \
        "interactive.action"
    assert refused({"type": "contacts", "contacts": {"name": "x"}}).field == "contacts"


def test_validate_checks_content_built_in_python_with_the_same_fields() -> None:
    with pytest.raises(ContentInvalid) as caught:
        validate(Text("x" * 5000))
    assert caught.value.field == "text.body"
    with pytest.raises(ContentInvalid) as caught:
        validate(ReplyButtons("b", (ReplyButton("a", "A"), ReplyButton("b", "B"), ReplyButton("c", "C"),
                                    ReplyButton("d", "D"))))
    assert caught.value.field == "interactive.action.buttons"
    with pytest.raises(ContentInvalid) as caught:
        validate(Media(MediaKind.IMAGE))
    assert (caught.value.code, caught.value.field) == ("content.required", "image")

"""Every message kind as the conversation shows it, with hostile customer content: escaped text, links
only to OpenStreetMap (by numbers) or our own media route, ticks by status, failures with their reason."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from centralino.web.desk.i18n import translator
from centralino.web.desk.pages import ENV
from centralino.web.desk.render import map_link, message_view

EVIL = '<img src=x onerror=alert(1)>"\'&'
ESCAPED = "&lt;img src=x onerror=alert(1)&gt;&#34;&#39;&amp;"
AT = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)


def message(type_: str, content: dict[str, Any], *, direction: str = "in", status: str = "received",
            text: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"id": 7, "direction": direction, "type": type_, "text": text, "content": content, "status": status,
            "sent_at": AT, "forwarded": False, "reactions": [], "media": None, "delivery": None,
            "error_code": None, "error_title": None, "error_details": None, **extra}


def html(row: dict[str, Any], media_url: str | None = None, quoted: dict[str, Any] | None = None) -> str:
    view = message_view(row, media_url, quoted)
    return ENV.get_template("_message.html").render(m=view, t=translator("en"))


def assert_safe(page: str) -> None:
    assert "<img src=x" not in page and "onerror=alert(1)>" not in page


def test_text_keeps_its_line_breaks_and_is_escaped():
    page = html(message("text", {"body": f"one\n{EVIL}"}, text=f"one\n{EVIL}"))
    assert_safe(page)
    assert f"one\n{ESCAPED}" in page and 'class="text"' in page  # white-space: pre-wrap shows the break


@pytest.mark.parametrize(("mime", "tag"), [("image/png", "<img src=\"/api/v1/messages/7/media\""),
                                            ("video/mp4", "<video src=\"/api/v1/messages/7/media\""),
                                            ("audio/ogg", "<audio src=\"/api/v1/messages/7/media\""),
                                            ("application/pdf", "download=")])
def test_media_inline_when_safe_else_a_download(mime, tag):
    row = message("image" if mime.startswith("image") else "document",
                  {"caption": EVIL, "filename": EVIL, "mime_type": mime},
                  media={"state": "stored", "mime_type": mime, "filename": EVIL, "size": 10})
    page = html(row, "/api/v1/messages/7/media")
    assert_safe(page)
    assert tag in page and ESCAPED in page


def test_media_not_downloaded_yet_says_so():
    page = html(message("image", {"caption": "c", "mime_type": "image/jpeg"}))
    assert "Media not downloaded yet" in page and "<img" not in page


def test_location_links_to_openstreetmap_by_numbers_and_never_follows_the_customers_url():
    page = html(message("location", {"latitude": 45.4642, "longitude": 9.19, "name": EVIL, "address": EVIL,
                                     "url": "javascript:alert(1)"}))
    assert_safe(page)
    assert "javascript:" not in page
    assert 'href="https://www.openstreetmap.org/?mlat=45.464200&amp;mlon=9.190000#map=17/45.464200/9.190000"' in page
    assert 'rel="noopener noreferrer nofollow"' in page
    assert map_link(1, 2).startswith("https://www.openstreetmap.org/")


def test_contact_cards():
    page = html(message("contacts", {"contacts": [{"name": {"formatted_name": EVIL},
                                                   "phones": [{"phone": "+39 02 1234"}], "emails": [{"email": EVIL}],
                                                   "org": {"company": EVIL}}]}))
    assert_safe(page)
    assert "Contact card" in page and "+39 02 1234" in page and page.count(ESCAPED) == 3


def test_interactive_offers_and_the_customers_taps():
    offered = html(message("interactive", {"type": "interactive", "interactive": {
        "type": "list", "header": {"type": "text", "text": EVIL}, "body": {"text": "Pick"},
        "footer": {"text": "f"}, "action": {"button": "Slots", "sections": [{"rows": [
            {"id": "a", "title": EVIL, "description": "8-12"}]}]}}}, direction="out", status="sent"))
    assert_safe(offered)
    assert "Slots" in offered and "8-12" in offered and offered.count(ESCAPED) == 2
    buttons = html(message("interactive", {"type": "interactive", "interactive": {
        "type": "button", "body": {"text": "Solved?"},
        "action": {"buttons": [{"id": "y", "title": "Yes"}, {"id": "n", "title": EVIL}]}}}, direction="out",
        status="read"))
    assert 'class="button">Yes<' in buttons and ESCAPED in buttons
    cta = html(message("interactive", {"type": "interactive", "interactive": {
        "type": "cta_url", "body": {"text": "Track"}, "action": {"display_text": "Go", "url": "https://e.x/t"}}},
        direction="out", status="sent"))
    assert "<a " not in cta.split('class="body"')[1].split("</div>")[0]  # shown, not a link to follow
    tap = html(message("interactive", {"interactive_type": "list_reply", "id": "a", "title": EVIL,
                                       "description": "d"}))
    assert ESCAPED in tap and "reply-tap" in tap
    button = html(message("button", {"payload": "p", "text": EVIL}))
    assert ESCAPED in button


def test_replies_quote_the_original_and_reactions_show():
    quoted = message("text", {"body": EVIL}, text=EVIL) | {"id": 3}
    page = html(message("text", {"body": "yes"}, text="yes", reactions=[{"emoji": "\U0001f44d"}]), quoted=quoted)
    assert_safe(page)
    assert 'href="#message-3"' in page and "Reply to" in page and ESCAPED in page and "\U0001f44d" in page


@pytest.mark.parametrize(("status", "glyph", "css"), [
    ("queued", "\U0001f553", "tick-pending"), ("accepted", "\U0001f553", "tick-pending"),
    ("sent", "\u2713", "tick-sent"), ("delivered", "\u2713\u2713", "tick-delivered"),
    ("read", "\u2713\u2713", "tick-read"), ("failed", "!", "tick-failed")])
def test_ticks(status, glyph, css):
    page = html(message("text", {"type": "text", "text": {"body": "hi"}}, direction="out", status=status))
    assert f'class="tick {css}"' in page and f">{glyph}</span>" in page


def test_failed_messages_show_metas_code_and_reason():
    page = html(message("text", {"type": "text", "text": {"body": "hi"}}, direction="out", status="failed",
                        error_code=131047, error_title="Re-engagement message", error_details=EVIL))
    assert_safe(page)
    assert "Not delivered" in page and "131047" in page and "Re-engagement message" in page


@pytest.mark.parametrize(("type_", "content", "expected"), [
    ("system", {"system_type": "user_changed_number", "body": EVIL}, "System message"),
    ("unsupported", {"unsupported_type": "poll"}, "not supported"),
    ("reaction", {"message_id": "wamid.X", "emoji": "\u2764"}, "\u2764"),
    ("order", {"catalog_id": "c", "text": EVIL, "items": []}, "Order"),
    ("sticker", {"mime_type": "image/webp"}, "Media not downloaded yet"),
    ("something_new", {"raw_type": "x"}, "unknown kind"),
])
def test_other_kinds(type_, content, expected):
    page = html(message(type_, content, text=content.get("body") or content.get("text")))
    assert_safe(page)
    assert expected in page


def test_a_note_is_marked_private():
    page = html(message("note", {"body": EVIL}, direction="int", status="unknown", text=EVIL))
    assert_safe(page)
    assert "Private note" in page and "dir-int" in page and "tick" not in page


def test_both_languages_have_every_word_the_templates_use():
    import re
    from pathlib import Path

    from centralino.web.desk.i18n import MESSAGES
    assert MESSAGES["it"].keys() == MESSAGES["en"].keys()
    used = set()
    for template in (Path(ENV.loader.searchpath[0])).glob("*.html"):  # type: ignore[attr-defined]
        used |= set(re.findall(r"""\bt\(\s*["']([a-z_.]+)["']\s*\)""", template.read_text()))
    assert used and used <= MESSAGES["en"].keys()
    for prefix, values in (("status.", ("open", "pending", "snoozed", "resolved")),
                           ("view.", ("mine", "unassigned", "departments", "all")),
                           ("tick.", ("queued", "accepted", "sent", "delivered", "read", "played", "failed"))):
        assert {prefix + v for v in values} <= MESSAGES["en"].keys()

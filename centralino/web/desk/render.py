"""Messages as the desktop shows them: one plain dict per message with what its template needs.

Stored content has two shapes (inbound: the parser's flat dict, outbound: the API request, keyed by type);
everything here is read defensively, since customer content is untrusted and may be partial. Nothing is
marked safe: the templates autoescape every value, and links are built only from numbers (maps) or our own
routes (media).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from centralino.domain.enums import DeliveryStatus

MEDIA_TYPES = {"image", "video", "audio", "document", "sticker"}
INLINE_IMAGES = {"image/jpeg", "image/png", "image/webp", "image/gif"}
INLINE_VIDEOS = {"video/mp4", "video/3gpp"}
INLINE_AUDIO = {"audio/aac", "audio/mp4", "audio/mpeg", "audio/amr", "audio/ogg"}

# status -> (tick glyph, css class)
TICKS = {
    DeliveryStatus.QUEUED.value: ("\U0001f553", "tick-pending"),
    DeliveryStatus.ACCEPTED.value: ("\U0001f553", "tick-pending"),
    DeliveryStatus.SENT.value: ("\u2713", "tick-sent"),
    DeliveryStatus.DELIVERED.value: ("\u2713\u2713", "tick-delivered"),
    DeliveryStatus.READ.value: ("\u2713\u2713", "tick-read"),
    DeliveryStatus.PLAYED.value: ("\u2713\u2713", "tick-read"),
    DeliveryStatus.FAILED.value: ("!", "tick-failed"),
}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _body_of(message: dict[str, Any]) -> dict[str, Any]:
    """The type's own fields: outbound content nests them under the type, inbound does not."""
    content = _dict(message.get("content"))
    nested = content.get(message["type"])
    return nested if isinstance(nested, dict) else content


def map_link(latitude: float, longitude: float) -> str:
    return "https://www.openstreetmap.org/?" + urlencode(
        {"mlat": f"{latitude:.6f}", "mlon": f"{longitude:.6f}"}) + f"#map=17/{latitude:.6f}/{longitude:.6f}"


def _contact_cards(content: dict[str, Any]) -> list[dict[str, Any]]:
    cards = []
    for card in content.get("contacts") or []:
        card = _dict(card)
        name = _dict(card.get("name"))
        cards.append({
            "name": _str(name.get("formatted_name")) or " ".join(
                p for p in (_str(name.get("first_name")), _str(name.get("last_name"))) if p) or "?",
            "phones": [p for p in (_str(_dict(x).get("phone")) for x in card.get("phones") or []) if p],
            "emails": [e for e in (_str(_dict(x).get("email")) for x in card.get("emails") or []) if e],
            "org": _str(_dict(card.get("org")).get("company")),
        })
    return cards


def _interactive(body: dict[str, Any]) -> dict[str, Any]:
    """Outbound: what we offered (header, body, footer, buttons, list rows, link). Inbound: the tap."""
    if "interactive_type" in body:
        return {"reply_title": _str(body.get("title")) or _str(body.get("body")),
                "reply_description": _str(body.get("description")), "reply_kind": _str(body.get("interactive_type"))}
    header = _dict(body.get("header"))
    action = _dict(body.get("action"))
    rows = [{"title": _str(_dict(r).get("title")), "description": _str(_dict(r).get("description"))}
            for s in action.get("sections") or [] for r in _dict(s).get("rows") or []]
    buttons = [_str(_dict(b).get("title")) or _str(_dict(_dict(b).get("reply")).get("title"))
               for b in action.get("buttons") or []]
    return {"header": _str(header.get("text")), "body": _str(_dict(body.get("body")).get("text")),
            "footer": _str(_dict(body.get("footer")).get("text")), "buttons": [b for b in buttons if b],
            "list_button": _str(action.get("button")), "rows": rows,
            "cta_text": _str(action.get("display_text")), "cta_url": _str(action.get("url"))}


def message_view(message: dict[str, Any], media_url: str | None,
                 quoted: dict[str, Any] | None = None) -> dict[str, Any]:
    """`media_url`: our download route when the file is stored; `quoted`: the message it replies to."""
    kind = str(message["type"])
    body = _body_of(message)
    view: dict[str, Any] = {
        "id": int(message["id"]), "direction": message["direction"], "type": kind, "text": message.get("text"),
        "sent_at": message["sent_at"], "status": message["status"], "forwarded": bool(message.get("forwarded")),
        "reactions": [r["emoji"] for r in message.get("reactions") or [] if r.get("emoji")],
        "tick": TICKS.get(str(message["status"])) if message["direction"] == "out" else None,
        "quoted": None, "error": None,
    }
    if quoted is not None:
        view["quoted"] = {"id": int(quoted["id"]), "text": quoted.get("text") or quoted.get("type")}
    if message["status"] == DeliveryStatus.FAILED.value or message.get("error_code"):
        delivery = _dict(message.get("delivery"))
        view["error"] = {"code": message.get("error_code") or delivery.get("last_error_code"),
                         "title": message.get("error_title") or delivery.get("last_error"),
                         "details": message.get("error_details")}
    if kind == "text":
        view["text"] = _str(body.get("body")) or message.get("text")
    elif kind in MEDIA_TYPES:
        media = _dict(message.get("media"))
        mime = _str(media.get("mime_type")) or _str(body.get("mime_type")) or ""
        view["media"] = {
            "url": media_url, "mime": mime, "filename": _str(media.get("filename")) or _str(body.get("filename")),
            "caption": _str(body.get("caption")), "size": media.get("size"),
            "inline": ("image" if mime in INLINE_IMAGES else "video" if mime in INLINE_VIDEOS
                       else "audio" if mime in INLINE_AUDIO else None),
        }
    elif kind == "location":
        lat, lon = _number(body.get("latitude")), _number(body.get("longitude"))
        view["location"] = {"name": _str(body.get("name")), "address": _str(body.get("address")),
                            "latitude": lat, "longitude": lon,
                            "map_url": map_link(lat, lon) if lat is not None and lon is not None else None}
    elif kind == "contacts":
        view["contacts"] = _contact_cards(_dict(message.get("content")))
    elif kind == "interactive":
        view["interactive"] = _interactive(body)
    elif kind == "button":
        # a template's quick-reply button tapped: the same shape as an interactive reply
        view["interactive"] = {"reply_title": _str(body.get("text")) or _str(body.get("payload")),
                               "reply_description": None, "reply_kind": "button"}
    elif kind == "reaction":
        view["reaction"] = _str(body.get("emoji")) or ""
    elif kind == "template":
        language = body.get("language")  # ours: the code; Meta's request shape: {"code": …}
        code = language if isinstance(language, str) else _dict(language).get("code")
        view["template"] = {"name": _str(body.get("name")), "language": _str(code)}
        view["text"] = _str(body.get("preview")) or message.get("text")  # what the customer sees
    elif kind == "system":
        view["text"] = _str(body.get("body")) or message.get("text")
    return view

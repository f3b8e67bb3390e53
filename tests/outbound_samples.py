"""One valid send request per outbound content type (the API's request shape)."""

from __future__ import annotations

from typing import Any

VALID: dict[str, dict[str, Any]] = {
    "text": {"type": "text", "text": {"body": "Ciao!", "preview_url": True}},
    "image": {"type": "image", "image": {"media_id": 3, "caption": "the parcel"}},
    "video": {"type": "video", "video": {"link": "https://cdn.example.com/v.mp4", "caption": "how to"}},
    "audio": {"type": "audio", "audio": {"media_id": 4}},
    "document": {"type": "document", "document": {"media_id": 5, "filename": "invoice.pdf", "caption": "4711"}},
    "sticker": {"type": "sticker", "sticker": {"link": "https://cdn.example.com/s.webp"}},
    "location": {"type": "location", "location": {"latitude": 45.46, "longitude": 9.19, "name": "Duomo",
                                                  "address": "Piazza del Duomo"}},
    "contacts": {"type": "contacts", "contacts": [{"name": {"formatted_name": "Desk"},
                                                   "phones": [{"phone": "+390212345678"}]}]},
    "buttons": {"type": "interactive", "interactive": {
        "type": "button", "header": {"type": "image", "image": {"media_id": 9}}, "body": {"text": "Solved?"},
        "footer": {"text": "Support"},
        "action": {"buttons": [{"id": "y", "title": "Yes"}, {"id": "n", "title": "No"}, {"id": "m", "title": "Maybe"}]}}},
    "list": {"type": "interactive", "interactive": {
        "type": "list", "header": {"type": "text", "text": "Slots"}, "body": {"text": "Pick one"},
        "action": {"button": "Choose", "sections": [
            {"title": "Mon", "rows": [{"id": "m1", "title": "Morning", "description": "8-12"}]},
            {"title": "Tue", "rows": [{"id": "t1", "title": "Morning"}, {"id": "t2", "title": "Evening"}]}]}}},
    "cta_url": {"type": "interactive", "interactive": {
        "type": "cta_url", "header": {"type": "text", "text": "Parcel"}, "body": {"text": "Track it"},
        "action": {"display_text": "Track", "url": "https://example.com/t/1"}}},
    "reaction": {"type": "reaction", "reaction": {"message_id": 42, "emoji": "\U0001f44d"}},
}

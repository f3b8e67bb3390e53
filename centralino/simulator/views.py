"""JSON views of the simulated world for the control API and the phones page."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from centralino.simulator.sending import window_open
from centralino.simulator.state import Customer, MessageRecord

if TYPE_CHECKING:
    from centralino.simulator.app import Simulator

TICKS = {"accepted": "🕓", "sent": "✓", "delivered": "✓✓", "read": "✓✓", "played": "✓✓", "failed": "!"}


def customer_view(sim: Simulator, customer: Customer, phone_number_id: str | None = None) -> dict[str, Any]:
    numbers = [phone_number_id] if phone_number_id else [n.phone_number_id for n in sim.config.numbers]
    last = {}
    for pnid in numbers:
        conversation = sim.state.conversations.get((pnid, customer.wa_id), [])
        if conversation:
            last[pnid] = summary(sim.state.messages[conversation[-1]])
    return {"wa_id": customer.wa_id, "name": customer.name, "reachable": customer.reachable,
            "window_open": {pnid: window_open(sim, pnid, customer.wa_id) for pnid in numbers},
            "last_message": last}


def summary(record: MessageRecord) -> str:
    """One line of text for a message, as a chat list shows it."""
    view = message_view(record)
    return str(view.get("text") or view.get("caption") or f"[{record.type}]")


def message_view(record: MessageRecord) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": record.id, "direction": record.direction, "type": record.type, "timestamp": record.timestamp,
        "status": record.status, "ticks": TICKS.get(record.status, ""),
        "history": [{"status": s, "timestamp": ts} for s, ts in record.history],
        "error": record.error, "context_id": record.context_id, "callback_data": record.callback_data,
    }
    if record.direction == "in":
        view["read_by_business"] = record.read_by_business
        view.update(_content(record.type, record.payload.get(record.type) or {}, record.payload))
    elif record.type == "template" and record.rendered:
        rendered = record.rendered
        view.update(text=rendered["body"], header=rendered["header"], footer=rendered["footer"],
                    template=record.payload["template"]["name"],
                    quick_replies=[b for b in rendered["buttons"] if b["type"] == "QUICK_REPLY"],
                    buttons_shown=[b["text"] for b in rendered["buttons"] if b["type"] != "QUICK_REPLY"])
    elif record.type == "interactive":
        view.update(_interactive(record.payload["interactive"]))
    else:
        view.update(_content(record.type, record.payload.get(record.type) or {}, record.payload))
    return view


def _content(kind: str, body: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    if kind == "text":
        return {"text": body.get("body")}
    if kind in ("image", "video", "audio", "document", "sticker"):
        return {"caption": body.get("caption"), "filename": body.get("filename"),
                "media": {"id": body.get("id"), "link": body.get("link"), "mime_type": body.get("mime_type")}}
    if kind == "location":
        return {"location": body, "text": " ".join(str(body[k]) for k in ("name", "address") if body.get(k))
                or f"📍 {body.get('latitude')}, {body.get('longitude')}"}
    if kind == "contacts":
        cards = item.get("contacts") or []
        names = [str((c.get("name") or {}).get("formatted_name", "")) for c in cards if isinstance(c, dict)]
        return {"text": "👤 " + ", ".join(n for n in names if n)}
    if kind == "reaction":
        return {"reaction": body, "text": body.get("emoji") or "(reaction removed)"}
    if kind == "interactive":
        reply_kind = body.get("type", "")
        reply = body.get(reply_kind) or {}
        return {"text": reply.get("title"), "reply": reply}
    if kind == "button":
        return {"text": body.get("text"), "reply": body}
    return {}


def _interactive(interactive: dict[str, Any]) -> dict[str, Any]:
    action = interactive.get("action") or {}
    header = interactive.get("header") or {}
    view: dict[str, Any] = {"text": (interactive.get("body") or {}).get("text"),
                            "header": header.get("text") if header.get("type") == "text" else None,
                            "footer": (interactive.get("footer") or {}).get("text"),
                            "interactive_type": interactive.get("type")}
    if interactive.get("type") == "button":
        view["buttons"] = [b["reply"] for b in action.get("buttons", [])]
    elif interactive.get("type") == "list":
        view["list_button"] = action.get("button")
        view["rows"] = [{**row, "section": section.get("title")}
                        for section in action.get("sections", []) for row in section.get("rows", [])]
    elif interactive.get("type") == "cta_url":
        view["cta"] = action.get("parameters")
    return view


def conversation_view(sim: Simulator, phone_number_id: str, wa_id: str) -> list[dict[str, Any]]:
    return [message_view(r) for r in sim.state.conversation(phone_number_id, wa_id)]

"""What the agent desktop shows of the virtual agent for one conversation (docs/bot.md "The agent's side"): the
handoff summary card and the open suggestion, read defensively from bot_sessions and bot_turns.

Everything here came from customers or from the bot's reading of them (intent, entities, slots, summary): the
autoescaping templates render it as text, never as markup. The summary is JSON written by the runtime; a
missing or odd field is left out, not an error."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from centralino.domain.bot import SessionState
from centralino.storage import bot as bot_runtime_repo
from centralino.storage import bot_desk as bot_repo

SHORT = 300  # characters of one value shown on a card
STEPS = 20  # what the bot did: at most this many lines


def _text(value: Any) -> str:
    if value is None or isinstance(value, (dict, list)):
        return ""
    text = " ".join(str(value).split())
    return text if len(text) <= SHORT else text[:SHORT - 1] + "…"


def _confidence(value: Any) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return ""
    return f"{round(number * 100)}%" if 0 <= number <= 1 else ""


def _when(value: Any) -> str:
    """An ISO 8601 instant as written (local to the queue, out of hours) down to the minute; "" when not one."""
    try:
        return datetime.fromisoformat(str(value)).strftime("%Y-%m-%d %H:%M") if value else ""
    except ValueError:
        return ""


def _entities(value: Any) -> list[tuple[str, str]]:
    shown = []
    for item in value if isinstance(value, list) else []:
        if isinstance(item, Mapping) and (kind := _text(item.get("kind"))):
            shown.append((kind, _text(item.get("value") if item.get("value") is not None else item.get("text"))))
    return shown


def _slots(value: Any) -> list[tuple[str, str]]:
    if not isinstance(value, Mapping):
        return []
    return [(_text(name), _text(slot)) for name, slot in value.items() if _text(name) and _text(slot)]


def _step(item: Any) -> dict[str, str] | None:
    """One line of what the bot did: a turn of the summary ({text, decision, intent, confidence}: the customer's
    words and what the bot decided) or a plain string."""
    if not isinstance(item, Mapping):
        return {"text": _text(item), "decision": "", "intent": "", "confidence": ""} if _text(item) else None
    step = {"text": _text(item.get("text")), "decision": _text(item.get("decision") or item.get("kind")),
            "intent": _text(item.get("intent")), "confidence": _confidence(item.get("confidence"))}
    return step if step["text"] or step["decision"] else None


def summary_view(session: Mapping[str, Any]) -> dict[str, Any] | None:
    """The handoff summary card (bot_sessions.summary), or for a session with no summary yet what the session
    knows (intent, language, entities); None when there is nothing to show."""
    found = session.get("summary")
    summary: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    steps_of = summary.get("turns") if isinstance(summary.get("turns"), list) else summary.get("steps")
    view = {
        "state": _text(session.get("state")),
        "intent": _text(summary.get("intent") or session.get("intent")),
        "confidence": _confidence(summary.get("confidence")),
        "language": _text(summary.get("language") or session.get("language")),
        "entities": _entities(summary.get("entities") if "entities" in summary else session.get("entities")),
        "slots": _slots(summary.get("slots")),
        "text": _text(summary.get("text") or summary.get("summary")),
        "reason": _text(summary.get("reason")),
        "opens_at": _when(summary.get("opens_at")),
        "steps": [s for s in (_step(i) for i in (steps_of if isinstance(steps_of, list) else [])[-STEPS:]) if s],
    }
    shown = ("intent", "language", "entities", "slots", "text", "steps")
    return view if any(view[k] for k in shown) or view["state"] == SessionState.ACTIVE.value else None


def bot_view(conn: Connection, conversation_id: int) -> dict[str, Any]:
    """What the conversation page shows of the bot: whether it owns the conversation, the summary card and the
    open suggestion (two or three small queries by primary key and index)."""
    session = bot_runtime_repo.session(conn, conversation_id)
    suggestion = bot_repo.open_suggestion(conn, conversation_id)
    return {
        "owned": session is not None and session["state"] == SessionState.ACTIVE.value,
        "summary": summary_view(session) if session is not None else None,
        "suggestion": None if suggestion is None else {
            "turn_id": int(suggestion["id"]), "text": str(suggestion["suggestion"]),
            "intent": _text(suggestion["intent"]), "confidence": _confidence(suggestion["confidence"])},
    }

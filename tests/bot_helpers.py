"""Factories for bot rows (sessions, turns) written directly, as the runtime would leave them, and the events it
emits: the desk's tests (tests/web/test_desk_bot.py, tests/app/test_bot_desk.py, the browser test) do not depend on
the runtime deciding anything. The runtime's own helpers are tests/bot_runtime_helpers.py."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, delete, insert, select

from centralino.app.unit_of_work import unit_of_work
from centralino.events.bus import EventBus
from centralino.storage.tables import messages
from centralino.storage.tables_bot import bot_sessions, bot_turns

HANDOFF_SUMMARY: dict[str, Any] = {
    "reason": "suggested", "intent": "order_status", "confidence": 0.91, "language": "it",
    "entities": [{"kind": "order_number", "value": "4711"}], "slots": {"order_number": "4711"}, "flow": None,
    "turns": [{"decision": "rephrase", "text": "boh", "intent": None, "confidence": 0.3},
              {"decision": "suggested", "text": "dov'è il mio ordine 4711?", "intent": "order_status",
               "confidence": 0.91}],
    "text": "Customer (it): order_status (91%); order_number=4711; handed off: answer suggested to the agent"}


def bot_session(engine: Engine, conversation_id: int, *, state: str = "active", summary: dict[str, Any] | None = None,
                language: str | None = "it", intent: str | None = None,
                entities: list[dict[str, Any]] | None = None) -> None:
    """The conversation's bot session (replaced if it has one)."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(delete(bot_sessions).where(bot_sessions.c.conversation_id == conversation_id))
        conn.execute(insert(bot_sessions).values(
            conversation_id=conversation_id, state=state, language=language, flow_id=None, dialog={}, rephrased=0,
            intent=intent, entities=entities or [], summary=summary if summary is not None else {},
            started_at=now, updated_at=now))


def bot_turn(engine: Engine, conversation_id: int, *, suggestion: str | None = None, decision: str | None = "suggested",
             state: str = "done", message_id: int | None = None, intent: str | None = "order_status",
             confidence: float | None = 0.91) -> int:
    """A bot turn on the conversation's latest customer message (or `message_id`), replacing the runtime's turn
    for that message if it wrote one (a bot-enabled demo); its id."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        if message_id is None:
            message_id = int(conn.execute(select(messages.c.id).where(
                messages.c.conversation_id == conversation_id, messages.c.direction == "in")
                .order_by(messages.c.id.desc()).limit(1)).scalar_one())
        conn.execute(delete(bot_turns).where(bot_turns.c.message_id == message_id))
        return int(conn.execute(insert(bot_turns).values(
            message_id=message_id, conversation_id=conversation_id, state=state, intent=intent,
            confidence=confidence, language="it", entities=[], decision=decision, suggestion=suggestion,
            attempts=1, created_at=now, done_at=now if state == "done" else None).returning(bot_turns.c.id)).scalar_one())


def emit(engine: Engine, bus: EventBus, event_type: str, **payload: Any) -> None:
    """An event as the runtime emits it: stored in a transaction, published after the commit."""
    with unit_of_work(engine, bus) as uow:
        uow.emit(event_type, **payload)

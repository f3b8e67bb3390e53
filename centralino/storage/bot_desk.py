"""What the agent desktop reads of the virtual agent (docs/bot.md "The agent's side") besides its session (the
handoff summary, storage/bot.py) and the inbox's "bot" badge (storage/desk.py inbox_page): the suggestion an agent
may send (the latest turn, when the bot decided `suggested` and nobody answered since).

A suggestion counts as used once it was sent with one click (bot_turns.reply_message_id: the message that
carried it) or once an agent replied in the conversation after the customer's message it answers (the agent
edited it in the composer, or wrote something else)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, select, update

from centralino.domain.bot import Decision
from centralino.storage.tables import messages
from centralino.storage.tables_bot import bot_turns

AGENT_ORIGIN = "agent:%"  # messages.origin of what an agent sent from the desk or with their session
CLOCK_SKEW = timedelta(hours=1)


def latest_turn(conn: Connection, conversation_id: int, *, lock: bool = False) -> dict[str, Any] | None:
    t = bot_turns.c
    stmt = select(bot_turns).where(t.conversation_id == conversation_id).order_by(t.id.desc()).limit(1)
    if lock:
        stmt = stmt.with_for_update()
    row = conn.execute(stmt).mappings().first()
    return dict(row) if row is not None else None


def agent_replied_after(conn: Connection, conversation_id: int, message_id: int) -> bool:
    """Whether an agent sent anything in the conversation after message `message_id` (ids grow with time)."""
    m = messages.c
    sent_at = conn.execute(select(m.sent_at).where(m.id == message_id)).scalar()
    if sent_at is None:
        return False
    # sent_at bounds the scan to the conversation's index range after that message (a reply is queued later; the
    # margin allows for the customer's clock, which stamped their message)
    found = conn.execute(select(m.id).where(m.conversation_id == conversation_id, m.sent_at >= sent_at - CLOCK_SKEW,
                                            m.id > message_id, m.direction == "out",
                                            m.origin.like(AGENT_ORIGIN)).limit(1)).first()
    return found is not None


def open_suggestion(conn: Connection, conversation_id: int, *, lock: bool = False) -> dict[str, Any] | None:
    """The latest turn when it is a suggestion nobody has used yet, else None."""
    turn = latest_turn(conn, conversation_id, lock=lock)
    if (turn is None or turn["decision"] != Decision.SUGGESTED.value or not turn["suggestion"]
            or turn["reply_message_id"] is not None
            or agent_replied_after(conn, conversation_id, int(turn["message_id"]))):
        return None
    return turn


def mark_suggestion_sent(conn: Connection, turn_id: int, message_id: int) -> None:
    conn.execute(update(bot_turns).where(bot_turns.c.id == turn_id).values(reply_message_id=message_id))


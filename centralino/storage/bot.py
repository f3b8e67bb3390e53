"""The bot runtime's queries (tables_bot.py): per-channel settings, sessions, the turns the worker takes with a
lease (SKIP LOCKED on PostgreSQL), what a turn needs to be answered, and learning candidates."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select, update
from sqlalchemy.orm import aliased

from centralino.storage.sql import insert_ignore
from centralino.storage.tables import channels, contact_identities, conversations, messages
from centralino.storage.tables_bot import (
    bot_candidates,
    bot_examples,
    bot_flows,
    bot_intents,
    bot_services,
    bot_sessions,
    bot_settings,
    bot_turns,
)
from centralino.storage.tables_routing import routing_items

t = bot_turns.c
s = bot_sessions.c


# --- settings ----------------------------------------------------------------------------------------------

def enabled_channels(conn: Connection) -> frozenset[int]:
    return frozenset(int(c) for c in conn.execute(select(bot_settings.c.channel_id)
                                                  .where(bot_settings.c.enabled.is_(True))).scalars())


def channel_settings(conn: Connection, channel_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(bot_settings).where(bot_settings.c.channel_id == channel_id)).mappings().first()
    return dict(row) if row else None


def save_settings(conn: Connection, channel_id: int, values: dict[str, Any], now: datetime) -> None:
    if channel_settings(conn, channel_id) is None:
        conn.execute(insert(bot_settings).values(channel_id=channel_id, **{
            "enabled": False, "default_language": "it", "rephrase_limit": 1, "texts": {}, **values,
            "updated_at": now}))
    else:
        conn.execute(update(bot_settings).where(bot_settings.c.channel_id == channel_id)
                     .values(**values, updated_at=now))


# --- sessions ----------------------------------------------------------------------------------------------

def sessions_of(conn: Connection, conversation_ids: list[int]) -> dict[int, Any]:
    if not conversation_ids:
        return {}
    rows = conn.execute(select(s.conversation_id, s.state, s.held_until)
                        .where(s.conversation_id.in_(conversation_ids)))
    return {int(r.conversation_id): r for r in rows}


def owns(conn: Connection, conversation_id: int) -> bool:
    """Whether the bot holds the conversation now (an active session)."""
    return conn.execute(select(s.conversation_id).where(s.conversation_id == conversation_id,
                                                         s.state == "active")).first() is not None


def session(conn: Connection, conversation_id: int, *, lock: bool = False) -> dict[str, Any] | None:
    stmt = select(bot_sessions).where(s.conversation_id == conversation_id)
    row = conn.execute(stmt.with_for_update() if lock else stmt).mappings().first()
    return dict(row) if row else None


def start_sessions(conn: Connection, conversation_ids: list[int], existing: set[int], language: dict[int, str],
                   now: datetime, *, held_until: datetime | None = None) -> None:
    """A fresh active session for each conversation (one that had an earlier session starts over); held until
    `held_until` when a closed queue handed it over."""
    fresh: dict[str, Any] = {"state": "active", "flow_id": None, "dialog": {}, "rephrased": 0, "intent": None,
                             "entities": [], "summary": {}, "held_until": held_until, "started_at": now,
                             "updated_at": now}
    new = [{"conversation_id": cid, "language": language.get(cid), **fresh} for cid in conversation_ids
           if cid not in existing]
    if new:
        conn.execute(insert(bot_sessions), new)
    again = [cid for cid in conversation_ids if cid in existing]
    if again:
        conn.execute(update(bot_sessions).where(s.conversation_id.in_(again)).values(**fresh))


def update_session(conn: Connection, conversation_id: int, values: dict[str, Any]) -> None:
    conn.execute(update(bot_sessions).where(s.conversation_id == conversation_id).values(**values))


def end_session(conn: Connection, conversation_id: int, now: datetime) -> bool:
    """An active session ends (a person took the conversation); whether there was one."""
    return conn.execute(update(bot_sessions).where(s.conversation_id == conversation_id, s.state == "active")
                        .values(state="ended", updated_at=now)).rowcount > 0


def any_held(conn: Connection, now: datetime) -> bool:
    """Whether the bot holds some conversation for a closed queue now."""
    return conn.execute(select(s.conversation_id).where(s.state == "active", s.held_until > now)
                        .limit(1)).first() is not None


def holds_ended(conn: Connection, now: datetime, limit: int) -> list[dict[str, Any]]:
    """Active sessions held for a queue that has opened since, locked (another worker skips them)."""
    stmt = (select(bot_sessions).where(s.state == "active", s.held_until <= now)
            .order_by(s.held_until).limit(limit).with_for_update(skip_locked=True))
    return [dict(r) for r in conn.execute(stmt).mappings()]


def untaken_messages(conn: Connection, conversation_id: int, from_message_id: int,
                     skip_types: frozenset[str]) -> list[int]:
    """The customer's messages of the conversation from `from_message_id` on that have no bot turn (those a
    closed queue hands to the bot: the one that found it closed and the rest of its batch)."""
    taken = select(t.id).where(t.message_id == messages.c.id).exists()
    stmt = (select(messages.c.id).where(messages.c.conversation_id == conversation_id,
                                        messages.c.id >= from_message_id, messages.c.direction == "in",
                                        messages.c.type.not_in(sorted(skip_types)), ~taken)
            .order_by(messages.c.id))
    return [int(i) for i in conn.execute(stmt).scalars()]


def latest_inbound(conn: Connection, conversation_id: int) -> int | None:
    return conn.execute(select(func.max(messages.c.id)).where(messages.c.conversation_id == conversation_id,
                                                              messages.c.direction == "in")).scalar()


# --- turns -------------------------------------------------------------------------------------------------

def insert_turns(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(bot_turns), [{"state": "pending", "entities": [], "attempts": 0, **r} for r in rows])


def claim(conn: Connection, holder: str, limit: int, lease: timedelta, now: datetime) -> list[int]:
    """Take up to `limit` pending turns for `lease`: per conversation only its oldest pending turn, so one
    conversation's messages are answered in order and never two at once. A worker that dies lets its lease
    lapse; the turn is taken again."""
    earlier = aliased(bot_turns)
    due = (select(t.id)
           .where(t.state == "pending", or_(t.claimed_until.is_(None), t.claimed_until < now),
                  ~select(earlier.c.id).where(earlier.c.conversation_id == t.conversation_id,
                                              earlier.c.state == "pending", earlier.c.id < t.id).exists())
           .order_by(t.id).limit(limit).with_for_update(skip_locked=True))
    rows = conn.execute(
        update(bot_turns)
        .where(t.id.in_(due.scalar_subquery()), t.state == "pending",
               or_(t.claimed_until.is_(None), t.claimed_until < now))
        .values(claimed_by=holder, claimed_until=now + lease, attempts=t.attempts + 1)
        .returning(t.id)).all()
    return sorted(int(r.id) for r in rows)


def turn_context(conn: Connection, turn_id: int) -> dict[str, Any] | None:
    """A claimed turn with its message, conversation, channel and the customer's WhatsApp number."""
    wa = (select(contact_identities.c.value).where(contact_identities.c.contact_id == conversations.c.contact_id,
                                                   contact_identities.c.kind == "whatsapp")
          .limit(1).scalar_subquery())
    stmt = (select(t.id, t.message_id, t.conversation_id, t.attempts, t.claimed_by, t.state,
                   messages.c.type.label("message_type"), messages.c.text, messages.c.content,
                   messages.c.sent_at, conversations.c.channel_id, conversations.c.contact_id,
                   conversations.c.assignee_user_id, conversations.c.status, channels.c.kind.label("channel_kind"),
                   routing_items.c.id.label("item_id"), wa.label("wa_id"))
            .join(messages, messages.c.id == t.message_id)
            .join(conversations, conversations.c.id == t.conversation_id)
            .join(channels, channels.c.id == conversations.c.channel_id)
            .outerjoin(routing_items, routing_items.c.open_conversation_id == t.conversation_id)
            .where(t.id == turn_id))
    row = conn.execute(stmt).mappings().first()
    return dict(row) if row else None


def finish(conn: Connection, turn_id: int, holder: str, values: dict[str, Any]) -> bool:
    """Record the decision if this worker still holds the turn (its lease may have been taken over); the
    UPDATE locks the row until the caller commits, so no other worker records it too."""
    return conn.execute(update(bot_turns).where(t.id == turn_id, t.state == "pending", t.claimed_by == holder)
                        .values(**values, claimed_until=None)).rowcount > 0


def update_turn(conn: Connection, turn_id: int, values: dict[str, Any]) -> None:
    conn.execute(update(bot_turns).where(t.id == turn_id).values(**values))


def release(conn: Connection, turn_id: int, holder: str, error: str, retry_at: datetime) -> None:
    """A failed attempt: the turn waits until `retry_at` for another try."""
    conn.execute(update(bot_turns).where(t.id == turn_id, t.state == "pending", t.claimed_by == holder)
                 .values(claimed_until=retry_at, error=error[:2000]))


def session_turns(conn: Connection, conversation_id: int, since: datetime, limit: int = 20) -> list[dict[str, Any]]:
    """The session's finished turns, oldest first, with the customer's text: the handoff summary's story."""
    stmt = (select(t.id, t.intent, t.confidence, t.decision, t.message_id, messages.c.text)
            .join(messages, messages.c.id == t.message_id)
            .where(t.conversation_id == conversation_id, t.created_at >= since, t.state == "done")
            .order_by(t.id.desc()).limit(limit))
    return [dict(r) for r in reversed(conn.execute(stmt).mappings().all())]


def pending_counts(conn: Connection) -> dict[str, int]:
    return {str(r.state): int(r.n) for r in conn.execute(select(t.state, func.count().label("n"))
                                                          .group_by(t.state))}


# --- what the business configured --------------------------------------------------------------------------

def intents(conn: Connection) -> list[dict[str, Any]]:
    stmt = (select(bot_intents.c.name, bot_intents.c.automation, bot_intents.c.threshold, bot_intents.c.answers,
                   bot_intents.c.enabled, bot_flows.c.name.label("flow"))
            .outerjoin(bot_flows, and_(bot_flows.c.id == bot_intents.c.flow_id, bot_flows.c.enabled.is_(True))))
    return [dict(r) for r in conn.execute(stmt).mappings()]


def flow(conn: Connection, name: str) -> dict[str, Any] | None:
    row = conn.execute(select(bot_flows).where(bot_flows.c.name == name)).mappings().first()
    return dict(row) if row else None


def service(conn: Connection, name: str) -> dict[str, Any] | None:
    row = conn.execute(select(bot_services).where(bot_services.c.name == name)).mappings().first()
    return dict(row) if row else None


# --- learning candidates -----------------------------------------------------------------------------------

def add_candidate(conn: Connection, values: dict[str, Any]) -> int | None:
    """A message to label (unique per message: the same message is never a candidate twice)."""
    return insert_ignore(conn, bot_candidates, {"state": "pending", **values}, ("message_id",))


def is_example(conn: Connection, text: str) -> bool:
    return conn.execute(select(bot_examples.c.id).where(bot_examples.c.text == text).limit(1)).first() is not None


def first_turn_since(conn: Connection, conversation_id: int, since: datetime) -> dict[str, Any] | None:
    """The first customer message the bot took in the session, with what it predicted."""
    stmt = (select(t.message_id, t.intent, t.confidence, t.language, messages.c.text)
            .join(messages, messages.c.id == t.message_id)
            .where(t.conversation_id == conversation_id, t.created_at >= since)
            .order_by(t.id).limit(1))
    row = conn.execute(stmt).mappings().first()
    return dict(row) if row else None

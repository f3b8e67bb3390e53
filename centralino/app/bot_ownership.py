"""How the bot comes to own a conversation (docs/bot.md, "How the bot owns a conversation"): in-transaction
listeners, installed before routing's, so a customer message on a channel where the bot is enabled and that
nobody owns (no assignee, no queue item) gets an active bot session and a pending turn in the very transaction
that stores the message. A crash after the commit loses nothing: the bot worker finds the pending turn.

Routing leaves conversations with an active session alone (app/routing.py). A person taking the conversation
ends the session; once handed off, the bot stays silent until the conversation is resolved and the customer
writes again (a new session). With the bot disabled everywhere (the default) nothing here writes anything.

Out of hours: a closed queue whose behaviour is `bot` hands its conversation over (conversation.handed_to_bot,
app/service_levels.py). The bot then holds it, queue item and all, until the queue opens (bot_sessions.held_until),
on any channel: the queue's setting is the business's choice for those hours. The runtime (app/bot.py) answers,
tells a customer who wants a person when the team is back, and hands over at the opening.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update

from centralino.app.unit_of_work import UnitOfWork
from centralino.domain.bot import SessionState
from centralino.domain.enums import ConversationStatus
from centralino.events.bus import Event, EventBus
from centralino.storage import bot as repo
from centralino.storage import routing as routing_repo
from centralino.storage.tables import conversations

ACTOR = "bot"  # conversation.assigned events the bot causes carry this actor
ENABLED_TTL_S = 2.0  # another process's "bot enabled" reaches this one within this time
# Messages the bot does not answer: a reaction to an earlier message, provider notices.
NOT_FOR_THE_BOT = frozenset({"reaction", "system", "unsupported", "ephemeral"})
NEVER_OPENS = datetime(2100, 1, 1, tzinfo=UTC)  # held for a queue with no opening ahead (service_levels' key)


def held(session: Any, now: datetime) -> bool:
    """Whether the bot holds the conversation for a closed queue now (a queue item does not make it a person's)."""
    until = session["held_until"] if isinstance(session, dict) else getattr(session, "held_until", None)
    return until is not None and now < until


class BotOwnership:
    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self._enabled: frozenset[int] = frozenset()
        self._enabled_until = 0.0
        self._holding = False  # whether the bot holds some conversation for a closed queue
        self._holding_until = 0.0

    def install(self, bus: EventBus) -> None:
        bus.subscribe_in_transaction_batch("message.received", self.on_received)
        bus.subscribe_in_transaction("conversation.status_changed", self.on_status)
        bus.subscribe_in_transaction("conversation.assigned", self.on_assigned)
        bus.subscribe_in_transaction("conversation.handed_to_bot", self.on_handed_to_bot)

    def forget(self) -> None:
        """Read the enabled channels again on the next message (this process changed them)."""
        self._enabled_until = 0.0

    def holding(self, uow: UnitOfWork) -> bool:
        """Whether some conversation is held out of hours, asked at most every ENABLED_TTL_S (another process's
        hold reaches this one within that time; this one's at once)."""
        now = time.monotonic()
        if now >= self._holding_until:
            self._holding = repo.any_held(uow.conn, self.clock())
            self._holding_until = now + ENABLED_TTL_S
        return self._holding

    def enabled(self, uow: UnitOfWork) -> frozenset[int]:
        now = time.monotonic()
        if now >= self._enabled_until:
            self._enabled = repo.enabled_channels(uow.conn)
            self._enabled_until = now + ENABLED_TTL_S
        return self._enabled

    # --- the customer writes ---------------------------------------------------------------------------------

    def on_received(self, uow: UnitOfWork, events: list[Event]) -> None:
        enabled = self.enabled(uow)
        holding = self.holding(uow)  # held conversations are on any channel
        if not enabled and not holding:
            return
        by_conversation: dict[int, list[Event]] = {}
        for event in events:
            p = event.payload
            if (holding or int(p["channel_id"]) in enabled) and str(p.get("type")) not in NOT_FOR_THE_BOT:
                by_conversation.setdefault(int(p["conversation_id"]), []).append(event)
        if not by_conversation:
            return
        conn, now = uow.conn, self.clock()
        ids = list(by_conversation)
        owners = routing_repo.ownership_many(conn, ids)
        sessions = repo.sessions_of(conn, ids)
        start: list[int] = []
        taken: list[Event] = []
        for cid, evs in by_conversation.items():
            owner = owners.get(cid)
            if owner is None:
                continue
            session = sessions.get(cid)
            if session is not None and session.held_until is not None and session.state == SessionState.ACTIVE:
                if owner.assignee_user_id is not None:  # a person has it (offered at night): the bot lets go
                    repo.end_session(conn, cid, now)
                elif held(session, now):
                    taken.extend(evs)  # the queue is closed: the bot answers, its item waits
                continue  # past the opening: the worker hands it to the queue with a summary (app/bot.py)
            if int(evs[0].payload["channel_id"]) not in enabled:
                continue
            person = owner.assignee_user_id is not None or owner.item_id is not None
            if session is None:
                if person:
                    continue
                start.append(cid)
            elif session.state != SessionState.ACTIVE:
                continue  # handed off or ended: silent until resolved and written to again (on_status)
            elif person:  # someone took it without the take-over action: the bot lets go
                repo.end_session(conn, cid, now)
                continue
            taken.extend(evs)
        if start:
            repo.start_sessions(conn, start, set(sessions), {}, now)
        repo.insert_turns(conn, [{"message_id": int(e.payload["message_id"]),
                                  "conversation_id": int(e.payload["conversation_id"]), "created_at": now}
                                 for e in taken])
        for cid in {int(e.payload["conversation_id"]) for e in taken}:
            uow.emit("bot.turn_queued", conversation_id=cid, new_session=cid in start)

    # --- resolution, reopening, a person taking over ---------------------------------------------------------

    def on_status(self, uow: UnitOfWork, event: Event) -> None:
        p = event.payload
        conversation_id = int(p["conversation_id"])
        if p.get("status") == ConversationStatus.RESOLVED.value:
            self._resolved(uow, conversation_id, str(p.get("actor") or ""))
        elif p.get("previous") == ConversationStatus.RESOLVED.value and p.get("actor") == "customer":
            self._reopened(uow, conversation_id)

    def _resolved(self, uow: UnitOfWork, conversation_id: int, actor: str) -> None:
        conn = uow.conn
        session = repo.session(conn, conversation_id)
        if session is None:
            return
        if session["state"] == SessionState.ACTIVE:
            repo.update_session(conn, conversation_id, {"state": SessionState.ENDED.value, "updated_at": self.clock()})
        if actor in ("customer", "system", ACTOR):
            return
        # continuous learning: what the customer first wrote in a conversation a person saw through
        first = repo.first_turn_since(conn, conversation_id, session["started_at"])
        if first is None or not (first["text"] or "").strip() or repo.is_example(conn, first["text"]):
            return
        repo.add_candidate(conn, {"message_id": first["message_id"], "text": first["text"],
                                  "language": first["language"], "reason": "resolved",
                                  "predicted_intent": first["intent"], "confidence": first["confidence"],
                                  "created_at": self.clock()})

    def _reopened(self, uow: UnitOfWork, conversation_id: int) -> None:
        """The customer wrote to a resolved conversation: with the bot enabled on its channel, a new session
        (the bot answers first, as for a new conversation); routing then leaves it alone."""
        conn = uow.conn
        enabled = self.enabled(uow)
        if not enabled:
            return
        row: Any = conn.execute(select(conversations.c.channel_id, conversations.c.assignee_user_id)
                                .where(conversations.c.id == conversation_id)).first()
        if row is None or int(row.channel_id) not in enabled:
            return
        if routing_repo.live_item(conn, conversation_id) is not None:
            return
        existing = set(repo.sessions_of(conn, [conversation_id]))
        repo.start_sessions(conn, [conversation_id], existing, {}, self.clock())
        if row.assignee_user_id is not None:
            conn.execute(update(conversations).where(conversations.c.id == conversation_id)
                         .values(assignee_user_id=None))
            uow.emit("conversation.assigned", conversation_id=conversation_id, assignee_user_id=None,
                     previous_assignee_user_id=int(row.assignee_user_id), actor=ACTOR)

    def on_assigned(self, uow: UnitOfWork, event: Event) -> None:
        p = event.payload
        if (p.get("assignee_user_id") is None or p.get("actor") == ACTOR
                or not (self.enabled(uow) or self.holding(uow))):
            return
        if repo.end_session(uow.conn, int(p["conversation_id"]), self.clock()):
            uow.emit("bot.session_ended", conversation_id=int(p["conversation_id"]), reason="taken_over",
                     actor=p.get("actor"))

    # --- out of hours: a closed queue hands the conversation over ----------------------------------------------

    def on_handed_to_bot(self, uow: UnitOfWork, event: Event) -> None:
        """The queue is closed and its behaviour is `bot`: the bot holds the conversation until the opening (its
        queue item stays) and answers the message that found the queue closed (and the rest of its batch)."""
        p = event.payload
        conn, now = uow.conn, self.clock()
        conversation_id = int(p["conversation_id"])
        until = datetime.fromisoformat(str(p["until"])) if p.get("until") else NEVER_OPENS
        if until <= now:
            return
        assignee = conn.execute(select(conversations.c.assignee_user_id)
                                .where(conversations.c.id == conversation_id)).scalar()
        if assignee is not None:
            return  # offered to someone who is here after all: theirs
        sessions = repo.sessions_of(conn, [conversation_id])
        current = sessions.get(conversation_id)
        if current is not None and current.state == SessionState.ACTIVE:
            repo.update_session(conn, conversation_id, {"held_until": until, "updated_at": now})
        else:
            repo.start_sessions(conn, [conversation_id], set(sessions), {}, now, held_until=until)
        first = p.get("message_id") or repo.latest_inbound(conn, conversation_id)
        if first is None:
            return
        ids = repo.untaken_messages(conn, conversation_id, int(first), NOT_FOR_THE_BOT)
        repo.insert_turns(conn, [{"message_id": m, "conversation_id": conversation_id, "created_at": now}
                                 for m in ids])
        self._holding, self._holding_until = True, time.monotonic() + ENABLED_TTL_S
        if ids:
            uow.emit("bot.turn_queued", conversation_id=conversation_id, new_session=True,
                     held_until=until.isoformat())

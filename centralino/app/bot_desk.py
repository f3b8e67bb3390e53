"""The agent's side of the virtual agent (docs/bot.md "The agent's side"): sending the bot's suggestion with one
click, and taking a conversation over from the bot.

Both check visibility first (outside the agent's scope a conversation does not exist), write an audit entry
and emit their events in the same transaction as the change. A suggestion is sent through the same use case
as the composer's reply (OutboundService: window, consent, outbox), as the agent (origin agent:<id>).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, update

from centralino.app.outbound import OutboundService
from centralino.app.unit_of_work import UnitOfWork, unit_of_work
from centralino.app.visibility import check_conversation_visible
from centralino.domain.access import Principal, may_assign
from centralino.domain.bot import SessionState
from centralino.domain.outbound import Text
from centralino.errors import Conflict, Forbidden
from centralino.events.bus import EventBus
from centralino.storage import auth as auth_repo
from centralino.storage import bot as bot_runtime_repo
from centralino.storage import bot_desk as bot_repo
from centralino.storage import conversations as conversation_repo
from centralino.storage.tables import conversations


def _utcnow() -> datetime:
    return datetime.now(UTC)


class BotDesk:
    def __init__(self, engine: Engine, bus: EventBus | None, outbound: OutboundService, *,
                 clock: Callable[[], datetime] = _utcnow) -> None:
        self.engine = engine
        self.bus = bus
        self.outbound = outbound
        self.clock = clock

    def _audit(self, uow: UnitOfWork, actor: Principal, action: str, conversation_id: int,
               details: dict[str, Any]) -> None:
        auth_repo.audit(uow.conn, at=self.clock(), actor_user_id=actor.user_id, actor=actor.actor, action=action,
                        target_type="conversation", target_id=conversation_id, details=details)

    # --- the suggestion card: "Send" ------------------------------------------------------------------------

    def check_send_suggestion(self, conn: Connection, principal: Principal, conversation_id: int,
                              turn_id: int) -> dict[str, Any]:
        """The turn whose suggestion may be sent now (its row locked); raises when it is not the open suggestion
        of this conversation any more (already sent, answered otherwise, or the customer wrote again)."""
        check_conversation_visible(conn, principal, conversation_id)
        turn = bot_repo.open_suggestion(conn, conversation_id, lock=True)
        if turn is None or int(turn["id"]) != turn_id:
            raise Conflict("this suggestion is no longer open: it was sent or answered, or the customer wrote again",
                           field="turn_id", code="bot.suggestion_gone")
        return turn

    def do_send_suggestion(self, principal: Principal, conversation_id: int, turn_id: int) -> int:
        """Send the bot's suggested answer as the agent; the queued message's id. The turn remembers the message
        that carried it (bot_turns.reply_message_id), so the card goes and a second click is refused."""
        with unit_of_work(self.engine, self.bus) as uow:
            turn = self.check_send_suggestion(uow.conn, principal, conversation_id, turn_id)
            message_id = self.outbound.do_send_within(uow, conversation_id, Text(body=str(turn["suggestion"])),
                                                      origin=principal.origin)
            bot_repo.mark_suggestion_sent(uow.conn, turn_id, message_id)
            self._audit(uow, principal, "bot.suggestion_sent", conversation_id,
                        {"turn_id": turn_id, "message_id": message_id, "intent": turn["intent"]})
            uow.emit("bot.suggestion_sent", conversation_id=conversation_id, turn_id=turn_id, message_id=message_id,
                     intent=turn["intent"], actor=principal.actor)
        return message_id

    # --- "Take over" ----------------------------------------------------------------------------------------

    def check_take_over(self, conn: Connection, principal: Principal, conversation_id: int) -> int | None:
        """Raise unless `principal` may take the conversation from the bot now; its current assignee (rows
        locked: the session, then the conversation)."""
        check_conversation_visible(conn, principal, conversation_id)
        if principal.user_id is None:
            raise Forbidden("only a person takes a conversation over", code="bot.take_over_forbidden")
        session = bot_runtime_repo.session(conn, conversation_id, lock=True)
        if session is None or session["state"] != SessionState.ACTIVE.value:
            raise Conflict("the virtual agent does not own this conversation", field="conversation_id",
                           code="bot.not_active")
        current = conversation_repo.get(conn, conversation_id, lock=True)["assignee_user_id"]
        if not may_assign(principal, principal.user_id, current):
            raise Forbidden("agents may take a conversation for themselves only", code="conversation.assign_forbidden")
        return None if current is None else int(current)

    def do_take_over(self, principal: Principal, conversation_id: int) -> None:
        """End the bot's session (state ended: it never speaks here again until a new session) and assign the
        conversation to the caller, with the usual audit entry and conversation.assigned event."""
        now = self.clock()
        with unit_of_work(self.engine, self.bus) as uow:
            current = self.check_take_over(uow.conn, principal, conversation_id)
            bot_runtime_repo.end_session(uow.conn, conversation_id, now)
            me = principal.user_id
            if current != me:
                uow.conn.execute(update(conversations).where(conversations.c.id == conversation_id)
                                 .values(assignee_user_id=me))
                self._audit(uow, principal, "conversation.assigned", conversation_id,
                            {"from": current, "to": me, "bot_session": SessionState.ENDED.value})
                uow.emit("conversation.assigned", conversation_id=conversation_id, assignee_user_id=me,
                         previous_assignee_user_id=current, actor=principal.actor)
            else:  # already theirs (not the bot's usual state, but possible): the session's end is audited alone
                self._audit(uow, principal, "bot.taken_over", conversation_id,
                            {"bot_session": SessionState.ENDED.value})
            # the runtime's own event for a session a person took (app/bot_ownership.py on_assigned)
            uow.emit("bot.session_ended", conversation_id=conversation_id, reason="taken_over", user_id=me,
                     actor=principal.actor)

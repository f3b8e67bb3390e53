"""The router: new work enters a queue (in-transaction listeners), waiting items go to agents (do_route_once),
and items come back when an offer times out, the agent declines or leaves, and end when the conversation is
resolved or someone assigns it by hand. docs/routing.md.

Ownership is single: a conversation with a live item is owned by the queue (waiting) or by one agent
(offered: not answered yet; assigned: the agent replied). A conversation without a live item is owned by its
assignee, or by nobody (the bot). The router never gives an item to two agents: items are taken with
SELECT … FOR UPDATE SKIP LOCKED and a capacity slot with a conditional UPDATE, in the assignment's transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, bindparam, update
from sqlalchemy.exc import OperationalError

from centralino.app.unit_of_work import UnitOfWork, unit_of_work
from centralino.domain.routing import Decision, WaitingItem, choose
from centralino.domain.routing_rules import QueueSpec, RoutingFacts, queue_spec, rule_matches
from centralino.events.bus import Event, EventBus
from centralino.storage import bot as bot_repo
from centralino.storage import routing as repo
from centralino.storage.tables import conversations
from centralino.storage.tables_routing import routing_items

log = logging.getLogger(__name__)
ACTOR = "routing"  # conversation.assigned events the router causes carry this actor


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _waiting_item(row: Any) -> WaitingItem:
    return WaitingItem(int(row["id"]), int(row["queue_id"]), str(row["channel_kind"]), int(row["priority"]),
                       row["queue_entered_at"],
                       None if row["previous_agent_id"] is None else int(row["previous_agent_id"]),
                       frozenset(int(u) for u in row["excluded_user_ids"] or []))


class RoutingService:
    def __init__(self, engine: Engine, bus: EventBus | None, *, clock: Callable[[], datetime] = _utcnow,
                 batch: int = 500) -> None:
        self.engine = engine
        self.bus = bus
        self.clock = clock
        self.batch = batch

    def install(self) -> None:
        """Subscribe the in-transaction listeners (once per bus)."""
        assert self.bus is not None
        self.bus.subscribe_in_transaction_batch("message.received", self._on_received)
        self.bus.subscribe_in_transaction("conversation.status_changed", self._on_status)
        self.bus.subscribe_in_transaction("conversation.assigned", self._on_assigned)
        self.bus.subscribe_in_transaction("message.queued", self._on_queued)
        self.bus.subscribe_in_transaction("contact.merged", self._on_merged)

    # -- entering a queue ------------------------------------------------------------------------------

    def _on_received(self, uow: UnitOfWork, events: list[Event]) -> None:
        # A new conversation (conversation.opened) is queued here, on its first message in the same
        # transaction, so keyword rules see the text; one opened by an outbound notification waits for the
        # customer to write. The inbound hot path: once per transaction, one query for the whole batch's
        # conversations; most are owned already and cost nothing more.
        first: dict[int, Event] = {}
        for event in events:
            first.setdefault(int(event.payload["conversation_id"]), event)
        owners = repo.ownership_many(uow.conn, list(first))
        waiting = [cid for cid in first if (o := owners.get(cid)) is not None
                   and o.assignee_user_id is None and o.item_id is None and not o.bot]  # the bot's: app/bot*.py
        if not waiting:
            return
        rules = repo.active_rules(uow.conn)
        if not rules:
            return
        for conversation_id in waiting:
            payload = first[conversation_id].payload
            self.enqueue(uow, conversation_id, message_id=int(payload["message_id"]), intent=payload.get("intent"),
                         rules=rules)

    def _on_status(self, uow: UnitOfWork, event: Event) -> None:
        p = event.payload
        conversation_id = int(p["conversation_id"])
        if p.get("status") == "resolved":
            self._close(uow, conversation_id, "completed", "resolved")
        elif (p.get("previous") == "resolved" and p.get("actor") == "customer"
              and not bot_repo.owns(uow.conn, conversation_id)):
            # the customer wrote again after a resolution: back to a queue, preferring the last agent (unless
            # the bot took it a moment ago, app/bot_ownership.py: it hands off to a queue itself if need be)
            self.enqueue(uow, conversation_id, reopened=True, latest_text=True)

    def queue_for(self, conn: Any, conversation_id: int, *, message_id: int | None = None,
                  intent: str | None = None) -> int | None:
        """The queue enqueue would put the conversation in now (None: no rule matches), changing nothing: the
        bot tells a customer it hands over at night when that queue's team is back."""
        chosen = self._choose(conn, conversation_id, message_id=message_id, intent=intent)
        return None if chosen is None else int(chosen[0]["queue_id"])

    def _choose(self, conn: Any, conversation_id: int, *, message_id: int | None = None, intent: str | None = None,
                reopened: bool = False, latest_text: bool = False,
                rules: list[Any] | None = None) -> tuple[Any, Any, RoutingFacts] | None:
        """The first active rule matching the conversation's facts, with its row and the facts."""
        rules = rules if rules is not None else repo.active_rules(conn)
        if not rules:
            return None
        row = repo.facts_row(conn, conversation_id)
        if row is None or (row["assignee_user_id"] is not None and not reopened):
            return None
        attributes = dict(row["attributes"] or {})
        facts = RoutingFacts(
            channel_kind=str(row["kind"]), channel_id=int(row["channel_id"]), language=row["language"],
            tags=repo.tags(conn, int(row["contact_id"])), attributes=attributes,
            intent=intent or (str(attributes["intent"]) if attributes.get("intent") else None),
            text=repo.message_text(conn, message_id) if message_id is not None
            else repo.latest_inbound_text(conn, conversation_id) if latest_text else "")
        rule = next((r for r in rules if rule_matches(r["conditions"], facts)), None)
        return None if rule is None else (rule, row, facts)

    def enqueue(self, uow: UnitOfWork, conversation_id: int, *, message_id: int | None = None,
                intent: str | None = None, reopened: bool = False, latest_text: bool = False,
                rules: list[Any] | None = None) -> int | None:
        """Put the conversation in the queue its rules pick (none matches: it stays unrouted); the item id.
        `rules`: the active rules when the caller read them already."""
        conn = uow.conn
        if repo.live_item(conn, conversation_id) is not None:
            return None
        chosen = self._choose(conn, conversation_id, message_id=message_id, intent=intent, reopened=reopened,
                              latest_text=latest_text, rules=rules)
        if chosen is None:
            return None
        rule, row, facts = chosen
        now = self.clock()
        previous = row["assignee_user_id"]
        priority = rule["priority"] if rule["priority"] is not None else rule["queue_priority"]
        item_id = repo.insert_item(conn, {
            "conversation_id": conversation_id, "open_conversation_id": conversation_id,
            "queue_id": rule["queue_id"], "channel_kind": facts.channel_kind, "contact_id": row["contact_id"],
            "priority": priority, "enqueued_at": now, "queue_entered_at": now, "state": "waiting",
            "owner_kind": "queue", "rule_id": rule["id"], "previous_agent_id": previous,
            "excluded_user_ids": [], "attempts": 0})
        if previous is not None:
            repo.set_assignee(conn, conversation_id, None)
            uow.emit("conversation.assigned", conversation_id=conversation_id, assignee_user_id=None,
                     previous_assignee_user_id=previous, actor=ACTOR)
        uow.emit("routing.item_enqueued", item_id=item_id, conversation_id=conversation_id,
                 queue_id=int(rule["queue_id"]), priority=int(priority), rule_id=int(rule["id"]))
        return item_id

    # -- leaving a queue -------------------------------------------------------------------------------

    def _on_assigned(self, uow: UnitOfWork, event: Event) -> None:
        if event.payload.get("actor") == ACTOR:
            return
        # assigned or transferred by hand: the queue lets go of it
        self._close(uow, int(event.payload["conversation_id"]), "removed", "manual_assignment")

    def _close(self, uow: UnitOfWork, conversation_id: int, state: str, reason: str) -> None:
        item = repo.live_item(uow.conn, conversation_id, lock=True)
        if item is None:
            return
        if item["assigned_to"] is not None:
            repo.release_slot(uow.conn, int(item["assigned_to"]), str(item["channel_kind"]))
        repo.close_live(uow.conn, int(item["id"]), state, reason, self.clock())
        uow.emit("routing.item_closed", item_id=int(item["id"]), conversation_id=conversation_id, state=state,
                 reason=reason, agent_id=item["assigned_to"])

    def _on_merged(self, uow: UnitOfWork, event: Event) -> None:
        # the merge deleted the dropped contact's conversation where the kept one had one on that channel
        for item in repo.orphaned_items(uow.conn, int(event.payload["merged_contact_id"])):
            if item["assigned_to"] is not None:
                repo.release_slot(uow.conn, int(item["assigned_to"]), str(item["channel_kind"]))
            repo.close_live(uow.conn, int(item["id"]), "removed", "contact_merged", self.clock())

    def _on_queued(self, uow: UnitOfWork, event: Event) -> None:
        origin = str(event.payload.get("origin") or "")
        if not origin.startswith("agent:"):
            return
        item = repo.live_item(uow.conn, int(event.payload["conversation_id"]))
        if item is None or item["state"] != "offered" or str(item["assigned_to"]) != origin[6:]:
            return
        # the agent replied: the offer is answered and stays theirs even if they go away
        uow.conn.execute(update(routing_items).where(routing_items.c.id == item["id"], routing_items.c.state ==
                                                     "offered").values(state="assigned", owner_kind="agent",
                                                                       answered_at=self.clock()))
        uow.emit("routing.item_answered", item_id=int(item["id"]), conversation_id=int(item["conversation_id"]),
                 agent_id=int(item["assigned_to"]))

    def requeue(self, uow: UnitOfWork, item: Any, reason: str, *, exclude: bool) -> None:
        """An offered item back to waiting (timeout, decline, the agent left): slot released, conversation
        unassigned (unless someone moved it meanwhile), the agent excluded for this item if `exclude`."""
        agent = int(item["assigned_to"])
        repo.release_slot(uow.conn, agent, str(item["channel_kind"]))
        repo.unassign_if(uow.conn, int(item["conversation_id"]), agent)
        excluded = sorted({*(int(u) for u in item["excluded_user_ids"] or []), *([agent] if exclude else [])})
        uow.conn.execute(update(routing_items).where(routing_items.c.id == item["id"]).values(
            state="waiting", owner_kind="queue", offered_to=None, offered_at=None, offer_expires_at=None,
            assigned_to=None, assigned_at=None, excluded_user_ids=excluded))
        uow.emit("conversation.assigned", conversation_id=int(item["conversation_id"]), assignee_user_id=None,
                 previous_assignee_user_id=agent, actor=ACTOR)
        uow.emit("routing.item_requeued", item_id=int(item["id"]), conversation_id=int(item["conversation_id"]),
                 queue_id=int(item["queue_id"]), reason=reason, agent_id=agent)

    # -- routing -----------------------------------------------------------------------------------------

    def do_route_once(self) -> int:
        """Expire due offers, move overflowing items, then give waiting items to agents; how many were
        assigned. Safe with several routers at once (see the module's docstring)."""
        try:
            self._expire_offers()
            return self._assign_round()
        except OperationalError as exc:  # a deadlock or serialization failure: the next round retries
            log.warning("routing round rolled back: %s", exc.orig)
            return 0

    def _expire_offers(self) -> None:
        now = self.clock()
        with unit_of_work(self.engine, self.bus) as uow:
            for item in repo.expired_offers(uow.conn, now, self.batch):
                self.requeue(uow, item, "offer_timeout", exclude=True)

    def _assign_round(self) -> int:
        now = self.clock()
        with unit_of_work(self.engine, self.bus) as uow:
            rows = repo.waiting(uow.conn, self.batch)
            if not rows:
                return 0
            queues = {q.id: q for q in (queue_spec(r) for r in repo.queues(uow.conn, active_only=False))}
            by_id = {int(r["id"]): r for r in rows}
            result = choose([_waiting_item(r) for r in rows], repo.online_agents(uow.conn), queues, now)
            for item_id in result.overflow:
                self._overflow(uow, by_id[item_id], queues[int(by_id[item_id]["queue_id"])], now)
            decisions = sorted(result.decisions, key=lambda d: (d.agent_id, d.item_id))
            wants = [(d.agent_id, str(by_id[d.item_id]["channel_kind"])) for d in decisions]
            granted = repo.take_slots(uow.conn, wants, now)
            # a decision whose agent was filled meanwhile by another router: the item waits for the next round
            assigned = [d for d, ok in zip(decisions, granted, strict=True) if ok]
            self._assign(uow, [(by_id[d.item_id], d) for d in assigned], queues, now)
            return len(assigned)

    def _overflow(self, uow: UnitOfWork, item: Any, queue: QueueSpec, now: datetime) -> None:
        assert queue.overflow_queue_id is not None
        uow.conn.execute(update(routing_items).where(routing_items.c.id == item["id"])
                         .values(queue_id=queue.overflow_queue_id, queue_entered_at=now))
        uow.emit("routing.item_requeued", item_id=int(item["id"]), conversation_id=int(item["conversation_id"]),
                 queue_id=queue.overflow_queue_id, reason="overflow", from_queue_id=queue.id, agent_id=None)

    def _assign(self, uow: UnitOfWork, given: list[tuple[Any, Decision]], queues: dict[int, QueueSpec],
                now: datetime) -> None:
        """Items offered to their agents (slots already taken): item rows and assignees in two batched UPDATEs."""
        if not given:
            return
        item_rows, owners = [], []
        for item, decision in given:
            queue, req = queues[int(item["queue_id"])], decision.requirement
            item_rows.append({
                "b_id": item["id"], "b_agent": decision.agent_id, "b_now": now, "b_step": req.step,
                "b_expires": now + timedelta(seconds=queue.offer_timeout_s), "b_attempts": int(item["attempts"]) + 1,
                "b_req": {"skills": [{"skill": s.skill, "min_level": s.min_level} for s in req.skills],
                          "department_id": req.department_id}})
            owners.append({"b_conversation": item["conversation_id"], "b_agent": decision.agent_id})
        c = routing_items.c
        uow.conn.execute(update(routing_items).where(c.id == bindparam("b_id")).values(
            state="offered", owner_kind="agent", offered_to=bindparam("b_agent"), offered_at=bindparam("b_now"),
            offer_expires_at=bindparam("b_expires"), assigned_to=bindparam("b_agent"),
            assigned_at=bindparam("b_now"), relaxation_step=bindparam("b_step"), skill_match=True,
            attempts=bindparam("b_attempts"), matched_requirement=bindparam("b_req", type_=c.matched_requirement.type)),
            item_rows)
        uow.conn.execute(update(conversations).where(conversations.c.id == bindparam("b_conversation"))
                         .values(assignee_user_id=bindparam("b_agent")), owners)
        for item, decision in given:
            conversation_id = int(item["conversation_id"])
            uow.emit("conversation.assigned", conversation_id=conversation_id, assignee_user_id=decision.agent_id,
                     previous_assignee_user_id=None, actor=ACTOR)
            uow.emit("routing.item_assigned", item_id=int(item["id"]), conversation_id=conversation_id,
                     queue_id=int(item["queue_id"]), agent_id=decision.agent_id,
                     relaxation_step=decision.requirement.step,
                     waited_s=round((now - item["enqueued_at"]).total_seconds(), 3))

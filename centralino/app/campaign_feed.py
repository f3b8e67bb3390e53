"""Feeding a running campaign to the sender, and ticking its recipients (docs/campaigns.md).

`do_feed` turns a batch of planned recipients into queued template messages with their outbox rows —
the same rows OutboundService._record writes — and moves the recipients to `queued` with their message
id, all in ONE transaction: a crash before the commit leaves them planned, after it they are the
outbox's (which sends each exactly once). Consent is checked per batch in one lookup; the daily tier is
counted over a rolling 24 h per channel.

The in-transaction listeners move a recipient forward with its message's status, and to `replied` when
the customer writes afterwards: they commit with the status or message that caused them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from centralino.app.consent import ConsentService
from centralino.app.unit_of_work import UnitOfWork, unit_of_work
from centralino.domain import template_text
from centralino.domain.campaigns import CampaignStatus, RecipientState, rank, recipient_state_for, tier_room
from centralino.domain.consent import Decision, purpose_of_category
from centralino.domain.enums import DeliveryStatus, Direction
from centralino.domain.sending import OPEN_STATES, OutboxKind, OutboxState
from centralino.events.bus import Event, EventBus
from centralino.storage import campaign_queue as queue_repo
from centralino.storage import campaigns as repo
from centralino.storage.tables import messages, outbox

log = logging.getLogger(__name__)

TIER_WINDOW = timedelta(hours=24)
REPLY_WINDOW = timedelta(days=7)  # a customer's message counts as a reply to a campaign message this recent


@dataclass(frozen=True)
class FeedResult:
    queued: int = 0
    skipped: int = 0
    finished: bool = False  # nothing planned is left: the campaign completed
    waiting: str | None = None  # why nothing could be fed (the daily tier is used up)
    next_slot: datetime | None = None


# --- rendering ------------------------------------------------------------------------------------------------

def template_variables(components: Sequence[Mapping[str, Any]]) -> list[str]:
    """The variables a send must fill: the text header's and the body's, in order."""
    names: list[str] = []
    header = template_text.find(components, "HEADER")
    if header is not None and str(header.get("format") or "TEXT").upper() == "TEXT":
        names += template_text.variables(str(header.get("text") or ""))
    body = template_text.find(components, "BODY") or {}
    names += template_text.variables(str(body.get("text") or ""))
    return template_text.distinct([n.strip() for n in names])


# --- consent --------------------------------------------------------------------------------------------------

def consent_decisions(consent: ConsentService, conn: Connection, contact_ids: list[int], channel_id: int,
                      category: str) -> dict[int, Decision]:
    """The ledger's decision per contact for the template's purpose (app/consent.py, one bulk lookup)."""
    return consent.states_for(conn, contact_ids, channel_id, purpose_of_category(category))


# --- feeding --------------------------------------------------------------------------------------------------

class CampaignFeeder:
    def __init__(self, engine: Engine, bus: EventBus | None, consent: ConsentService) -> None:
        self.engine = engine
        self.bus = bus
        self.consent = consent

    def do_feed(self, campaign_id: int, limit: int, first_slot: datetime, rate: float, now: datetime) -> FeedResult:
        """Queue up to `limit` planned recipients, the n-th due at first_slot + n/rate (the campaign's own
        pace; the sender keeps the number's)."""
        with unit_of_work(self.engine, self.bus) as uow:
            conn = uow.conn
            campaign = repo.get(conn, campaign_id, lock=True)  # one feeder per campaign at a time
            if campaign is None or campaign["status"] != CampaignStatus.RUNNING.value:
                return FeedResult()
            rows = repo.take_planned(conn, campaign_id, limit)
            if not rows:
                if repo.count_in(conn, campaign_id, RecipientState.PLANNED) == 0:
                    repo.update_campaign(conn, campaign_id, {"status": CampaignStatus.COMPLETED.value,
                                                             "finished_at": now, "updated_at": now,
                                                             "waiting_reason": None})
                    uow.emit("campaign.status_changed", campaign_id=campaign_id,
                             status=CampaignStatus.COMPLETED.value, previous=CampaignStatus.RUNNING.value)
                    return FeedResult(finished=True)
                return FeedResult()
            channel_id = int(campaign["channel_id"])
            skipped = 0
            room = tier_room(campaign["daily_tier"], repo.tier_used(conn, channel_id, now - TIER_WINDOW)) \
                if campaign["daily_tier"] != "unlimited" else None
            if room is not None and room < len(rows):
                over, rows = rows[room:], rows[:room]
                why = f"the daily messaging tier ({campaign['daily_tier']} per 24 h) is used up"
                if campaign["on_tier_limit"] == "skip":
                    repo.mark_skipped(conn, [{"rid": x.id, "why": why} for x in over], RecipientState.SKIPPED_TIER,
                                      now)
                    skipped += len(over)
                elif not rows:
                    if campaign["waiting_reason"] != why:
                        repo.update_campaign(conn, campaign_id, {"waiting_reason": why, "updated_at": now})
                    return FeedResult(waiting=why)
            if campaign["waiting_reason"]:
                repo.update_campaign(conn, campaign_id, {"waiting_reason": None, "updated_at": now})
            decisions = consent_decisions(self.consent, conn, [int(x.contact_id) for x in rows], channel_id,
                                          campaign["template_category"]) if rows else {}
            refused = [x for x in rows if not _allowed(decisions.get(int(x.contact_id)))]
            repo.mark_skipped(conn, [{"rid": x.id, "why": _reason(decisions.get(int(x.contact_id)))}
                                     for x in refused], RecipientState.SKIPPED_CONSENT, now)
            skipped += len(refused)
            allowed = [x for x in rows if _allowed(decisions.get(int(x.contact_id)))]
            slot = self._queue(uow, campaign, allowed, first_slot, rate, now)
        return FeedResult(queued=len(allowed), skipped=skipped, next_slot=slot)

    def _queue(self, uow: UnitOfWork, campaign: Mapping[str, Any], rows: list[Any], first_slot: datetime,
               rate: float, now: datetime) -> datetime:
        if not rows:
            return first_slot
        conn = uow.conn
        channel_id = int(campaign["channel_id"])
        conv = queue_repo.conversations_for(conn, channel_id, [int(x.contact_id) for x in rows], now)
        origin = f"campaign:{campaign['id']}"
        # each recipient's message was rendered and frozen at planning (app/campaign_render.py): stored as is
        contents: list[dict[str, Any]] = [x.params for x in rows]
        message_ids = queue_repo.insert_messages(conn, [{
            "conversation_id": conv[int(x.contact_id)], "channel_id": channel_id, "contact_id": x.contact_id,
            "direction": Direction.OUTBOUND.value, "type": "template", "raw_type": "template",
            "text": content["template"].get("preview"), "content": content, "status": DeliveryStatus.QUEUED.value,
            "forwarded": False, "frequently_forwarded": False, "sent_at": now, "created_at": now,
            "origin": origin, "queued_at": now} for x, content in zip(rows, contents, strict=True)])
        step = timedelta(seconds=1.0 / rate)
        queue_repo.insert_outbox(conn, [{
            "kind": OutboxKind.MESSAGE.value, "channel_id": channel_id, "conversation_id": conv[int(x.contact_id)],
            "message_id": mid, "recipient_kind": x.recipient_kind, "recipient": x.recipient,
            "state": OutboxState.QUEUED.value, "attempts": 0, "next_attempt_at": first_slot + step * i,
            "created_at": now} for i, (x, mid) in enumerate(zip(rows, message_ids, strict=True))])
        queue_repo.advance_conversations(conn, list(conv.values()), now)
        queue_repo.mark_queued(conn, [int(x.id) for x in rows], message_ids, now)
        # One event for the batch (it wakes the sender), not a message.queued per message: at 1,000
        # messages a second the per-message events and their listeners cost more than the feeding itself.
        uow.emit("campaign.batch_queued", campaign_id=int(campaign["id"]), channel_id=channel_id, origin=origin,
                 count=len(message_ids), first_message_id=min(message_ids), last_message_id=max(message_ids))
        return first_slot + step * len(rows)


def _allowed(decision: Decision | None) -> bool:
    return decision is not None and decision.allowed


def _reason(decision: Decision | None) -> str:
    return "no consent decision for this contact" if decision is None else str(decision.reason)


def latest_due(conn: Connection, channel_id: int) -> datetime | None:
    """When the last queued row of the channel is due (where a restarted feeder carries on from)."""
    o = outbox.c
    found: datetime | None = conn.execute(select(func.max(o.next_attempt_at)).where(
        o.state == OutboxState.QUEUED.value, o.channel_id == channel_id)).scalar()
    return found


def queued_depth(conn: Connection, channel_id: int) -> int:
    """Rows of the channel the sender has not finished: queued, in flight or waiting to be confirmed. A
    sender that falls behind (a busy machine, a slower number) holds the feeding back with it."""
    o = outbox.c
    return int(conn.execute(select(func.count()).select_from(outbox).where(
        o.state.in_([s.value for s in OPEN_STATES]), o.channel_id == channel_id)).scalar_one())


# --- ticks (in-transaction listeners) -------------------------------------------------------------------------

def on_status_changed(uow: UnitOfWork, events: list[Event]) -> None:
    """Recipients follow their messages' statuses: once per transaction, one UPDATE per new state (forward
    moves in rank order, so a batch lands where one-by-one would), failures one by one with Meta's reason."""
    moves: dict[RecipientState, list[int]] = {}
    failures: list[Event] = []
    for event in events:
        new = recipient_state_for(str(event.payload.get("status")))
        if new is None or (new is RecipientState.SENT and event.payload.get("previous") == "accepted"):
            continue  # Meta's "sent" after our acceptance: the acceptance already moved the recipient to sent
        if new is RecipientState.FAILED:
            failures.append(event)
        else:
            moves.setdefault(new, []).append(int(event.payload["message_id"]))
    at = events[-1].occurred_at
    for new in sorted(moves, key=rank):
        repo.apply_messages_state(uow.conn, moves[new], new, at)
    for event in failures:  # rare: one more lookup for the provider's reason
        message_id = int(event.payload["message_id"])
        title = uow.conn.execute(select(messages.c.error_title).where(messages.c.id == message_id)).scalar()
        repo.apply_message_state(uow.conn, message_id, RecipientState.FAILED, event.occurred_at,
                                 event.payload.get("error_code"), title)


def on_received(uow: UnitOfWork, events: list[Event]) -> None:
    """A customer who writes after a recent campaign message replied: one UPDATE per channel per transaction."""
    by_channel: dict[int, set[int]] = {}
    for event in events:
        p = event.payload
        if p.get("contact_id") is not None and p.get("channel_id") is not None:
            by_channel.setdefault(int(p["channel_id"]), set()).add(int(p["contact_id"]))
    at = events[-1].occurred_at
    for channel_id, contact_ids in by_channel.items():
        repo.mark_replied(uow.conn, sorted(contact_ids), channel_id, at, at - REPLY_WINDOW)


def wire(bus: EventBus) -> None:
    bus.subscribe_in_transaction_batch("message.status_changed", on_status_changed)
    bus.subscribe_in_transaction_batch("message.received", on_received)

"""The timeline's writer: every transaction's shown events become entries in ONE multi-row INSERT.

It runs once per transaction, just before the commit and after every batch listener
(`EventBus.subscribe_before_commit`), with all the events the transaction emitted: the inbound pipeline
applies hundreds of messages per transaction and this must cost one statement there, not one per message.
What an event does not say (a note's contact, a conversation's channel) is looked up once per batch; channel
kinds are cached (a channel's kind never changes). Entries commit or roll back with their cause, so the
story has no holes and no ghosts. Which events and what each entry keeps: domain/timeline.py.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from centralino.app.unit_of_work import UnitOfWork
from centralino.domain.timeline import EVENT_TYPES, Draft, draft_for
from centralino.events.bus import Event, EventBus
from centralino.storage import timeline as repo


class TimelineWriter:
    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self._channel_kinds: dict[int, str] = {}

    def on_commit(self, uow: UnitOfWork, events: list[Event]) -> None:
        shown = [e for e in events if e.type in EVENT_TYPES]
        if not shown:
            return
        drafts = self.drafts(uow, shown)
        if drafts:
            self.write(uow, drafts)

    def drafts(self, uow: UnitOfWork, events: list[Event]) -> list[Draft]:
        drafts: list[Draft] = []
        by_message: dict[int, Draft] = {}
        for event in events:
            if event.type == "notification.queued":
                self._as_notification(by_message, event)
                continue
            if event.type == "campaign.batch_queued":
                drafts += self._campaign(uow, event)
                continue
            draft = draft_for(event.type, event.payload, event.occurred_at)
            if draft is None:
                continue
            drafts.append(draft)
            if draft.kind == "message_out" and draft.message_id is not None:
                by_message[draft.message_id] = draft
        return drafts

    @staticmethod
    def _as_notification(by_message: dict[int, Draft], event: Event) -> None:
        """The notification's message is already a message_out draft (message.queued comes first, in the
        same transaction): it becomes one notification entry rather than two entries for one message."""
        p = event.payload
        draft = by_message.get(int(p["message_id"]))
        if draft is None:
            return
        draft.kind = "notification"
        draft.ref = f"notification:{p['notification_id']}"
        draft.summary = {**draft.summary, "use_case": p.get("use_case"), "template": p.get("template")}

    @staticmethod
    def _campaign(uow: UnitOfWork, event: Event) -> list[Draft]:
        p = event.payload
        campaign_id = int(p["campaign_id"])
        return [Draft("campaign", event.occurred_at, int(m.contact_id), int(m.conversation_id), int(m.id),
                      channel_id=int(m.channel_id), actor=f"campaign:{campaign_id}", ref=f"campaign:{campaign_id}",
                      summary={"type": m.type, "campaign_id": campaign_id})
                for m in repo.campaign_messages(uow.conn, str(p["origin"]), int(p["first_message_id"]),
                                                int(p["last_message_id"]))]

    def write(self, uow: UnitOfWork, drafts: list[Draft]) -> None:
        conn = uow.conn
        need_message = {d.message_id for d in drafts if d.message_id is not None
                        and (d.contact_id is None or d.conversation_id is None)}
        found_messages = repo.message_refs(conn, need_message) if need_message else {}
        for d in drafts:
            row = found_messages.get(d.message_id) if d.message_id is not None else None
            if row is not None:
                d.contact_id = d.contact_id or int(row.contact_id)
                d.conversation_id = d.conversation_id or int(row.conversation_id)
                d.channel_id = d.channel_id or int(row.channel_id)
        need_conversation = {d.conversation_id for d in drafts if d.conversation_id is not None
                             and (d.contact_id is None or d.channel_id is None)}
        found_conversations = repo.conversation_refs(conn, need_conversation) if need_conversation else {}
        for d in drafts:
            conv = found_conversations.get(d.conversation_id) if d.conversation_id is not None else None
            if conv is not None:
                d.contact_id = d.contact_id or int(conv.contact_id)
                d.channel_id = d.channel_id or int(conv.channel_id)
        now = self.clock()
        kinds = self._kinds(conn, {d.channel_id for d in drafts if d.channel_id is not None})
        rows = [_row(d, kinds, now) for d in drafts if d.contact_id is not None or d.case_id is not None]
        if rows:
            repo.insert_entries(conn, rows)

    def _kinds(self, conn: Any, channel_ids: set[int]) -> dict[int, str]:
        missing = channel_ids - self._channel_kinds.keys()
        if missing:
            self._channel_kinds.update(repo.channel_kinds(conn, missing))
        return self._channel_kinds


def _row(d: Draft, kinds: dict[int, str], now: datetime) -> dict[str, Any]:
    return {"contact_id": d.contact_id, "case_id": d.case_id, "conversation_id": d.conversation_id,
            "message_id": d.message_id, "occurred_at": d.occurred_at, "kind": d.kind,
            "channel_kind": kinds.get(d.channel_id) if d.channel_id is not None else None,
            "actor": d.actor, "ref": d.ref, "summary": d.summary, "recorded_at": now}


def install_timeline(bus: EventBus, clock: Callable[[], datetime]) -> TimelineWriter:
    writer = TimelineWriter(clock)
    bus.subscribe_before_commit(writer.on_commit)
    return writer

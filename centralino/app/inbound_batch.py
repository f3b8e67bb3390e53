"""Apply many inbound events in one transaction with set-based statements.

The per-event path (`InboundProcessor.do_apply`) costs a dozen statements and a commit per message;
this path resolves a whole batch of messages and statuses with a handful of statements, so one
worker keeps up with Meta's top rate for a number. It keeps every rule of the per-event path
(dedupe keys, identity merging, monotonic window and status) and is all-or-nothing: if anything
fails — typically another worker creating the same contact at the same moment — the transaction
rolls back and the caller applies the same events one by one, where each race is resolved.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from centralino.app.desk import reopen_for_customer
from centralino.app.inbound import (
    InboundProcessor,
    emit_received,
    media_row,
    message_row,
    sender_identities,
)
from centralino.app.outbox import adopt_from_status
from centralino.app.unit_of_work import StoredMessage, UnitOfWork, unit_of_work
from centralino.domain import window
from centralino.domain.enums import DeliveryStatus
from centralino.domain.inbound import InboundEvent, InboundMessage, StatusUpdate
from centralino.domain.sending import message_id_from_callback
from centralino.storage import bulk, deliveries
from centralino.storage import contacts as contact_repo
from centralino.storage import messages as message_repo
from centralino.storage.channels import Channel
from centralino.storage.tables import (
    contact_identities,
    contacts,
    conversations,
    message_media,
    messages,
    status_history,
)


class ConcurrentChange(Exception):
    """Another worker wrote the same keys meanwhile: apply this batch event by event instead."""


@dataclass(frozen=True)
class Item:
    event: InboundEvent
    delivery_id: int | None


@dataclass
class _Pending:
    channel: Channel
    msg: InboundMessage
    delivery_id: int | None
    contact: int = 0  # a contact id, or a negative placeholder for a contact created in this batch


class BatchApplier:
    def __init__(self, processor: InboundProcessor) -> None:
        self.processor = processor

    def do_apply(self, items: list[Item], processed_delivery_ids: list[int]) -> None:
        """Apply `items` and mark the deliveries they came from processed, in one transaction."""
        with unit_of_work(self.processor.engine, self.processor.bus) as uow:
            self.apply_in(uow, items, processed_delivery_ids)

    def apply_in(self, uow: UnitOfWork, items: list[Item], processed_delivery_ids: list[int]) -> None:
        """do_apply in the caller's transaction (the worker's claim-and-apply round)."""
        now = datetime.now(UTC)
        self._messages(uow, [i for i in items if isinstance(i.event, InboundMessage)], now)
        self._statuses(uow, [i.event for i in items if isinstance(i.event, StatusUpdate)], now)
        for item in items:
            if not isinstance(item.event, (InboundMessage, StatusUpdate)):
                self.processor.apply_in(uow, item.event, item.delivery_id)
        deliveries.mark_processed_many(uow.conn, processed_delivery_ids, now)

    # --- messages -------------------------------------------------------------------------------

    def _messages(self, uow: UnitOfWork, items: list[Item], now: datetime) -> None:
        pending: dict[tuple[int, str], _Pending] = {}
        for item in items:
            assert isinstance(item.event, InboundMessage)
            channel = self.processor.channel(item.event.channel_key)
            if channel is not None:
                key = (channel.id, item.event.external_id)
                pending.setdefault(key, _Pending(channel, item.event, item.delivery_id))
        for key in bulk.existing_messages(uow.conn, set(pending)):
            del pending[key]  # duplicates of stored messages
        todo = list(pending.values())
        if not todo:
            return
        self._resolve_contacts(uow, todo, now)
        conv_ids = self._conversations(uow, todo, now)
        reply_keys = {(p.channel.id, p.msg.context.reply_to_external_id) for p in todo
                      if p.msg.context and p.msg.context.reply_to_external_id}
        replies = bulk.existing_messages(uow.conn, reply_keys)
        rows = []
        for p in todo:
            reply_to = p.msg.context.reply_to_external_id if p.msg.context else None
            rows.append(message_row(p.msg, p.channel.id, p.contact, conv_ids[(p.contact, p.channel.id)],
                                    replies.get((p.channel.id, reply_to)) if reply_to else None, p.delivery_id, now))
        inserted = {(int(r.channel_id), r.external_id): int(r.id) for r in bulk.insert_ignore_many(
            uow.conn, messages, rows, ("channel_id", "external_id"), ("id", "channel_id", "external_id"))}
        if len(inserted) != len(rows):
            raise ConcurrentChange("messages stored meanwhile by another worker")
        by_channel: dict[int, list[str]] = defaultdict(list)
        for channel_id, external_id in inserted:
            by_channel[channel_id].append(external_id)
        for channel_id, external_ids in by_channel.items():
            bulk.link_late_arrivals(uow.conn, channel_id, external_ids)
        bulk.insert_ignore_many(uow.conn, message_media, [
            media_row(p.msg, inserted[(p.channel.id, p.msg.external_id)], p.channel.id, now)
            for p in todo if p.msg.media is not None], ("message_id",), ("id",))
        self._advance(uow, todo, conv_ids)
        reopen_for_customer(uow, [conv_ids[(p.contact, p.channel.id)] for p in todo if p.msg.opens_window])
        for p, row in zip(todo, rows, strict=True):
            uow.stored_messages[inserted[(p.channel.id, p.msg.external_id)]] = StoredMessage(
                row["type"], row["text"], row["content"], row["sent_at"])
        for p in todo:
            emit_received(uow, p.msg, inserted[(p.channel.id, p.msg.external_id)],
                          conv_ids[(p.contact, p.channel.id)], p.contact, p.channel.id)
            self.processor.after_message(uow, p.channel, p.contact, p.msg, now)

    def _resolve_contacts(self, uow: UnitOfWork, todo: list[_Pending], now: datetime) -> None:
        """Give every message its contact: found by any identity, created once per new sender,
        merged when one sender's identities belong to several contacts."""
        keys_of = [sender_identities(p.msg.sender) for p in todo]
        owner = bulk.identity_owners(uow.conn, {k for keys in keys_of for k in keys})
        existing = set(owner)
        placeholders = 0
        for p, keys in zip(todo, keys_of, strict=True):
            found = sorted({owner[k] for k in keys if k in owner})
            if not found:
                placeholders += 1
                found = [-placeholders]
            real = [c for c in found if c > 0]
            keep = real[0] if real else max(found)
            for other in found:
                if other == keep:
                    continue
                if other > 0:
                    contact_repo.merge(uow.conn, keep=keep, drop=other, now=now)
                    uow.emit("contact.merged", contact_id=keep, merged_contact_id=other)
                for k, v in owner.items():
                    if v == other:
                        owner[k] = keep
                for q in todo:
                    if q.contact == other:
                        q.contact = keep
            for k in keys:
                owner.setdefault(k, keep)
            p.contact = keep
        new_ids: dict[int, int] = {}
        used = sorted({p.contact for p in todo if p.contact < 0}, reverse=True)
        if used:
            created = uow.conn.execute(
                contacts.insert().returning(contacts.c.id, sort_by_parameter_order=True),
                [{"created_at": now, "updated_at": now} for _ in used],
            ).scalars().all()
            new_ids = {placeholder: int(cid) for placeholder, cid in zip(used, created, strict=True)}
            for cid in created:
                uow.emit("contact.created", contact_id=int(cid))
        for p in todo:
            p.contact = new_ids.get(p.contact, p.contact)
        new_identities = [{"contact_id": new_ids.get(cid, cid), "kind": k, "value": v, "created_at": now}
                          for (k, v), cid in sorted(owner.items()) if (k, v) not in existing]
        added = bulk.insert_ignore_many(uow.conn, contact_identities, new_identities, ("kind", "value"), ("id",))
        if len(added) != len(new_identities):
            raise ConcurrentChange("an identity was attached to another contact meanwhile")
        newest: dict[int, tuple[datetime, str, str | None]] = {}
        for p in todo:
            name = p.msg.sender.name
            if name and (p.contact not in newest or (p.msg.timestamp, name[:300]) > newest[p.contact][:2]):
                newest[p.contact] = (p.msg.timestamp, name[:300], p.msg.sender.username)
        bulk.update_profiles(uow.conn, [{"cid": cid, "at": at, "name": name, "username": username, "now": now}
                                        for cid, (at, name, username) in newest.items()])

    def _conversations(self, uow: UnitOfWork, todo: list[_Pending], now: datetime) -> dict[tuple[int, int], int]:
        pairs = {(p.contact, p.channel.id) for p in todo}
        found = bulk.conversation_ids(uow.conn, pairs)
        missing = sorted(pairs - set(found))
        opened = bulk.insert_ignore_many(
            uow.conn, conversations,
            [{"contact_id": c, "channel_id": ch, "status": "open", "created_at": now} for c, ch in missing],
            ("contact_id", "channel_id"), ("id", "contact_id", "channel_id"))
        for row in opened:
            found[(int(row.contact_id), int(row.channel_id))] = int(row.id)
            uow.emit("conversation.opened", conversation_id=int(row.id), contact_id=int(row.contact_id),
                     channel_id=int(row.channel_id))
        if len(found) != len(pairs):
            raise ConcurrentChange("a conversation was opened meanwhile by another worker")
        return found

    def _advance(self, uow: UnitOfWork, todo: list[_Pending], conv_ids: dict[tuple[int, int], int]) -> None:
        latest: dict[int, dict[str, Any]] = {}
        for p in todo:
            cid = conv_ids[(p.contact, p.channel.id)]
            row = latest.setdefault(cid, {"cid": cid, "last_message_at": p.msg.timestamp, "last_inbound_at": None,
                                          "window_expires_at": None})
            row["last_message_at"] = max(row["last_message_at"], p.msg.timestamp)
            if p.msg.opens_window:
                inbound = row["last_inbound_at"]
                row["last_inbound_at"] = p.msg.timestamp if inbound is None else max(inbound, p.msg.timestamp)
                row["window_expires_at"] = window.window_expiry(row["last_inbound_at"])
        bulk.advance_conversations(uow.conn, list(latest.values()))

    # --- statuses -------------------------------------------------------------------------------

    def _statuses(self, uow: UnitOfWork, updates: list[InboundEvent], now: datetime) -> None:
        todo: dict[tuple[int, str, str], StatusUpdate] = {}
        for st in updates:
            assert isinstance(st, StatusUpdate)
            channel = self.processor.channel(st.channel_key)
            if channel is not None:
                todo.setdefault((channel.id, st.external_id, st.raw_status), st)
        if not todo:
            return
        # Lock the messages first (in id order, so concurrent batches cannot deadlock) and recompute
        # each one's status from its whole history afterwards.
        targets = bulk.existing_messages(uow.conn, {(c, e) for c, e, _ in todo}, lock=True)
        # Sends of ours whose wamid we have not recorded (yet): the callback data names the message.
        unknown = sorted(((message_id_from_callback(st.callback_data) or 0), c, e, st.callback_data)
                         for (c, e, _), st in todo.items() if (c, e) not in targets and st.callback_data)
        for _, channel_id, external_id, callback in unknown:
            if (channel_id, external_id) not in targets:
                adopted = adopt_from_status(uow, channel_id, external_id, callback, now)
                if adopted is not None:
                    targets[(channel_id, external_id)] = adopted
        rows = []
        for (channel_id, external_id, raw_status), st in todo.items():
            err = st.errors[0] if st.errors else None
            rows.append({
                "channel_id": channel_id, "external_id": external_id, "status": st.status.value,
                "raw_status": raw_status, "occurred_at": st.timestamp, "error_code": err.code if err else None,
                "error_title": err.title if err else None, "error_details": err.details if err else None,
                "pricing": st.pricing, "recipient_id": st.recipient_id or st.recipient_user_id, "raw": st.raw,
                "created_at": now, "message_id": targets.get((channel_id, external_id)),
            })
        added = bulk.insert_ignore_many(uow.conn, status_history, rows, ("channel_id", "external_id", "raw_status"),
                                        ("channel_id", "external_id", "raw_status"))
        touched: dict[int, int] = {}
        for row in added:
            key = (int(row.channel_id), row.external_id)
            if key in targets:
                touched[targets[key]] = key[0]
            else:
                uow.emit("message.status_unmatched", channel_id=key[0], external_id=row.external_id,
                         status=row.raw_status)
        applied = message_repo.apply_statuses_many(uow.conn, touched)
        for message_id, channel_id in sorted(touched.items()):
            before, after, error_code = applied[message_id]
            if before is not after:
                uow.emit("message.status_changed", message_id=message_id, channel_id=channel_id, status=after.value,
                         previous=before.value, error_code=error_code if after is DeliveryStatus.FAILED else None)

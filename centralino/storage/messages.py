"""Messages, their media, reactions and delivery statuses."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Integer, String, and_, bindparam, case, func, or_, select, update

from centralino.domain.enums import DeliveryStatus
from centralino.domain.status import resolve_status
from centralino.storage.batch_rows import row_values
from centralino.storage.sql import insert_ignore
from centralino.storage.tables import message_media, message_reactions, messages, status_history
from centralino.storage.types import Id

m_ = messages.c


def find_id(conn: Connection, channel_id: int, external_id: str) -> int | None:
    m = messages.c
    row = conn.execute(select(m.id).where(m.channel_id == channel_id, m.external_id == external_id)).first()
    return None if row is None else int(row.id)


def insert(conn: Connection, values: dict[str, Any]) -> int | None:
    """The new message's id, or None if (channel, external id) was already stored."""
    new_id = insert_ignore(conn, messages, values, ("channel_id", "external_id"))
    if new_id is not None and values.get("external_id"):
        _link_late_arrivals(conn, new_id, values["channel_id"], values["external_id"])
    return new_id


def _link_late_arrivals(conn: Connection, message_id: int, channel_id: int, external_id: str) -> None:
    """Replies, reactions and statuses that arrived before the message they point at."""
    m = messages.c
    conn.execute(
        update(messages)
        .where(m.channel_id == channel_id, m.reply_to_external_id == external_id, m.reply_to_message_id.is_(None))
        .values(reply_to_message_id=message_id)
    )
    r = message_reactions.c
    conn.execute(
        update(message_reactions)
        .where(r.channel_id == channel_id, r.target_external_id == external_id, r.target_message_id.is_(None))
        .values(target_message_id=message_id)
    )
    s = status_history.c
    conn.execute(
        update(status_history)
        .where(s.channel_id == channel_id, s.external_id == external_id, s.message_id.is_(None))
        .values(message_id=message_id)
    )


def insert_media(conn: Connection, values: dict[str, Any]) -> int | None:
    return insert_ignore(conn, message_media, values, ("message_id",))


def set_reaction(
    conn: Connection, *, channel_id: int, contact_id: int, target_external_id: str, emoji: str,
    reacted_at: datetime, source_external_id: str,
) -> bool:
    """Latest reaction per (target, contact) wins; removal is emoji ''. True if it changed."""
    r = message_reactions.c
    target_id = find_id(conn, channel_id, target_external_id)
    new_id = insert_ignore(
        conn, message_reactions,
        {"channel_id": channel_id, "contact_id": contact_id, "target_external_id": target_external_id,
         "target_message_id": target_id, "emoji": emoji, "reacted_at": reacted_at,
         "source_external_id": source_external_id},
        ("channel_id", "target_external_id", "contact_id"),
    )
    if new_id is not None:
        return True
    result = conn.execute(
        update(message_reactions)
        .where(
            r.channel_id == channel_id, r.target_external_id == target_external_id, r.contact_id == contact_id,
            or_(r.reacted_at < reacted_at, and_(r.reacted_at == reacted_at, r.source_external_id < source_external_id)),
        )
        .values(emoji=emoji, reacted_at=reacted_at, source_external_id=source_external_id)
    )
    return result.rowcount > 0


def record_status(conn: Connection, channel_id: int, values: dict[str, Any]) -> tuple[bool, int | None]:
    """Store one status report. (new?, message id it belongs to, if we know the message)."""
    m = messages.c
    # Lock the message first: concurrent reports for one message are applied one at a time, so the
    # status computed from the history can never be overwritten by a stale computation.
    row = conn.execute(
        select(m.id).where(m.channel_id == channel_id, m.external_id == values["external_id"]).with_for_update()
    ).first()
    message_id = None if row is None else int(row.id)
    new = insert_ignore(
        conn, status_history, {**values, "channel_id": channel_id, "message_id": message_id},
        ("channel_id", "external_id", "raw_status"),
    )
    return new is not None, message_id


def apply_statuses(conn: Connection, message_id: int) -> tuple[DeliveryStatus, DeliveryStatus, int | None]:
    """Recompute a message's status from its whole history. (before, after, failure code if any)."""
    m, s = messages.c, status_history.c
    current = DeliveryStatus(conn.execute(select(m.status).where(m.id == message_id)).scalar_one())
    history = conn.execute(
        select(s.status, s.error_code, s.error_title, s.error_details).where(s.message_id == message_id)
    ).all()
    after = resolve_status((DeliveryStatus(h.status) for h in history), current)
    values: dict[str, Any] = {"status": after.value}
    failure = next((h for h in history if h.status == DeliveryStatus.FAILED.value), None)
    if failure is not None:
        values.update(error_code=failure.error_code, error_title=failure.error_title,
                      error_details=failure.error_details)
    conn.execute(update(messages).where(m.id == message_id).values(values))
    return current, after, failure.error_code if failure is not None else None


def apply_statuses_many(conn: Connection, message_ids: Iterable[int]
                        ) -> dict[int, tuple[DeliveryStatus, DeliveryStatus, int | None]]:
    """`apply_statuses` for many messages in three statements (the inbound pipeline applies a few
    thousand status updates a second at full send rate). Message id → (before, after, failure code)."""
    ids = sorted(set(message_ids))
    if not ids:
        return {}
    m, s = messages.c, status_history.c
    current = {int(r.id): DeliveryStatus(r.status)
               for r in conn.execute(select(m.id, m.status).where(m.id.in_(ids)))}
    history: dict[int, list[Any]] = {}
    for h in conn.execute(select(s.message_id, s.status, s.error_code, s.error_title, s.error_details)
                          .where(s.message_id.in_(ids))):
        history.setdefault(int(h.message_id), []).append(h)
    result: dict[int, tuple[DeliveryStatus, DeliveryStatus, int | None]] = {}
    changes: list[dict[str, Any]] = []
    for mid, before in current.items():
        seen = history.get(mid, [])
        after = resolve_status((DeliveryStatus(h.status) for h in seen), before)
        failure = next((h for h in seen if h.status == DeliveryStatus.FAILED.value), None)
        result[mid] = (before, after, failure.error_code if failure is not None else None)
        if after is not before or failure is not None:
            changes.append({"mid": mid, "st": after.value,
                            "code": failure.error_code if failure is not None else None,
                            "title": failure.error_title if failure is not None else None,
                            "details": failure.error_details if failure is not None else None,
                            "failed": failure is not None})
    plain = [c for c in changes if not c["failed"]]
    failed = [c for c in changes if c["failed"]]
    if plain:
        ref, params = row_values(conn, [{"mid": c["mid"], "st": c["st"]} for c in plain], ("mid", Id),
                                 ("st", String()))
        conn.execute(update(messages).where(m.id == ref["mid"]).values(status=ref["st"]), params)
    if failed:
        ref, params = row_values(conn, [{k: c[k] for k in ("mid", "st", "code", "title", "details")} for c in failed],
                                 ("mid", Id), ("st", String()), ("code", Integer()), ("title", String()),
                                 ("details", String()))
        conn.execute(update(messages).where(m.id == ref["mid"])
                     .values(status=ref["st"], error_code=ref["code"], error_title=ref["title"],
                             error_details=ref["details"]), params)
    return result


def lock(conn: Connection, message_id: int) -> Any:
    """The message row (id, channel, direction, external id, status), locked for this transaction."""
    return conn.execute(
        select(m_.id, m_.channel_id, m_.conversation_id, m_.direction, m_.external_id, m_.status, m_.accepted_at)
        .where(m_.id == message_id).with_for_update()
    ).first()


def adopt_external_id(conn: Connection, message_id: int, channel_id: int, external_id: str, now: datetime) -> None:
    """Give an outbound message the provider's id, and link the statuses that arrived before we knew it."""
    conn.execute(update(messages).where(m_.id == message_id, m_.external_id.is_(None))
                 .values(external_id=external_id, accepted_at=func.coalesce(m_.accepted_at, now)))
    _link_late_arrivals(conn, message_id, channel_id, external_id)


def mark_accepted(conn: Connection, message_id: int, now: datetime) -> None:
    """`accepted` only from `queued`: a status webhook that came first has already moved it further."""
    conn.execute(update(messages).where(m_.id == message_id)
                 .values(accepted_at=func.coalesce(m_.accepted_at, now),
                         status=case((m_.status == DeliveryStatus.QUEUED.value, DeliveryStatus.ACCEPTED.value),
                                     else_=m_.status)))


def mark_failed(conn: Connection, message_id: int, code: int | None, title: str, details: str | None) -> bool:
    """A send refused for good: the message fails with the provider's reason (never over progress)."""
    result = conn.execute(
        update(messages)
        .where(m_.id == message_id, m_.status.in_([DeliveryStatus.QUEUED.value, DeliveryStatus.ACCEPTED.value]))
        .values(status=DeliveryStatus.FAILED.value, error_code=code, error_title=title[:500], error_details=details)
    )
    return result.rowcount > 0



def in_conversation(conn: Connection, message_id: int, conversation_id: int) -> Any:
    """A message of this conversation (None if it is not one of its messages)."""
    return conn.execute(
        select(m_.id, m_.direction, m_.external_id, m_.sent_at, m_.type)
        .where(m_.id == message_id, m_.conversation_id == conversation_id)
    ).first()


def latest_inbound(conn: Connection, conversation_id: int) -> Any:
    return conn.execute(
        select(m_.id, m_.direction, m_.external_id, m_.sent_at, m_.type)
        .where(m_.conversation_id == conversation_id, m_.direction == "in", m_.external_id.is_not(None))
        .order_by(m_.sent_at.desc(), m_.id.desc()).limit(1)
    ).first()


# --- many outbound messages at once (the sender records outcomes in batches) ------------------------------------

def lock_many(conn: Connection, message_ids: list[int]) -> dict[int, Any]:
    """The rows (id, channel, direction, external id, status), locked in id order so concurrent batches queue."""
    if not message_ids:
        return {}
    rows = conn.execute(
        select(m_.id, m_.channel_id, m_.direction, m_.external_id, m_.status)
        .where(m_.id.in_(sorted(set(message_ids)))).order_by(m_.id).with_for_update()
    ).all()
    return {int(r.id): r for r in rows}


def accept_many(conn: Connection, accepted: list[tuple[int, str]], now: datetime) -> None:
    """(message id, provider id): record the id where none is yet, `accepted` from `queued`."""
    if not accepted:
        return
    ref, params = row_values(conn, [{"mid": mid, "xid": xid} for mid, xid in accepted], ("mid", Id),
                             ("xid", String()))
    conn.execute(update(messages).where(m_.id == ref["mid"], m_.external_id.is_(None))
                 .values(external_id=ref["xid"]), params)
    conn.execute(
        update(messages).where(m_.id.in_([mid for mid, _ in accepted]))
        .values(accepted_at=func.coalesce(m_.accepted_at, now),
                status=case((m_.status == DeliveryStatus.QUEUED.value, DeliveryStatus.ACCEPTED.value),
                            else_=m_.status))
    )


def link_statuses(conn: Connection, channel_id: int, external_ids: list[str]) -> set[int]:
    """Attach statuses that arrived before we knew these provider ids; the messages that got some."""
    s = status_history.c
    found = conn.execute(
        select(s.id, m_.id.label("mid")).join(messages, and_(m_.channel_id == s.channel_id,
                                                             m_.external_id == s.external_id))
        .where(s.channel_id == channel_id, s.external_id.in_(external_ids), s.message_id.is_(None))
    ).all()
    if found:
        conn.execute(update(status_history).where(s.id == bindparam("sid")).values(message_id=bindparam("smid")),
                     [{"sid": r.id, "smid": r.mid} for r in found])
    return {int(r.mid) for r in found}

"""Queries for service levels: the conversation's queue, calendars, policies, timers, contacts (episodes)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from centralino.domain.business_hours import BusinessCalendar, calendar_from_dict
from centralino.domain.sla import Policy, TimerKind, parse_escalation
from centralino.storage import bulk
from centralino.storage.tables_routing import routing_items
from centralino.storage.tables_service_levels import (
    csat_surveys,
    out_of_hours_replies,
    queue_hours,
    service_episodes,
    sla_policies,
    sla_timers,
)

_calendars: dict[str, BusinessCalendar] = {}  # parsed calendars by their stored JSON (they are small and few)


# The inbound hot path's two statements are built once and run with bound parameters: building a statement
# per message (and its cache key) cost more than running it.
_ri = routing_items.c
_LIVE_ITEM = select(_ri.id, _ri.queue_id, _ri.priority).where(_ri.open_conversation_id == bindparam("cid"))
_OPEN_EPISODE = {name: make(service_episodes).on_conflict_do_nothing(index_elements=["open_conversation_id"])
                 .returning(service_episodes.c.id) for name, make in (("postgresql", pg_insert),
                                                                      ("sqlite", sqlite_insert))}


_INSERT_TIMER = {name: make(sla_timers).on_conflict_do_nothing(index_elements=["running_key"])
                 .returning(sla_timers.c.id) for name, make in (("postgresql", pg_insert), ("sqlite", sqlite_insert))}
_CURRENT_EPISODE = select(service_episodes).where(service_episodes.c.open_conversation_id == bindparam("cid"))
_RUNNING_TIMERS = select(sla_timers).where(sla_timers.c.conversation_id == bindparam("cid"),
                                           sla_timers.c.state == "running")


def live_item(conn: Connection, conversation_id: int) -> Any | None:
    """The conversation's live queue item (queue, priority), by the unique open_conversation_id."""
    return conn.execute(_LIVE_ITEM, {"cid": conversation_id}).first()


def queue_settings(conn: Connection, queue_id: int) -> Any | None:
    return conn.execute(select(queue_hours).where(queue_hours.c.queue_id == queue_id)).mappings().first()


def calendar_of(row: Any | None) -> BusinessCalendar:
    if row is None:
        return BusinessCalendar.always_open()
    key = repr(sorted(row["calendar"].items()))
    if key not in _calendars:
        if len(_calendars) > 1000:
            _calendars.clear()
        _calendars[key] = calendar_from_dict(dict(row["calendar"]))
    return _calendars[key]


def active_policies(conn: Connection) -> list[Policy]:
    p = sla_policies.c
    rows = conn.execute(select(sla_policies).where(p.active.is_(True))).mappings().all()
    result = []
    for row in rows:
        targets = {kind: timedelta(seconds=int(row[f"{kind.value}_s"])) for kind in TimerKind
                   if row[f"{kind.value}_s"] is not None}
        result.append(Policy(int(row["id"]), row["queue_id"], row["priority"], targets, int(row["warn_percent"]),
                             parse_escalation(list(row["escalation"] or []))))
    return result


def open_episode(conn: Connection, values: dict[str, Any]) -> int | None:
    """Open a contact for the conversation unless one is open: the new id, or None when one was."""
    row = conn.execute(_OPEN_EPISODE[conn.dialect.name], values).first()
    return None if row is None else int(row[0])


def open_episodes(conn: Connection, rows: list[dict[str, Any]]) -> dict[int, int]:
    """open_episode for many conversations in one statement: conversation id → the new contact's id, for
    those that had none open."""
    found = bulk.insert_ignore_many(conn, service_episodes, rows, ["open_conversation_id"],
                                    ["id", "open_conversation_id"])
    return {int(row.open_conversation_id): int(row.id) for row in found}


def current_episode(conn: Connection, conversation_id: int) -> Any | None:
    return conn.execute(_CURRENT_EPISODE, {"cid": conversation_id}).mappings().first()


def update_episode(conn: Connection, episode_id: int, values: dict[str, Any]) -> None:
    conn.execute(update(service_episodes).where(service_episodes.c.id == episode_id).values(**values))


def running_timers(conn: Connection, conversation_id: int) -> list[Any]:
    return list(conn.execute(_RUNNING_TIMERS, {"cid": conversation_id}).mappings().all())


def insert_timer(conn: Connection, values: dict[str, Any]) -> int | None:
    row = conn.execute(_INSERT_TIMER[conn.dialect.name], values).first()
    return None if row is None else int(row[0])


def stop_timer(conn: Connection, timer_id: int, state: str, stopped_at: datetime, business_s: int) -> None:
    conn.execute(update(sla_timers).where(sla_timers.c.id == timer_id).values(
        state=state, stopped_at=stopped_at, business_s=business_s, running_key=None, next_check_at=None))


def due_timers(conn: Connection, now: datetime, limit: int) -> list[Any]:
    t = sla_timers.c
    stmt = select(sla_timers).where(t.next_check_at <= now).order_by(t.next_check_at).limit(limit)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)  # several workers share the timers without overlap
    return list(conn.execute(stmt).mappings().all())


def any_configured(conn: Connection) -> bool:
    """Any active SLA policy or queue calendar at all (the hot path skips everything when not)."""
    policy = conn.execute(select(sla_policies.c.id).where(sla_policies.c.active.is_(True)).limit(1)).first()
    return policy is not None or conn.execute(select(queue_hours.c.queue_id).limit(1)).first() is not None


def drop_episode_started(conn: Connection, conversation_id: int, started_at: datetime) -> None:
    e = service_episodes.c
    conn.execute(delete(service_episodes).where(e.open_conversation_id == conversation_id,
                                                e.started_at == started_at, e.first_response_at.is_(None)))


def move_conversation(conn: Connection, drop: int, keep: int) -> None:
    """A contact merge folds conversation `drop` into `keep` (storage/contacts.py merge): its contacts, timers
    and surveys follow; where `keep` already has an open contact or a running timer of that kind, the
    dropped one's is closed (cancelled) rather than doubled. The out-of-hours period guards are dropped."""
    e, t = service_episodes.c, sla_timers.c
    keep_open = conn.execute(select(e.id).where(e.open_conversation_id == keep)).first()
    conn.execute(update(service_episodes).where(e.open_conversation_id == drop)
                 .values(open_conversation_id=None if keep_open is not None else keep))
    conn.execute(update(service_episodes).where(e.conversation_id == drop).values(conversation_id=keep))
    running = {r.kind for r in conn.execute(select(t.kind).where(t.conversation_id == keep, t.state == "running"))}
    for timer in conn.execute(select(t.id, t.kind).where(t.conversation_id == drop, t.state == "running")).all():
        if timer.kind in running:
            conn.execute(update(sla_timers).where(t.id == timer.id).values(
                state="cancelled", running_key=None, next_check_at=None))
        else:
            conn.execute(update(sla_timers).where(t.id == timer.id).values(running_key=f"{keep}:{timer.kind}"))
    conn.execute(update(sla_timers).where(t.conversation_id == drop).values(conversation_id=keep))
    conn.execute(update(csat_surveys).where(csat_surveys.c.conversation_id == drop).values(conversation_id=keep))
    conn.execute(delete(out_of_hours_replies).where(out_of_hours_replies.c.conversation_id == drop))

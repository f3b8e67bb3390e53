"""Queries for routing (tables_routing.py): the inbound hot path's one lookup, what rules look at, the
waiting items a router takes (SKIP LOCKED on PostgreSQL), the online agents, and the capacity slot."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, case, delete, func, insert, select, update

from centralino.domain.routing import AgentState
from centralino.storage.tables import (
    channels,
    contact_tags,
    contacts,
    conversations,
    department_members,
    messages,
    users,
)
from centralino.storage.tables_bot import bot_sessions
from centralino.storage.tables_routing import (
    agent_capacity,
    agent_presence,
    agent_skills,
    routing_items,
    routing_queues,
    routing_rules,
)

LIVE = ("waiting", "offered", "assigned")
ri = routing_items.c


def ownership_many(conn: Connection, conversation_ids: list[int]) -> dict[int, Any]:
    """Who owns each conversation, in one query (primary key + unique open_conversation_id): conversation id →
    (assignee_user_id, status, item_id, bot: whether the bot holds it, an active bot session)."""
    if not conversation_ids:
        return {}
    bot = and_(bot_sessions.c.conversation_id == conversations.c.id, bot_sessions.c.state == "active")
    stmt = (select(conversations.c.id, conversations.c.assignee_user_id, conversations.c.status,
                   ri.id.label("item_id"), bot_sessions.c.conversation_id.is_not(None).label("bot"))
            .select_from(conversations.outerjoin(routing_items, ri.open_conversation_id == conversations.c.id)
                         .outerjoin(bot_sessions, bot))
            .where(conversations.c.id.in_(conversation_ids)))
    return {int(row.id): row for row in conn.execute(stmt)}


def live_item(conn: Connection, conversation_id: int, *, lock: bool = False) -> Any:
    stmt = select(routing_items).where(ri.open_conversation_id == conversation_id)
    return conn.execute(stmt.with_for_update() if lock else stmt).mappings().first()


def active_rules(conn: Connection) -> list[Any]:
    stmt = (select(routing_rules, routing_queues.c.priority.label("queue_priority"))
            .join(routing_queues, routing_queues.c.id == routing_rules.c.queue_id)
            .where(routing_rules.c.active.is_(True), routing_queues.c.active.is_(True))
            .order_by(routing_rules.c.position, routing_rules.c.id))
    return list(conn.execute(stmt).mappings())


def facts_row(conn: Connection, conversation_id: int) -> Any:
    stmt = (select(conversations.c.contact_id, conversations.c.channel_id, conversations.c.assignee_user_id,
                   channels.c.kind, contacts.c.language, contacts.c.attributes)
            .join(channels, channels.c.id == conversations.c.channel_id)
            .join(contacts, contacts.c.id == conversations.c.contact_id)
            .where(conversations.c.id == conversation_id))
    return conn.execute(stmt).mappings().first()


def tags(conn: Connection, contact_id: int) -> frozenset[str]:
    return frozenset(conn.execute(select(contact_tags.c.tag).where(contact_tags.c.contact_id == contact_id)).scalars())


def message_text(conn: Connection, message_id: int) -> str:
    return str(conn.execute(select(messages.c.text).where(messages.c.id == message_id)).scalar() or "")


def orphaned_items(conn: Connection, contact_id: int) -> list[Any]:
    """Live items of the contact whose conversation no longer exists (a merge deleted it)."""
    exists = select(conversations.c.id).where(conversations.c.id == ri.conversation_id).exists()
    stmt = select(routing_items).where(ri.contact_id == contact_id, ri.state.in_(LIVE), ~exists)
    return list(conn.execute(stmt).mappings())


def latest_inbound_text(conn: Connection, conversation_id: int) -> str:
    stmt = (select(messages.c.text).where(messages.c.conversation_id == conversation_id, messages.c.direction == "in")
            .order_by(messages.c.id.desc()).limit(1))
    return str(conn.execute(stmt).scalar() or "")


def insert_item(conn: Connection, row: dict[str, Any]) -> int:
    return int(conn.execute(insert(routing_items).values(**row).returning(ri.id)).scalar_one())


def waiting(conn: Connection, limit: int) -> list[Any]:
    """Waiting items in service order, locked; rows another router holds are skipped (PostgreSQL)."""
    stmt = (select(routing_items).where(ri.state == "waiting")
            .order_by(ri.priority.desc(), ri.enqueued_at, ri.id).limit(limit)
            .with_for_update(skip_locked=True))
    return list(conn.execute(stmt).mappings())


def expired_offers(conn: Connection, now: datetime, limit: int) -> list[Any]:
    stmt = (select(routing_items).where(ri.state == "offered", ri.offer_expires_at <= now)
            .order_by(ri.offer_expires_at).limit(limit).with_for_update(skip_locked=True))
    return list(conn.execute(stmt).mappings())


def unanswered_of(conn: Connection, user_id: int) -> list[Any]:
    stmt = select(routing_items).where(ri.assigned_to == user_id, ri.state == "offered").with_for_update()
    return list(conn.execute(stmt).mappings())


def queues(conn: Connection, *, active_only: bool = True) -> list[Any]:
    stmt = select(routing_queues).order_by(routing_queues.c.id)
    if active_only:
        stmt = stmt.where(routing_queues.c.active.is_(True))
    return list(conn.execute(stmt).mappings())


def online_agents(conn: Connection) -> list[AgentState]:
    """Online, active users with their skills, departments, capacity and load (joins, not long IN lists)."""
    online = (select(agent_presence.c.user_id).join(users, users.c.id == agent_presence.c.user_id)
              .where(agent_presence.c.state == "online", users.c.active.is_(True)).subquery())
    since = {int(r.user_id): r.since for r in conn.execute(
        select(agent_presence.c.user_id, agent_presence.c.since)
        .join(online, online.c.user_id == agent_presence.c.user_id))}
    if not since:
        return []
    skills: dict[int, dict[str, int]] = defaultdict(dict)
    for r in conn.execute(select(agent_skills).join(online, online.c.user_id == agent_skills.c.user_id)):
        skills[int(r.user_id)][r.skill] = int(r.level)
    departments: dict[int, set[int]] = defaultdict(set)
    for r in conn.execute(select(department_members)
                          .join(online, online.c.user_id == department_members.c.user_id)):
        departments[int(r.user_id)].add(int(r.department_id))
    capacity: dict[int, dict[str, int]] = defaultdict(dict)
    active: dict[int, dict[str, int]] = defaultdict(dict)
    last: dict[int, datetime] = {}
    for r in conn.execute(select(agent_capacity).join(online, online.c.user_id == agent_capacity.c.user_id)):
        uid = int(r.user_id)
        capacity[uid][r.channel_kind] = int(r.max_active)
        active[uid][r.channel_kind] = int(r.active)
        if r.last_assigned_at is not None and (uid not in last or r.last_assigned_at > last[uid]):
            last[uid] = r.last_assigned_at
    return [AgentState(uid, skills[uid], frozenset(departments[uid]), capacity[uid], active[uid],
                       max(at, last[uid]) if uid in last else at)
            for uid, at in since.items()]


def take_slots(conn: Connection, wants: list[tuple[int, str]], now: datetime) -> list[bool]:
    """Capacity slots for a round's decisions, in one go: the agents' capacity rows are locked in user order
    (so concurrent routers cannot deadlock or overfill), each want is granted while the row has room, and the
    counters move with one batched UPDATE. Whether each want was granted."""
    if not wants:
        return []
    c = agent_capacity.c
    ids = sorted({uid for uid, _ in wants})
    free = {(int(r.user_id), r.channel_kind): int(r.max_active) - int(r.active) for r in conn.execute(
        select(c.user_id, c.channel_kind, c.active, c.max_active).where(c.user_id.in_(ids))
        .order_by(c.user_id, c.channel_kind).with_for_update())}
    granted: list[bool] = []
    taken: dict[tuple[int, str], int] = defaultdict(int)
    for want in wants:
        ok = free.get(want, 0) > 0
        if ok:
            free[want] -= 1
            taken[want] += 1
        granted.append(ok)
    if taken:
        conn.execute(update(agent_capacity)
                     .where(c.user_id == bindparam("b_user"), c.channel_kind == bindparam("b_kind"))
                     .values(active=c.active + bindparam("b_n"), last_assigned_at=now),
                     [{"b_user": u, "b_kind": k, "b_n": n} for (u, k), n in taken.items()])
    return granted


def release_slot(conn: Connection, user_id: int, kind: str) -> None:
    c = agent_capacity.c
    conn.execute(update(agent_capacity).where(c.user_id == user_id, c.channel_kind == kind, c.active > 0)
                 .values(active=c.active - 1))


def set_capacity(conn: Connection, user_id: int, limits: dict[str, int]) -> None:
    """Replace the agent's limits, keeping the live counters of kinds that stay."""
    c = agent_capacity.c
    conn.execute(delete(agent_capacity).where(c.user_id == user_id, c.channel_kind.not_in(list(limits)),
                                              c.active == 0))
    conn.execute(update(agent_capacity).where(c.user_id == user_id, c.channel_kind.not_in(list(limits)))
                 .values(max_active=0))
    existing = set(conn.execute(select(c.channel_kind).where(c.user_id == user_id)).scalars())
    for kind, limit in limits.items():
        if kind in existing:
            conn.execute(update(agent_capacity).where(c.user_id == user_id, c.channel_kind == kind)
                         .values(max_active=limit))
        else:
            conn.execute(insert(agent_capacity).values(user_id=user_id, channel_kind=kind, max_active=limit, active=0))


def waiting_counts(conn: Connection) -> dict[int, tuple[int, datetime | None]]:
    """Per queue: items waiting and the oldest enqueued_at."""
    stmt = (select(ri.queue_id, func.count(), func.min(ri.enqueued_at))
            .where(ri.state == "waiting").group_by(ri.queue_id))
    return {int(q): (int(n), oldest) for q, n, oldest in conn.execute(stmt)}


def items(conn: Connection, queue_id: int | None, states: list[str], limit: int) -> list[Any]:
    stmt = select(routing_items).where(ri.state.in_(states))
    if queue_id is not None:
        stmt = stmt.where(ri.queue_id == queue_id)
    order = case((ri.state == "waiting", 0), else_=1)
    return list(conn.execute(stmt.order_by(order, ri.priority.desc(), ri.enqueued_at).limit(limit)).mappings())


def close_live(conn: Connection, item_id: int, state: str, reason: str, now: datetime) -> None:
    conn.execute(update(routing_items).where(ri.id == item_id, ri.state.in_(LIVE))
                 .values(state=state, open_conversation_id=None, owner_kind="none", closed_at=now,
                         close_reason=reason))


def set_assignee(conn: Connection, conversation_id: int, user_id: int | None) -> None:
    conn.execute(update(conversations).where(conversations.c.id == conversation_id).values(assignee_user_id=user_id))


def unassign_if(conn: Connection, conversation_id: int, user_id: int) -> bool:
    """Clear the assignee only if it is still `user_id` (a supervisor may have moved it meanwhile)."""
    stmt = (update(conversations)
            .where(conversations.c.id == conversation_id, conversations.c.assignee_user_id == user_id)
            .values(assignee_user_id=None))
    return conn.execute(stmt).rowcount == 1


def capacity_of(conn: Connection, user_id: int) -> dict[str, tuple[int, int]]:
    """channel kind → (max_active, active)."""
    c = agent_capacity.c
    return {r.channel_kind: (int(r.max_active), int(r.active))
            for r in conn.execute(select(c.channel_kind, c.max_active, c.active).where(c.user_id == user_id))}

"""Live updates for the desktop: a bus listener that fans events out to the connected browsers
(`GET /desk/events`, server-sent events), each receiving only what its user may see.

The bus calls listeners in whatever thread committed (request threads, the workers' loop), so the listener
only hands the event to this process's event loop; one dispatcher task resolves, per batch, which
conversation each event concerns and who may see it (one database connection per batch, never per
client). Nothing is done at all while no browser is connected.

One process: the in-process bus hears what this process commits (the embedded workers included). Several
processes (workers apart, several web processes): the Redis relay (events/relay.py) feeds the others'
events to `hear`. Presence ("Anna is typing…", `desk.presence`) is published on the bus only, never stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Engine

from centralino.domain.access import ConversationScope, Principal, Role, may_see_conversation
from centralino.events.bus import Event, EventBus
from centralino.storage import desk as desk_repo
from centralino.storage.visibility import conversation_scopes
from centralino.web.desk.case_live import CaseAudience, case_items, is_case_event

log = logging.getLogger(__name__)

# The virtual agent's decisions (app/bot.py): each carries its conversation_id, so it costs the batch nothing more
# than that conversation's scope; only a page showing that conversation fetches its bot cards (web/desk/bot_desk.py).
BOT_EVENTS = ("bot.turn_decided", "bot.suggested", "bot.handed_off")
# What the desktop redraws on; everything else (template, provider, user events) is not sent.
FORWARDED = {"conversation.opened", "conversation.assigned", "conversation.status_changed", "message.received",
             "message.queued", "message.status_changed", "message.note_added", "message.reaction_changed",
             "message.media_stored", "message.media_failed", "contact.renamed", "contact.updated",
             "conversation.read", "desk.presence", *BOT_EVENTS}
# A contact's change concerns each of its conversations.
PER_CONTACT = {"contact.updated"}
CLIENT_QUEUE = 1000  # a browser further behind than this is told to reload its view ("resync")
BATCH = 500
# Not about one conversation: every connected desk user hears these (the template manager redraws).
ALL_STAFF = {"template.updated"}
# Routing's flow, for the supervisor's live view only: supervisors' and administrators' browsers hear these
# (an item event still only when they may see its conversation).
SUPERVISORS = {"routing.item_enqueued", "routing.item_assigned", "routing.item_requeued", "routing.item_closed",
               "agent.presence_changed"}


def encode(item: dict[str, Any]) -> bytes:
    """One server-sent event, encoded once per event whatever the number of browsers it goes to."""
    return b"data: " + orjson.dumps(item) + b"\n\n"


RESYNC = encode({"type": "resync"})


def _settle(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


@dataclass(eq=False)  # one per connected browser, kept in a set by identity
class DeskClient:
    """What is waiting for one browser: encoded events, sent as one chunk per wake-up of its stream."""

    principal: Principal
    pending: list[bytes] = field(default_factory=list)
    closed: bool = False
    _waiter: asyncio.Future[None] | None = None
    # Everything but the user id that may_see_conversation looks at: browsers alike share one decision.
    audience: tuple[bool, Role, frozenset[int]] = field(init=False)

    def __post_init__(self) -> None:
        self.audience = (self.principal.is_admin, self.principal.role, self.principal.department_ids)

    def offer(self, item: dict[str, Any]) -> None:
        self.offer_encoded(encode(item))

    def offer_encoded(self, data: bytes) -> None:
        if len(self.pending) >= CLIENT_QUEUE:
            self.pending = [RESYNC]  # drop the backlog: one resync makes the page re-read its state
        else:
            self.pending.append(data)
        if self._waiter is not None:
            _settle(self._waiter)

    def close(self) -> None:
        self.closed = True
        if self._waiter is not None:
            _settle(self._waiter)

    async def wait_ready(self, timeout: float) -> None:
        """Return when something is pending or the client closed, or after `timeout`."""
        if self.pending or self.closed:
            return
        loop = asyncio.get_running_loop()
        self._waiter = waiter = loop.create_future()
        timer = loop.call_later(timeout, _settle, waiter)  # cheaper than wait_for: no task per wait
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None

    async def next_chunk(self, timeout: float) -> bytes | None:
        """Everything pending as one chunk, waiting up to `timeout` for something (then b""); None once closed
        with nothing left to send."""
        await self.wait_ready(timeout)
        if not self.pending:
            return None if self.closed else b""
        chunk, self.pending = b"".join(self.pending), []
        return chunk

    def take_items(self) -> list[dict[str, Any]]:
        """The pending events decoded, without waiting (tests, diagnostics)."""
        chunk, self.pending = b"".join(self.pending), []
        return [orjson.loads(part[len(b"data: "):]) for part in chunk.split(b"\n\n") if part]

    async def next_items(self, timeout: float) -> list[dict[str, Any]]:
        """Wait up to `timeout` for events, then take all that are pending."""
        await self.wait_ready(timeout)
        return self.take_items()


class DeskEventHub:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.clients: set[DeskClient] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._heard: asyncio.Queue[Event] | None = None
        self._task: asyncio.Task[None] | None = None
        self._bus: EventBus | None = None

    def start(self, bus: EventBus) -> None:
        self._loop = asyncio.get_running_loop()
        self._heard = asyncio.Queue()
        self._bus = bus
        bus.subscribe("*", self.hear)
        self._task = asyncio.create_task(self._dispatch(), name="desk-events")

    async def stop(self) -> None:
        if self._bus is not None:
            self._bus.unsubscribe("*", self.hear)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for client in list(self.clients):
            client.close()

    def connect(self, principal: Principal) -> DeskClient:
        client = DeskClient(principal)
        self.clients.add(client)
        return client

    def disconnect(self, client: DeskClient) -> None:
        self.clients.discard(client)

    def hear(self, event: Event) -> None:
        """The bus listener: any thread. Cheap when nobody is connected."""
        if not self.clients or (event.type not in FORWARDED and event.type not in ALL_STAFF
                                and event.type not in SUPERVISORS and not is_case_event(event.type)) \
                or self._loop is None or self._heard is None:
            return
        self._loop.call_soon_threadsafe(self._heard.put_nowait, event)

    async def _dispatch(self) -> None:
        assert self._heard is not None
        while True:
            batch = [await self._heard.get()]
            while not self._heard.empty() and len(batch) < BATCH:
                batch.append(self._heard.get_nowait())
            try:
                resolved = await asyncio.to_thread(self._resolve, batch)
            except Exception:
                log.exception("desk events: could not resolve %d events", len(batch))
                continue
            clients = list(self.clients)
            for item, scope in resolved:
                data = encode(item)
                supervisors_only = item["type"] in SUPERVISORS
                decided: dict[tuple[bool, Role, frozenset[int]], bool] = {}
                for client in clients:
                    principal = client.principal
                    if supervisors_only and principal.role not in (Role.SUPERVISOR, Role.ADMIN):
                        continue
                    if isinstance(scope, CaseAudience):  # a case or task event (case_live.py)
                        if scope.admits(principal):
                            client.offer_encoded(data)
                        continue
                    if scope is not None and not (principal.user_id is not None
                                                  and principal.user_id == scope.assignee_user_id):
                        # not the assignee: the decision is the same for every browser of this audience
                        audience = client.audience
                        seen = decided.get(audience)
                        if seen is None:
                            seen = decided[audience] = may_see_conversation(principal, scope)
                        if not seen:
                            continue
                    client.offer_encoded(data)

    def _resolve(self, batch: list[Event]) -> list[tuple[dict[str, Any], ConversationScope | CaseAudience | None]]:
        """Each event's conversation and that conversation's visibility scope: a few queries per batch on one
        connection, never per event or per client."""
        resolved: list[tuple[dict[str, Any], ConversationScope | CaseAudience | None]] = []
        with self.engine.connect() as conn:
            resolved += case_items(conn, [e for e in batch if is_case_event(e.type)])
            batch = [e for e in batch if not is_case_event(e.type)]
            by_message = desk_repo.conversation_of_messages(conn, [
                int(e.payload["message_id"]) for e in batch
                if "conversation_id" not in e.payload and e.payload.get("message_id") is not None])
            by_contact = desk_repo.conversations_of_contacts(conn, [
                int(e.payload["contact_id"]) for e in batch
                if e.type in PER_CONTACT and e.payload.get("contact_id") is not None])
            targets: list[tuple[Event, int | None]] = []
            for event in batch:
                p = event.payload
                conversation_id = p.get("conversation_id")
                if conversation_id is None and p.get("message_id") is not None:
                    conversation_id = by_message.get(int(p["message_id"]))
                if conversation_id is None and event.type == "message.reaction_changed":
                    conversation_id = desk_repo.conversation_of_contact_on_channel(
                        conn, int(p["contact_id"]), int(p["channel_id"]))
                targets.append((event, None if conversation_id is None else int(conversation_id)))
            scopes = conversation_scopes(conn, [c for _, c in targets if c is not None]
                                         + [c for cs in by_contact.values() for c in cs])
        for event, conversation_id in targets:
            p = event.payload
            if event.type in ALL_STAFF:
                resolved.append(({"type": event.type, "template_id": p.get("id"), "status": p.get("status")}, None))
            elif event.type == "agent.presence_changed":
                resolved.append(({"type": event.type, "user_id": p.get("user_id"), "state": p.get("state")}, None))
            elif event.type in PER_CONTACT and p.get("contact_id") is not None:
                for of_contact in by_contact.get(int(p["contact_id"]), []):
                    if (contact_scope := scopes.get(of_contact)) is not None:
                        resolved.append(({"type": event.type, "conversation_id": of_contact}, contact_scope))
            elif conversation_id is not None and (scope := scopes.get(conversation_id)) is not None:
                resolved.append((self._item(event, conversation_id), scope))
        return resolved

    @staticmethod
    def _item(event: Event, conversation_id: int) -> dict[str, Any]:
        p = event.payload
        item: dict[str, Any] = {"type": event.type, "conversation_id": conversation_id}
        if p.get("message_id") is not None:
            item["message_id"] = int(p["message_id"])
        if event.type == "message.status_changed":
            item["status"] = p.get("status")
        elif event.type == "desk.presence":
            item.update(user_id=p.get("user_id"), name=p.get("name"), state=p.get("state"))
        return item

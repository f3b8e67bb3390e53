"""Service levels inside the transactions that cause them: customer contacts (episodes), SLA timers started
by the customer's messages and stopped by the agents' replies and the resolution, and the out-of-hours
behaviour of a queue (docs/service-levels.md).

Cheap on the inbound hot path: per customer message one INSERT … ON CONFLICT DO NOTHING (the open contact)
and one probe of the conversation's live queue item; conversations outside a queue stop there."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from centralino.app.csat import CsatSurveys
from centralino.app.outbound import OutboundService
from centralino.app.reports import Reports
from centralino.app.service_level_admin import ServiceLevelAdmin
from centralino.app.template_send import TemplateSender
from centralino.app.unit_of_work import UnitOfWork
from centralino.config import Settings
from centralino.domain.business_hours import BusinessCalendar
from centralino.domain.outbound import Text
from centralino.domain.sla import (
    OutOfHours,
    Policy,
    TimerKind,
    TimerState,
    auto_reply_text,
    choose_policy,
    deadlines,
)
from centralino.errors import CentralinoError
from centralino.events.bus import Event, EventBus
from centralino.storage import service_levels as repo
from centralino.storage.tables import contacts, conversations
from centralino.storage.tables_service_levels import out_of_hours_replies

AUTO_REPLY_ORIGIN = "system"
CONFIGURED_TTL_S = 2.0
NEVER_REOPENS = datetime(2100, 1, 1, tzinfo=UTC)  # the period key of a queue that never opens again


def _utcnow() -> datetime:
    return datetime.now(UTC)


class ServiceLevels:
    def __init__(self, outbound: OutboundService, *, report_time_zone: str = "Europe/Rome",
                 default_language: str = "it", clock: Callable[[], datetime] = _utcnow) -> None:
        self.outbound = outbound
        self.report_zone = ZoneInfo(report_time_zone)
        self.default_language = default_language
        self.clock = clock
        self.csat: CsatSurveys | None = None  # the survey after a resolution (settings.csat_enabled)
        self._configured_value = False
        self._configured_until = 0.0
        self._policies: list[Policy] | None = None  # cached with the configuration check
        self._settings: dict[int, Any | None] = {}
        self.admin = ServiceLevelAdmin(outbound.engine, outbound.bus, clock=clock,
                                       on_change=self.forget_configuration)  # hours and policies
        self.reports = Reports(outbound.engine, time_zone=report_time_zone)  # install_service_levels configures

    def subscribe(self, bus: EventBus) -> None:
        # once per transaction (the inbound hot path), after routing's own batch listener has queued the
        # batch's new conversations (services.py wires routing first)
        bus.subscribe_in_transaction_batch("message.received", self.on_received)
        bus.subscribe_in_transaction("message.queued", self.on_queued)
        bus.subscribe_in_transaction("conversation.status_changed", self.on_status_changed)
        bus.subscribe_in_transaction("routing.item_enqueued", self.on_enqueued)

    # --- the customer writes -----------------------------------------------------------------------------

    def on_received(self, uow: UnitOfWork, events: list[Event]) -> None:
        conn, now = uow.conn, self.clock()
        customer: list[Event] = []
        for event in events:
            if self.csat is not None and self.csat.on_received(uow, event):
                # the answer to a survey is not a new contact (routing may have opened one as it queued the
                # reopened conversation a moment ago, in this transaction)
                repo.drop_episode_started(conn, int(event.payload["conversation_id"]), now)
            else:
                customer.append(event)
        if not customer:
            return
        firsts: dict[int, Event] = {}
        for event in customer:
            firsts.setdefault(int(event.payload["conversation_id"]), event)
        opened = repo.open_episodes(conn, [self._episode_row(cid, int(e.payload["channel_id"]), now)
                                           for cid, e in firsts.items()])
        if not self._configured(conn):
            return  # no policy and no business hours anywhere: nothing more to look at
        for event in customer:
            conversation_id = int(event.payload["conversation_id"])
            self._timers_for(uow, conversation_id, opened.pop(conversation_id, None), now,
                             int(event.payload["message_id"]))

    def _timers_for(self, uow: UnitOfWork, conversation_id: int, opened: int | None, now: datetime,
                    message_id: int) -> None:
        """Out-of-hours and SLA timers for a customer's message in a queued conversation."""
        conn = uow.conn
        item = repo.live_item(conn, conversation_id)
        if item is None:
            return  # not in a queue: no business hours, no SLA
        episode = repo.current_episode(conn, conversation_id)
        assert episode is not None
        if episode["queue_id"] is None:
            repo.update_episode(conn, int(episode["id"]), {"queue_id": int(item.queue_id)})
        settings = self._queue_settings(conn, int(item.queue_id))
        calendar = repo.calendar_of(settings)
        if settings is not None and not calendar.is_open(now):
            self._out_of_hours(uow, conversation_id, int(item.queue_id), settings, calendar, now, message_id)
        if self._policies is None:
            self._policies = repo.active_policies(conn)
        policy = choose_policy(self._policies, int(item.queue_id), int(item.priority))
        if policy is None:
            return
        running = {r["kind"] for r in repo.running_timers(conn, conversation_id)}
        starts: list[TimerKind] = []
        if opened is not None or episode["first_response_at"] is None:
            starts += [TimerKind.FIRST_RESPONSE, TimerKind.RESOLUTION]
        else:
            starts.append(TimerKind.NEXT_RESPONSE)
        for kind in starts:
            target = policy.targets.get(kind)
            if target is None or kind.value in running:
                continue
            due = deadlines(calendar, now, target, policy.warn_percent)
            repo.insert_timer(conn, {
                "conversation_id": conversation_id, "episode_id": int(episode["id"]), "policy_id": policy.id,
                "queue_id": int(item.queue_id), "kind": kind.value, "running_key": f"{conversation_id}:{kind.value}",
                "state": TimerState.RUNNING.value, "started_at": now, "warn_at": due.warn_at, "due_at": due.due_at,
                "next_check_at": due.warn_at})

    def on_enqueued(self, uow: UnitOfWork, event: Event) -> None:
        """Routing put the conversation in a queue (before message.received reaches us, in the same
        transaction): the contact belongs to that queue, for the reports."""
        conn, now = uow.conn, self.clock()
        conversation_id = int(event.payload["conversation_id"])
        channel_id = conn.execute(select(conversations.c.channel_id).where(
            conversations.c.id == conversation_id)).scalar_one()
        self._open_episode(conn, conversation_id, int(channel_id), now)
        episode = repo.current_episode(conn, conversation_id)
        if episode is not None and episode["queue_id"] is None:
            repo.update_episode(conn, int(episode["id"]), {"queue_id": int(event.payload["queue_id"])})

    def _open_episode(self, conn: Connection, conversation_id: int, channel_id: int, now: datetime) -> int | None:
        return repo.open_episode(conn, self._episode_row(conversation_id, channel_id, now))

    def _episode_row(self, conversation_id: int, channel_id: int, now: datetime) -> dict[str, Any]:
        return {"conversation_id": conversation_id, "open_conversation_id": conversation_id, "channel_id": channel_id,
                "started_at": now, "local_hour": now.astimezone(self.report_zone).hour}

    def _configured(self, conn: Connection) -> bool:
        """Whether any SLA policy or queue calendar exists, asked at most every CONFIGURED_TTL_S per process
        (a supervisor's first policy reaches other processes within that time; this one's at once)."""
        now = time.monotonic()
        if now >= self._configured_until:
            self._configured_value = repo.any_configured(conn)
            self._configured_until = now + CONFIGURED_TTL_S
            self._policies, self._settings = None, {}  # read again, at most every CONFIGURED_TTL_S
        return self._configured_value

    def _queue_settings(self, conn: Connection, queue_id: int) -> Any | None:
        if queue_id not in self._settings:
            self._settings[queue_id] = repo.queue_settings(conn, queue_id)
        return self._settings[queue_id]

    def forget_configuration(self) -> None:
        self._configured_until = 0.0

    def _out_of_hours(self, uow: UnitOfWork, conversation_id: int, queue_id: int, settings: Any,
                      calendar: BusinessCalendar, now: datetime, message_id: int) -> None:
        """Once per closed period (named by the next opening): the auto-reply, the bot, or nothing."""
        action = OutOfHours(settings["out_of_hours"])
        reopens_at = calendar.next_open(now) or NEVER_REOPENS
        key = {"conversation_id": conversation_id, "reopens_at": reopens_at}
        if insert_ignore_period(uow, {**key, "queue_id": queue_id, "action": action.value, "created_at": now}):
            return  # already handled in this closed period
        if action is OutOfHours.AUTO_REPLY:
            reply_id = self._auto_reply(uow, conversation_id, dict(settings["auto_reply"] or {}), now)
            if reply_id is not None:
                uow.conn.execute(out_of_hours_replies.update().where(
                    out_of_hours_replies.c.conversation_id == conversation_id,
                    out_of_hours_replies.c.reopens_at == reopens_at).values(message_id=reply_id))
        elif action is OutOfHours.BOT:
            # The bot takes the conversation until the opening (app/bot_ownership.py); routing keeps the item.
            uow.emit("conversation.handed_to_bot", conversation_id=conversation_id, queue_id=queue_id,
                     message_id=message_id, reason="out_of_hours",
                     until=None if reopens_at is NEVER_REOPENS else reopens_at.isoformat())

    def _auto_reply(self, uow: UnitOfWork, conversation_id: int, texts: dict[str, str], now: datetime) -> int | None:
        language = uow.conn.execute(select(contacts.c.language).join(
            conversations, conversations.c.contact_id == contacts.c.id).where(
            conversations.c.id == conversation_id)).scalar()
        body = auto_reply_text(texts, language, self.default_language)
        if body is None:
            return None
        try:  # a service reply: the customer just wrote, so the window is open
            return self.outbound.do_send_within(uow, conversation_id, Text(body), origin=AUTO_REPLY_ORIGIN)
        except CentralinoError:
            return None

    # --- an agent answers ----------------------------------------------------------------------------------

    def on_queued(self, uow: UnitOfWork, event: Event) -> None:
        origin = str(event.payload.get("origin") or "")
        if not origin.startswith("agent:"):
            return
        conn, now = uow.conn, self.clock()
        conversation_id = int(event.payload["conversation_id"])
        episode = repo.current_episode(conn, conversation_id)
        if episode is not None and episode["first_response_at"] is None:
            agent = origin.split(":", 1)[1]
            repo.update_episode(conn, int(episode["id"]), {
                "first_response_at": now, "agent_user_id": int(agent) if agent.isdigit() else None,
                "first_response_s": _seconds(episode["started_at"], now)})
        self._stop(uow, conversation_id, now, (TimerKind.FIRST_RESPONSE, TimerKind.NEXT_RESPONSE), answered=True)

    # --- resolved ------------------------------------------------------------------------------------------

    def on_status_changed(self, uow: UnitOfWork, event: Event) -> None:
        if event.payload.get("status") != "resolved" or event.payload.get("actor") == "csat":
            return  # (the survey's answer resolving again closes no contact)
        conn, now = uow.conn, self.clock()
        conversation_id = int(event.payload["conversation_id"])
        episode = repo.current_episode(conn, conversation_id)
        if episode is not None:
            first = episode["first_response_at"]
            repo.update_episode(conn, int(episode["id"]), {
                "open_conversation_id": None, "resolved_at": now,
                "resolution_s": _seconds(episode["started_at"], now),
                "handle_s": _seconds(first, now) if first is not None else None})
            if self.csat is not None:
                self.csat.on_resolved(uow, {**episode, "open_conversation_id": None}, now)
        self._stop(uow, conversation_id, now, (TimerKind.FIRST_RESPONSE, TimerKind.NEXT_RESPONSE), answered=False)
        self._stop(uow, conversation_id, now, (TimerKind.RESOLUTION,), answered=True)

    def _stop(self, uow: UnitOfWork, conversation_id: int, now: datetime, kinds: tuple[TimerKind, ...],
              *, answered: bool) -> None:
        timers = [t for t in repo.running_timers(uow.conn, conversation_id) if t["kind"] in kinds]
        if not timers:
            return
        settings = repo.queue_settings(uow.conn, int(timers[0]["queue_id"])) if timers[0]["queue_id"] else None
        calendar = repo.calendar_of(settings)
        for timer in timers:
            state = TimerState.MET if now <= timer["due_at"] else TimerState.MISSED
            if not answered:
                state = TimerState.MISSED if timer["breached_at"] is not None else TimerState.CANCELLED
            business = calendar.business_time_between(timer["started_at"], now)
            repo.stop_timer(uow.conn, int(timer["id"]), state.value, now, int(business.total_seconds()))
            uow.emit("sla.stopped", timer_id=int(timer["id"]), conversation_id=conversation_id,
                     kind=timer["kind"], state=state.value)


def insert_ignore_period(uow: UnitOfWork, values: dict[str, Any]) -> bool:
    """Record the closed period for the conversation; True when it was already recorded."""
    make = pg_insert if uow.conn.dialect.name == "postgresql" else sqlite_insert
    stmt = make(out_of_hours_replies).values(**values).on_conflict_do_nothing(
        index_elements=["conversation_id", "reopens_at"]).returning(out_of_hours_replies.c.conversation_id)
    return uow.conn.execute(stmt).first() is None


def _seconds(start: datetime, end: datetime) -> int:
    return max(0, int((end - start).total_seconds()))



def install_service_levels(settings: Settings, bus: EventBus, outbound: OutboundService,
                           templates: TemplateSender | None) -> ServiceLevels:
    """The configured listeners (contacts, timers, out-of-hours, CSAT when enabled)."""
    levels = ServiceLevels(outbound, report_time_zone=settings.reports_time_zone,
                           default_language=settings.service_default_language, clock=outbound.clock)
    if settings.csat_enabled:
        levels.csat = CsatSurveys(outbound, templates, style=settings.csat_style, question=settings.csat_question,
                                  template_name=settings.csat_template_name,
                                  default_language=settings.service_default_language, clock=outbound.clock)
    levels.reports = Reports(outbound.engine, time_zone=settings.reports_time_zone,
                             abandoned_after=timedelta(seconds=settings.abandoned_after_s))
    levels.subscribe(bus)
    return levels

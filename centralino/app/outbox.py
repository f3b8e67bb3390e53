"""The outbox's state changes after a send: outcomes recorded, lapsed attempts reconciled, and sends
recognised from status webhooks that name them (biz_opaque_callback_data). See docs/outbound.md,
"The exactly-once boundary with Meta".
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from centralino.app.unit_of_work import UnitOfWork, unit_of_work
from centralino.domain.enums import DeliveryStatus, Direction
from centralino.domain.pacing import backoff
from centralino.domain.sending import (
    Accepted,
    OutboxKind,
    OutboxState,
    Refused,
    Retry,
    SendOutcome,
    message_id_from_callback,
)
from centralino.events.bus import EventBus
from centralino.storage import bulk
from centralino.storage import messages as message_repo
from centralino.storage import outbox as outbox_repo
from centralino.storage.outbox import Claimed

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AttemptResult:
    row: Claimed
    outcome: SendOutcome


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    backoff_base_s: float = 2.0
    backoff_cap_s: float = 300.0
    reconcile_window: timedelta = timedelta(seconds=60)


class OutboxLedger:
    def __init__(self, engine: Engine, bus: EventBus | None, policy: RetryPolicy,
                 jitter: Callable[[], float] = random.random) -> None:
        self.engine = engine
        self.bus = bus
        self.policy = policy
        self.jitter = jitter

    # --- outcomes -------------------------------------------------------------------------------------------

    def do_record(self, results: list[AttemptResult], now: datetime) -> None:
        """Record many attempts' outcomes in one transaction: the messages locked first, in id order
        (as the inbound path does), acceptances set-based, the rest one by one."""
        if not results:
            return
        with unit_of_work(self.engine, self.bus) as uow:
            locked = message_repo.lock_many(uow.conn, [r.row.message_id for r in results if r.row.message_id])
            batch: dict[int, AttemptResult] = {}
            rest: list[AttemptResult] = []
            for result in results:
                mid = result.row.message_id
                if (isinstance(result.outcome, Accepted) and mid is not None and mid not in batch
                        and locked.get(mid) is not None):
                    batch[mid] = result
                else:
                    rest.append(result)
            self._accepted_many(uow, batch, locked, now)
            for result in sorted(rest, key=lambda r: (r.row.message_id or 0, r.row.id)):
                self._record(uow, result, now)

    def _accepted_many(self, uow: UnitOfWork, batch: dict[int, AttemptResult], locked: dict[int, Any],
                       now: datetime) -> None:
        """The common case at full rate, in a handful of statements whatever the batch size."""
        if not batch:
            return
        conn = uow.conn
        accepted: list[tuple[int, str]] = []
        by_channel: dict[int, list[str]] = {}
        for mid, result in batch.items():
            assert isinstance(result.outcome, Accepted) and result.outcome.external_id
            wamid, known = result.outcome.external_id, locked[mid].external_id
            if known is not None and known != wamid:
                _sent_twice(uow, mid, result.row.channel_id, known, wamid)
            accepted.append((mid, wamid))
            if known is None:
                by_channel.setdefault(result.row.channel_id, []).append(wamid)
        message_repo.accept_many(conn, accepted, now)
        with_history: set[int] = set()
        for channel_id, wamids in by_channel.items():
            with_history |= message_repo.link_statuses(conn, channel_id, wamids)
            bulk.link_late_arrivals(conn, channel_id, wamids)  # replies and reactions that came first
        applied = message_repo.apply_statuses_many(conn, with_history)
        for mid, result in sorted(batch.items()):
            before = DeliveryStatus(locked[mid].status)
            if mid in applied:
                _, after, code = applied[mid]
            else:
                after, code = (DeliveryStatus.ACCEPTED if before is DeliveryStatus.QUEUED else before), None
            if after is not before:
                uow.emit("message.status_changed", message_id=mid, channel_id=result.row.channel_id,
                         status=after.value, previous=before.value,
                         error_code=code if after is DeliveryStatus.FAILED else None)
        outbox_repo.complete_messages(conn, sorted(batch), now)

    def _record(self, uow: UnitOfWork, result: AttemptResult, now: datetime) -> None:
        row, outcome = result.row, result.outcome
        if isinstance(outcome, Accepted) and row.kind == OutboxKind.MESSAGE.value:
            assert row.message_id is not None and outcome.external_id
            # An acceptance counts whatever happened to the row meanwhile: the message exists at Meta.
            self._accepted(uow, row.message_id, row.channel_id, outcome.external_id, now)
            return
        if outbox_repo.attempt_row(uow.conn, row.id, row.attempt_id) is None:
            log.info("outbox %s: attempt %s is no longer the one in flight; outcome %s not recorded", row.id,
                     row.attempt_id, outcome)
            return
        if isinstance(outcome, Accepted):  # a read receipt
            outbox_repo.set_state(uow.conn, row.id, OutboxState.DONE, completed_at=now, claimed_until=None,
                                  last_error=None)
            return
        self._refused(uow, row, outcome, now)

    def _accepted(self, uow: UnitOfWork, message_id: int, channel_id: int, external_id: str, now: datetime) -> None:
        conn = uow.conn
        msg = message_repo.lock(conn, message_id)
        if msg.external_id is None:
            message_repo.adopt_external_id(conn, message_id, channel_id, external_id, now)
        elif msg.external_id != external_id:
            _sent_twice(uow, message_id, channel_id, msg.external_id, external_id)
        message_repo.mark_accepted(conn, message_id, now)
        _, after, code = message_repo.apply_statuses(conn, message_id)
        before = DeliveryStatus(msg.status)
        if after is not before:
            uow.emit("message.status_changed", message_id=message_id, channel_id=channel_id, status=after.value,
                     previous=before.value, error_code=code if after is DeliveryStatus.FAILED else None)
        outbox_repo.complete_message(conn, message_id, now)

    def _refused(self, uow: UnitOfWork, row: Claimed, outcome: Refused, now: datetime) -> None:
        retry = outcome.retry
        if retry is Retry.UNCERTAIN and row.kind == OutboxKind.READ.value:
            retry = Retry.TRANSIENT  # a read receipt repeated is harmless
        error = _describe(outcome)
        if retry is Retry.UNCERTAIN:
            log.warning("outbox %s (message %s): outcome unknown (%s); waiting for a status webhook until %s",
                        row.id, row.message_id, error, now + self.policy.reconcile_window)
            outbox_repo.set_state(uow.conn, row.id, OutboxState.UNCONFIRMED, claimed_until=None,
                                  reconcile_until=now + self.policy.reconcile_window,
                                  last_error_code=outcome.code, last_error=error)
        elif retry is Retry.TRANSIENT and row.attempts < self.policy.max_attempts:
            delay = backoff(row.attempts, self.policy.backoff_base_s, self.policy.backoff_cap_s, self.jitter())
            outbox_repo.set_state(uow.conn, row.id, OutboxState.QUEUED, claimed_until=None,
                                  next_attempt_at=now + timedelta(seconds=delay), last_error_code=outcome.code,
                                  last_error=error)
        else:
            title = outcome.title if retry is Retry.PERMANENT else (
                f"gave up after {row.attempts} attempts: {outcome.title}")
            self._failed(uow, row.id, row.kind, row.message_id, row.channel_id, outcome.code, title,
                         outcome.details, now)

    def _failed(self, uow: UnitOfWork, row_id: int, kind: str, message_id: int | None, channel_id: int,
                code: int | None, title: str, details: str | None, now: datetime) -> None:
        """A permanent failure is state, not an exception: the message shows the provider's reason."""
        outbox_repo.set_state(uow.conn, row_id, OutboxState.FAILED, completed_at=now, claimed_until=None,
                              reconcile_until=None, last_error_code=code,
                              last_error=title + (f" ({details})" if details else ""))
        if kind != OutboxKind.MESSAGE.value or message_id is None:
            log.warning("outbox %s (%s) failed: %s", row_id, kind, title)
            return
        msg = message_repo.lock(uow.conn, message_id)
        if message_repo.mark_failed(uow.conn, message_id, code, title, details):
            uow.emit("message.status_changed", message_id=message_id, channel_id=channel_id,
                     status=DeliveryStatus.FAILED.value, previous=msg.status, error_code=code)

    # --- reconciliation ---------------------------------------------------------------------------------------

    def do_sweep(self, now: datetime) -> int:
        """Attempts whose lease lapsed (worker died mid-call) wait for a status webhook naming them; when
        the wait is over without one, they are sent again. How many rows changed."""
        changed = 0
        with unit_of_work(self.engine, self.bus) as uow:
            for r in outbox_repo.lapsed_attempts(uow.conn, now):
                changed += 1
                if r["kind"] == OutboxKind.READ.value:
                    outbox_repo.set_state(uow.conn, r["id"], OutboxState.QUEUED, claimed_until=None,
                                          next_attempt_at=now, last_error="attempt lease lapsed")
                    continue
                log.warning("outbox %s (message %s): attempt %s lapsed mid-call; waiting for a status webhook",
                            r["id"], r["message_id"], r["attempt_id"])
                outbox_repo.set_state(uow.conn, r["id"], OutboxState.UNCONFIRMED, claimed_until=None,
                                      reconcile_until=now + self.policy.reconcile_window,
                                      last_error=f"attempt {r['attempt_id']} lapsed mid-call: outcome unknown")
            over = outbox_repo.reconciliation_over(uow.conn, now)
            # Webhooks already received but not applied yet may name these sends: wait for the
            # inbound pipeline to catch up (e.g. a worker restarting with a backlog) before resending.
            backlog = bool(over) and outbox_repo.inbound_backlog(uow.conn, now)
            for r in over:
                if backlog and r["external_id"] is None:
                    continue
                changed += 1
                if r["external_id"] is not None:
                    outbox_repo.complete_message(uow.conn, r["message_id"], now)
                elif r["attempts"] >= self.policy.max_attempts:
                    self._failed(uow, r["id"], OutboxKind.MESSAGE.value, r["message_id"], r["channel_id"], None,
                                 f"no answer from the provider after {r['attempts']} attempts", None, now)
                else:
                    log.warning("outbox %s (message %s): no status webhook named attempt %s; sending again",
                                r["id"], r["message_id"], r["attempt_id"])
                    outbox_repo.set_state(uow.conn, r["id"], OutboxState.QUEUED, next_attempt_at=now,
                                          reconcile_until=None,
                                          last_error=f"attempt {r['attempt_id']} unconfirmed: sent again")
        return changed


def adopt_from_status(uow: UnitOfWork, channel_id: int, external_id: str, callback_data: str | None,
                      now: datetime) -> int | None:
    """A status webhook for a wamid we have not recorded, naming one of our messages in its
    biz_opaque_callback_data: the send went through (our record of it was lost or is still on its
    way). Give the message that wamid and complete its outbox row. The message id, or None."""
    message_id = message_id_from_callback(callback_data)
    if message_id is None:
        return None
    msg = message_repo.lock(uow.conn, message_id)
    if msg is None or int(msg.channel_id) != channel_id or msg.direction != Direction.OUTBOUND.value:
        return None
    if msg.external_id is not None and msg.external_id != external_id:
        _sent_twice(uow, message_id, channel_id, msg.external_id, external_id)
        return None
    message_repo.adopt_external_id(uow.conn, message_id, channel_id, external_id, now)
    if msg.external_id is None:
        log.info("message %s recognised as %s from a status webhook", message_id, external_id)
        outbox_repo.complete_message(uow.conn, message_id, now)
    return message_id


def _sent_twice(uow: UnitOfWork, message_id: int, channel_id: int, kept: str, other: str) -> None:
    log.error("message %s reached the provider twice (%s kept, %s also accepted)", message_id, kept, other)
    uow.emit("message.sent_twice", message_id=message_id, channel_id=channel_id, external_id=kept,
             other_external_id=other)


def _describe(outcome: Refused) -> str:
    code = f"[{outcome.code}] " if outcome.code is not None else ""
    return f"{code}{outcome.title}" + (f" ({outcome.details})" if outcome.details else "")

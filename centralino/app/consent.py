"""The consent ledger's use cases: the one check every business-initiated send goes through
(OutboundService.check_send calls `check_consent`), the bulk decision for campaigns, and recording a
customer's opt-in or opt-out (agents, the API, imports, and the arrivals in app/consent_arrivals.py).

Recording only ever appends to the ledger; the state is derived (domain/consent.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, select

from centralino.app.unit_of_work import UnitOfWork, unit_of_work
from centralino.domain.access import Principal
from centralino.domain.consent import (
    DEFAULT_POLICY,
    Action,
    ConsentPolicy,
    ConsentRecord,
    Decision,
    Purpose,
    Source,
    current_state,
    decide,
)
from centralino.errors import Conflict, InvalidInput, NotFound
from centralino.events.bus import EventBus
from centralino.storage import consent as consent_repo
from centralino.storage import contact_upsert, queries
from centralino.storage.tables import channels
from centralino.storage.visibility import visible_conversations

EVIDENCE_MAX_BYTES = 8192
NOTE_MAX_CHARS = 2000
CLOCK_SKEW = timedelta(minutes=5)  # a record may be dated this far ahead of our clock (the caller's clock)
# Sources only the system records (from what the customer or Meta did); people and systems name the others.
SYSTEM_SOURCES = frozenset({Source.KEYWORD, Source.QUICK_REPLY, Source.META_SIGNAL, Source.FAILED_STATUS,
                            Source.MERGE, Source.UNKNOWN})


class ConsentRefused(Conflict):
    code = "consent.refused"


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Recorded:
    record_id: int | None  # None: a repeat of a recorded fact (same dedupe key), nothing added
    contact_id: int

    @property
    def created(self) -> bool:
        return self.record_id is not None


class ConsentService:
    def __init__(self, engine: Engine, bus: EventBus | None, *, policy: ConsentPolicy = DEFAULT_POLICY,
                 clock: Callable[[], datetime] = _utcnow) -> None:
        self.engine = engine
        self.bus = bus
        self.policy = policy
        self.clock = clock

    # --- deciding -------------------------------------------------------------------------------------------

    def state(self, conn: Connection, contact_id: int, channel_id: int | None = None,
              now: datetime | None = None) -> dict[Purpose, ConsentRecord]:
        records = consent_repo.records_for(conn, contact_id)
        if now is not None:  # a record dated ahead of now (beyond clock skew) does not decide yet
            records = [r for r in records if r.occurred_at <= now + CLOCK_SKEW]
        return current_state(records, channel_id)

    def check_consent(self, conn: Connection, contact_id: int, channel_id: int, purpose: Purpose, now: datetime,
                      *, business_initiated: bool = True) -> Decision:
        """Raise ConsentRefused (409 consent.refused) unless a message of `purpose` may go to the contact on
        this channel now; the decision otherwise."""
        decision = decide(self.state(conn, contact_id, channel_id, now), purpose,
                          business_initiated=business_initiated, policy=self.policy)
        if not decision.allowed:
            record = decision.record
            raise ConsentRefused(f"{purpose.value} message refused: {decision.reason}", field="consent",
                                 purpose=purpose.value, contact_id=contact_id,
                                 record_id=record.sequence if record is not None else None)
        return decision

    def states_for(self, conn: Connection, contact_ids: Sequence[int], channel_id: int | None,
                   purpose: Purpose) -> dict[int, Decision]:
        """Decisions for many contacts (a campaign's batch): one query per 2,000 contacts, every contact of
        `contact_ids` answered (the policy's default when it has no record)."""
        found = consent_repo.records_for_many(conn, contact_ids, channel_id, (purpose, Purpose.ALL))
        # Most of a large audience has no record: they share the policy's default decision.
        default = decide({}, purpose, business_initiated=True, policy=self.policy)
        return {cid: decide(current_state(found[cid], channel_id), purpose, business_initiated=True,
                            policy=self.policy) if cid in found else default for cid in contact_ids}

    # --- recording ------------------------------------------------------------------------------------------

    def record_in(self, uow: UnitOfWork, *, contact_id: int, purpose: Purpose, action: Action, source: Source,
                  occurred_at: datetime, actor: str, evidence: dict[str, Any] | None = None,
                  channel_id: int | None = None, note: str | None = None, dedupe_key: str | None = None) -> Recorded:
        """Append one record inside the caller's transaction and emit consent.recorded (nothing if the
        dedupe key was already used)."""
        record_id = consent_repo.insert(uow.conn, {
            "contact_id": contact_id, "channel_id": channel_id, "purpose": purpose.value, "action": action.value,
            "source": source.value, "evidence": evidence or {}, "actor": actor[:64], "occurred_at": occurred_at,
            "recorded_at": self.clock(), "dedupe_key": dedupe_key, "note": note,
        })
        if record_id is not None:
            uow.emit("consent.recorded", record_id=record_id, contact_id=contact_id, channel_id=channel_id,
                     purpose=purpose.value, action=action.value, source=source.value)
        return Recorded(record_id, contact_id)

    def do_record(self, principal: Principal, contact_id: int, *, purpose: Purpose, action: Action,
                  source: Source | None = None, evidence: dict[str, Any] | None = None, note: str | None = None,
                  occurred_at: datetime | None = None, channel_id: int | None = None,
                  dedupe_key: str | None = None) -> Recorded:
        """An opt-in or opt-out an agent or a system reports (a signed form, a call). Agents name it
        with a note; the contact must be one the principal may see."""
        now = self.clock()
        source = source or (Source.AGENT if principal.via == "session" else Source.API)
        check_record(source, evidence, note, occurred_at, now, agent=principal.via == "session")
        with unit_of_work(self.engine, self.bus) as uow:
            if queries.get_contact(uow.conn, contact_id, visible_conversations(principal)) is None:
                raise NotFound(f"no contact {contact_id}", field="contact_id")
            check_channel(uow.conn, channel_id)
            return self.record_in(uow, contact_id=contact_id, purpose=purpose, action=action, source=source,
                                  occurred_at=occurred_at or now, actor=principal.actor, evidence=evidence,
                                  channel_id=channel_id, note=note.strip() if note else None,
                                  dedupe_key=f"{principal.actor}:{dedupe_key}" if dedupe_key else None)


def check_record(source: Source, evidence: dict[str, Any] | None, note: str | None, occurred_at: datetime | None,
                 now: datetime, *, agent: bool) -> None:
    """Raise unless a reported record is acceptable (nothing is written when it is not)."""
    if source in SYSTEM_SOURCES:
        names = ", ".join(sorted(s.value for s in Source if s not in SYSTEM_SOURCES))
        raise InvalidInput(f"source {source.value} is recorded by Centralino itself; report one of: {names}",
                           field="source", code="consent.source", status=422)
    if evidence is not None and len(orjson.dumps(evidence)) > EVIDENCE_MAX_BYTES:
        raise InvalidInput(f"evidence is at most {EVIDENCE_MAX_BYTES} bytes of JSON", field="evidence",
                           code="consent.evidence_too_large", status=422)
    if agent and not (note and note.strip()):
        raise InvalidInput("say why (the customer's words, the form, the call) in a note", field="note",
                           code="consent.note_required", status=422)
    if note is not None and len(note) > NOTE_MAX_CHARS:
        raise InvalidInput(f"a note has at most {NOTE_MAX_CHARS} characters", field="note",
                           code="consent.note_too_long", status=422)
    if occurred_at is not None:
        if occurred_at.tzinfo is None:
            raise InvalidInput("occurred_at needs a time zone", field="occurred_at", code="consent.naive_time",
                               status=422)
        if occurred_at > now + CLOCK_SKEW:
            raise InvalidInput("occurred_at is in the future", field="occurred_at", code="consent.future",
                               status=422)


def check_channel(conn: Connection, channel_id: int | None) -> None:
    if channel_id is None:
        return
    if conn.execute(select(channels.c.id).where(channels.c.id == channel_id)).first() is None:
        raise InvalidInput(f"no channel {channel_id}", field="channel_id", code="consent.channel", status=422)


def live_contact(conn: Connection, contact_id: int) -> int | None:
    """The contact itself, or the one it was merged into (records follow the person)."""
    return contact_upsert.live(conn, contact_id)

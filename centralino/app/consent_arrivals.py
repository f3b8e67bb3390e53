"""Opt-outs (and opt-ins) the customer or Meta tells us about, recorded inside the transaction that stored
what they said, so none is lost to a crash: a keyword message (STOP), a template quick-reply configured as
opt-out, WhatsApp's marketing-preference webhook, a marketing send refused with 131050. Each records a
marketing opt-out (or opt-in) and queues the configured confirmation in the same transaction, when the
customer-service window is open.

message.received and message.status_changed fire for every message and status on the inbound hot path
(app/inbound_batch.py): their listeners return before any query unless the event can matter.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, func, or_, select

from centralino.app.consent import ConsentService, live_contact
from centralino.app.outbound import OutboundService
from centralino.app.unit_of_work import UnitOfWork
from centralino.config import Settings
from centralino.domain.consent import (
    Action,
    ConsentPolicy,
    KeywordMatch,
    Keywords,
    Purpose,
    Source,
    matches_payload,
)
from centralino.domain.outbound import Text
from centralino.errors import CentralinoError
from centralino.events.bus import Event, EventBus
from centralino.storage import consent as consent_repo
from centralino.storage.tables import contacts, conversations, messages

OPT_OUT_FAILURE = 131050  # "the user stopped marketing messages from us"
KEYWORD_TYPES = frozenset({"text", "button"})
PREFETCH_SPAN = 2048  # message ids either side of an event's read at once (a batch is at most a few hundred)
CONFIRMATION_ORIGIN = "consent"


@dataclass(frozen=True)
class ArrivalSettings:
    keywords: Keywords = field(default_factory=Keywords)
    opt_out_payloads: Sequence[str] = ("OPT_OUT",)
    confirmations: Mapping[Action, Mapping[str, str]] = field(default_factory=dict)
    default_language: str = "it"


@dataclass
class _Candidates:
    conn: Any  # the transaction's connection: a cache never outlives its transaction
    lo: int
    upto: int
    rows: dict[int, Any]


class ConsentArrivals:
    def __init__(self, consent: ConsentService, outbound: OutboundService, settings: ArrivalSettings) -> None:
        self.consent = consent
        self.outbound = outbound
        self.settings = settings
        self._local = threading.local()  # workers apply batches in several threads

    def subscribe(self, bus: EventBus) -> None:
        bus.subscribe_in_transaction("message.received", self.on_message)
        bus.subscribe_in_transaction("contact.preference_changed", self.on_preference)
        bus.subscribe_in_transaction("message.status_changed", self.on_status)
        bus.subscribe_in_transaction("contact.merged", self.on_merge)

    # --- (a) keywords and (b) quick replies ----------------------------------------------------------------

    def on_message(self, uow: UnitOfWork, event: Event) -> None:
        p = event.payload
        if p.get("type") not in KEYWORD_TYPES:
            return
        row = self._candidate(uow, int(p["message_id"]))
        if row is None:
            return
        content = row.content or {}
        source, match = Source.KEYWORD, None
        if p["type"] == "button":
            payload, label = content.get("payload"), content.get("text")
            if matches_payload(payload, label, self.settings.opt_out_payloads):
                match = KeywordMatch(Action.OPT_OUT, str(label or payload), "")
            else:
                match = self.settings.keywords.match(label) or self.settings.keywords.match(payload)
            source = Source.QUICK_REPLY
            evidence = {"message_id": p["message_id"], "payload": payload, "text": label}
        else:
            if not row.text or len(row.text) > self.settings.keywords.longest + 16:
                return
            match = self.settings.keywords.match(row.text)
            evidence = {"message_id": p["message_id"], "text": row.text}
        if match is None:
            return
        language = self._language(uow, int(p["contact_id"]), match)
        evidence.update(keyword=match.keyword, language=language)
        recorded = self.consent.record_in(
            uow, contact_id=int(p["contact_id"]), purpose=Purpose.MARKETING, action=match.action, source=source,
            occurred_at=row.sent_at, actor="customer", evidence=evidence, dedupe_key=f"message:{p['message_id']}")
        if recorded.created:
            self._confirm(uow, int(p["conversation_id"]), match.action, language)

    def _candidate(self, uow: UnitOfWork, message_id: int) -> Any:
        """The message if it could be a keyword or a quick reply (a short text, a button), else None. The
        batched path emits message.received for hundreds of messages in one transaction: the candidates
        among the ids around the first one are read once, and later events look them up. Messages the
        transaction itself stored (the batched inbound path) need no query at all."""
        stored = uow.stored_messages.get(message_id)
        if stored is not None:
            is_candidate = stored.type == "button" or (
                stored.type == "text" and stored.text is not None
                and len(stored.text) <= self.settings.keywords.longest + 16)
            return stored if is_candidate else None
        cache: _Candidates | None = getattr(self._local, "cache", None)
        if cache is None or cache.conn is not uow.conn or not cache.lo <= message_id <= cache.upto:
            cache = self._prefetch(uow, message_id)
            self._local.cache = cache
        return cache.rows.get(message_id)

    def _prefetch(self, uow: UnitOfWork, around: int) -> _Candidates:
        m = messages.c
        lo, hi = around - PREFETCH_SPAN, around + PREFETCH_SPAN
        longest = self.settings.keywords.longest + 16
        rows = uow.conn.execute(select(m.id, m.text, m.content, m.sent_at).where(
            m.id.between(lo, hi), m.direction == "in",
            or_(m.type == "button", and_(m.type == "text", func.length(m.text) <= longest))))
        # Every message of this transaction up to the highest id present now is covered: one inserted
        # later gets a higher id (ids only grow), so an id at or below it that is not a candidate is not one.
        upto = uow.conn.execute(select(func.max(m.id)).where(m.id.between(lo, hi))).scalar()
        return _Candidates(uow.conn, lo, int(upto if upto is not None else around),
                           {int(r.id): r for r in rows})

    def _language(self, uow: UnitOfWork, contact_id: int, match: KeywordMatch) -> str:
        """The contact's language when its confirmation exists, else the keyword's, else the default."""
        texts = self.settings.confirmations.get(match.action, {})
        chosen = uow.conn.execute(select(contacts.c.language).where(contacts.c.id == contact_id)).scalar()
        for candidate in (chosen, match.language):
            if candidate:
                short = str(candidate).split("_")[0].split("-")[0].lower()
                if short in texts:
                    return short
        return self.settings.default_language

    # --- (c) WhatsApp's marketing preference ---------------------------------------------------------------

    def on_preference(self, uow: UnitOfWork, event: Event) -> None:
        p = event.payload
        value = str(p.get("value") or "").lower()
        action = {"stop": Action.OPT_OUT, "resume": Action.OPT_IN}.get(value)
        if action is None or p.get("contact_id") is None:
            return
        contact_id = int(p["contact_id"])
        recorded = self.consent.record_in(
            uow, contact_id=contact_id, purpose=Purpose.MARKETING, action=action, source=Source.META_SIGNAL,
            occurred_at=event.occurred_at, actor="meta",
            evidence={"category": p.get("category"), "value": value, "channel_id": p.get("channel_id")})
        if recorded.created and p.get("channel_id") is not None:
            cv = conversations.c
            conversation_id = uow.conn.execute(select(cv.id).where(
                cv.contact_id == contact_id, cv.channel_id == p["channel_id"])).scalar()
            if conversation_id is not None:
                self._confirm(uow, int(conversation_id), action, self._language(
                    uow, contact_id, KeywordMatch(action, value, "")))

    # --- (d) a marketing send refused because the customer stopped marketing -------------------------------

    def on_status(self, uow: UnitOfWork, event: Event) -> None:
        p = event.payload
        if p.get("status") != "failed" or p.get("error_code") != OPT_OUT_FAILURE:
            return
        m = messages.c
        row = uow.conn.execute(select(m.contact_id, m.conversation_id).where(m.id == p["message_id"])).first()
        if row is None:
            return
        contact_id = int(row.contact_id)
        recorded = self.consent.record_in(
            uow, contact_id=contact_id, purpose=Purpose.MARKETING, action=Action.OPT_OUT,
            source=Source.FAILED_STATUS, occurred_at=event.occurred_at, actor="meta",
            evidence={"message_id": p["message_id"], "error_code": OPT_OUT_FAILURE, "channel_id": p.get("channel_id")},
            dedupe_key=f"failed:{p['message_id']}")
        if recorded.created:
            self._confirm(uow, int(row.conversation_id), Action.OPT_OUT, self._language(
                uow, contact_id, KeywordMatch(Action.OPT_OUT, "", "")))

    # --- merges: the records follow the person --------------------------------------------------------------

    def on_merge(self, uow: UnitOfWork, event: Event) -> None:
        keep = live_contact(uow.conn, int(event.payload["contact_id"]))
        if keep is not None:
            consent_repo.copy_to(uow.conn, keep, int(event.payload["merged_contact_id"]), datetime.now(UTC))

    # --- the confirmation -----------------------------------------------------------------------------------

    def _confirm(self, uow: UnitOfWork, conversation_id: int, action: Action, language: str) -> None:
        """Queue the configured confirmation as a service reply, only inside the window (never refused for
        consent: it is a reply to what the customer just did)."""
        body = self.settings.confirmations.get(action, {}).get(language)
        if not body:
            return
        try:
            self.outbound.do_send_within(uow, conversation_id, Text(body), origin=CONFIRMATION_ORIGIN)
        except CentralinoError:
            return  # window closed, no address: the opt-out stands, the confirmation cannot go


def install_consent(settings: Settings, bus: EventBus, outbound: OutboundService) -> ConsentService:
    """The configured consent service: the one OutboundService enforces, with its arrival listeners."""
    policy = ConsentPolicy.requiring_opt_in(settings.consent_opt_in_required)
    consent = ConsentService(outbound.engine, bus, policy=policy, clock=outbound.clock)
    outbound.consent = consent
    ConsentArrivals(consent, outbound, arrival_settings(
        settings.consent_opt_out_keywords, settings.consent_opt_in_keywords, settings.consent_opt_out_payloads,
        {Action.OPT_OUT: settings.consent_opt_out_confirmation, Action.OPT_IN: settings.consent_opt_in_confirmation},
        settings.consent_default_language)).subscribe(bus)
    return consent


def arrival_settings(opt_out: Mapping[str, Sequence[str]] | None, opt_in: Mapping[str, Sequence[str]] | None,
                     payloads: Sequence[str], confirmations: Mapping[Action, Mapping[str, str]],
                     default_language: str) -> ArrivalSettings:
    base = Keywords()
    keywords = Keywords(opt_out={k: tuple(v) for k, v in opt_out.items()} if opt_out is not None else base.opt_out,
                        opt_in={k: tuple(v) for k, v in opt_in.items()} if opt_in is not None else base.opt_in)
    return ArrivalSettings(keywords, tuple(payloads), confirmations, default_language)

"""The consent ledger's rules: what a customer agreed to, and whether a business-initiated message may go.

Pure. The ledger is append-only: every opt-in and opt-out is a record; the state is derived from them
(the latest record per purpose wins, by when it happened, then by the order it was recorded). One
function, `decide`, answers for every business-initiated send (agent, API, bot, notification, campaign).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from centralino.domain.enums import LenientEnum


class Purpose(StrEnum):
    SERVICE = "service"
    UTILITY = "utility"
    MARKETING = "marketing"
    AUTHENTICATION = "authentication"
    ALL = "all"  # a record about every purpose at once ("stop everything")


class Source(LenientEnum):
    WEB_FORM = "web_form"
    IMPORT = "import"
    API = "api"
    AGENT = "agent"
    KEYWORD = "keyword"
    QUICK_REPLY = "quick_reply"
    META_SIGNAL = "meta_signal"
    FAILED_STATUS = "failed_status"
    MERGE = "merge"  # copied from a contact merged into this one
    UNKNOWN = "unknown"


class Action(StrEnum):
    OPT_IN = "opt_in"
    OPT_OUT = "opt_out"


class Rule(StrEnum):
    REQUIRES_OPT_IN = "requires_opt_in"  # an opt-in not followed by an opt-out
    UNLESS_OPTED_OUT = "unless_opted_out"  # allowed until the customer opts out


def purpose_of_category(category: str | None) -> Purpose:
    """A template's category as a consent purpose; anything unknown is treated as marketing (the strictest)."""
    try:
        purpose = Purpose((category or "").lower())
    except ValueError:
        return Purpose.MARKETING
    return Purpose.MARKETING if purpose is Purpose.ALL else purpose


@dataclass(frozen=True)
class ConsentRecord:
    purpose: Purpose
    action: Action
    source: Source
    occurred_at: datetime
    sequence: int = 0  # the ledger row id: breaks ties between records of the same instant
    channel_id: int | None = None  # None: every channel
    evidence: Mapping[str, Any] = field(default_factory=dict)
    actor: str = "system"

    @property
    def order(self) -> tuple[datetime, int]:
        return self.occurred_at, self.sequence


ConsentState = Mapping[Purpose, ConsentRecord]


def current_state(records: Iterable[ConsentRecord], channel_id: int | None = None) -> dict[Purpose, ConsentRecord]:
    """The latest record per purpose. With a channel: records for every channel and for that one; without:
    all records (the contact's overall picture)."""
    state: dict[Purpose, ConsentRecord] = {}
    for record in records:
        if channel_id is not None and record.channel_id not in (None, channel_id):
            continue
        held = state.get(record.purpose)
        if held is None or record.order > held.order:
            state[record.purpose] = record
    return state


@dataclass(frozen=True)
class ConsentPolicy:
    """How each purpose is decided for business-initiated messages (configurable: CENTRALINO_CONSENT_*)."""

    rules: Mapping[Purpose, Rule] = field(default_factory=lambda: {
        Purpose.SERVICE: Rule.UNLESS_OPTED_OUT, Purpose.UTILITY: Rule.UNLESS_OPTED_OUT,
        Purpose.MARKETING: Rule.REQUIRES_OPT_IN, Purpose.AUTHENTICATION: Rule.UNLESS_OPTED_OUT})

    @classmethod
    def requiring_opt_in(cls, purposes: Iterable[str]) -> ConsentPolicy:
        needed = {Purpose(p) for p in purposes}
        return cls({p: Rule.REQUIRES_OPT_IN if p in needed else Rule.UNLESS_OPTED_OUT
                    for p in Purpose if p is not Purpose.ALL})


DEFAULT_POLICY = ConsentPolicy()


@dataclass(frozen=True)
class Decision:
    allowed: bool
    purpose: Purpose
    reason: str
    record: ConsentRecord | None = None  # the record the decision rests on (None: the default applied)


def decide(state: ConsentState, purpose: Purpose, *, business_initiated: bool,
           policy: ConsentPolicy = DEFAULT_POLICY) -> Decision:
    """May a message of `purpose` go to this customer? Service replies (not business-initiated, inside the
    window) always may; otherwise the latest record about this purpose or about everything decides,
    and without one the policy's default for the purpose."""
    if not business_initiated:
        return Decision(True, purpose, "a service reply inside the customer-service window")
    candidates = [r for r in (state.get(purpose), state.get(Purpose.ALL)) if r is not None]
    record = max(candidates, key=lambda r: r.order) if candidates else None
    if record is not None and record.action is Action.OPT_OUT:
        return Decision(False, purpose, f"the customer opted out of {_scope(record, purpose)} on "
                                        f"{record.occurred_at.date().isoformat()} by {describe_source(record)}",
                        record)
    if record is not None:
        return Decision(True, purpose, f"the customer opted in to {_scope(record, purpose)} on "
                                       f"{record.occurred_at.date().isoformat()} by {describe_source(record)}",
                        record)
    if policy.rules.get(purpose, Rule.REQUIRES_OPT_IN) is Rule.REQUIRES_OPT_IN:
        return Decision(False, purpose, f"{purpose.value} messages need the customer's opt-in and none is recorded")
    return Decision(True, purpose, f"{purpose.value} messages are allowed unless the customer opts out")


def _scope(record: ConsentRecord, purpose: Purpose) -> str:
    return "all messages" if record.purpose is Purpose.ALL else purpose.value


def describe_source(record: ConsentRecord) -> str:
    """How the record came about, in words (for refusals and the customer panel)."""
    evidence = record.evidence
    match record.source:
        case Source.KEYWORD:
            return f"keyword {evidence.get('keyword') or evidence.get('text') or ''}".strip()
        case Source.QUICK_REPLY:
            return f"the quick-reply button {evidence.get('text') or evidence.get('payload') or ''}".strip()
        case Source.META_SIGNAL:
            return f"WhatsApp's marketing preference ({evidence.get('value', 'stop')})"
        case Source.FAILED_STATUS:
            return f"a send refused by WhatsApp with error {evidence.get('error_code', 131050)}"
        case Source.AGENT:
            return f"an agent ({record.actor})"
        case Source.API:
            return "the API"
        case Source.IMPORT:
            return "an import"
        case Source.WEB_FORM:
            return "a web form"
        case Source.MERGE:
            return "a merged contact's record"
    return "an unknown source"


# --- opt-out and opt-in keywords --------------------------------------------------------------------------------

DEFAULT_OPT_OUT_KEYWORDS: dict[str, tuple[str, ...]] = {
    "it": ("STOP", "ANNULLA", "CANCELLA", "DISISCRIVIMI", "STOP PROMOZIONI", "BASTA", "ANNULLA ISCRIZIONE"),
    "en": ("STOP", "UNSUBSCRIBE", "STOP PROMOTIONS", "CANCEL", "OPT OUT", "OPT-OUT"),
}
DEFAULT_OPT_IN_KEYWORDS: dict[str, tuple[str, ...]] = {
    "it": ("START", "ISCRIVIMI"),
    "en": ("START", "SUBSCRIBE"),
}

_SPACES = re.compile(r"\s+")
_EDGE_PUNCTUATION = ".!?,;:¡¿\"'«»“”*_~"


def normalise(text: str) -> str:
    """Trimmed, case-folded, inner spaces collapsed, surrounding punctuation ("Stop!") dropped."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _SPACES.sub(" ", folded.strip().strip(_EDGE_PUNCTUATION).strip())


@dataclass(frozen=True)
class KeywordMatch:
    action: Action
    keyword: str  # as configured
    language: str  # the language whose list matched ("" when several have it): the confirmation's language


@dataclass(frozen=True)
class Keywords:
    """Whole-message keywords per language: the customer's entire message must be one of them, never a
    sentence that merely contains one. Opt-outs are checked first."""

    opt_out: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_OPT_OUT_KEYWORDS))
    opt_in: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_OPT_IN_KEYWORDS))
    longest: int = field(init=False, default=0)
    _index: dict[str, KeywordMatch] = field(init=False, default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        index: dict[str, KeywordMatch] = {}
        for action, table in ((Action.OPT_IN, self.opt_in), (Action.OPT_OUT, self.opt_out)):
            for language, words in table.items():
                for word in words:
                    key = normalise(word)
                    if not key:
                        continue
                    held = index.get(key)
                    # A word of several languages (STOP) names none: the customer's language decides.
                    same = held is not None and held.action is action and held.language != language
                    index[key] = KeywordMatch(action, word, "" if same else language)  # opt-outs win ties
        object.__setattr__(self, "_index", index)
        object.__setattr__(self, "longest", max((len(k) for k in index), default=0))

    def match(self, text: str | None, prefer_language: str | None = None) -> KeywordMatch | None:
        if not text or len(text) > self.longest + 16:  # a long message is a sentence, not a keyword
            return None
        found = self._index.get(normalise(text))
        if found is None or prefer_language is None:
            return found
        # The same word in several languages (STOP): answer in the customer's language when it has it.
        table = self.opt_out if found.action is Action.OPT_OUT else self.opt_in
        language = prefer_language.split("_")[0].split("-")[0].lower()
        if any(normalise(w) == normalise(text) for w in table.get(language, ())):
            return KeywordMatch(found.action, found.keyword, language)
        return found


def matches_payload(payload: str | None, text: str | None, opt_out_payloads: Iterable[str]) -> bool:
    """A template quick-reply button configured as opt-out: its payload (or, failing that, its label)."""
    wanted = {normalise(p) for p in opt_out_payloads if normalise(p)}
    return any(value is not None and normalise(value) in wanted for value in (payload, text))

"""Everything the simulated Meta remembers: media, customers, messages, templates, faults, stats.

Mutable on purpose (it is the world's state); it is only touched from the event loop that runs the
simulator. Values that never change are frozen dataclasses.
"""

from __future__ import annotations

import hashlib
import itertools
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any, Literal

from centralino.simulator.ids import numeric_id

Direction = Literal["in", "out"]
FaultMode = Literal["sync", "async"]

# Rank for "never downgrade"; failed stands apart.
STATUS_RANK = {"accepted": 0, "sent": 1, "delivered": 2, "read": 3, "played": 4}


@dataclass
class StoredMedia:
    content: bytes
    mime_type: str
    owner: str | None = None  # phone_number_id that uploaded or received it; None: any number
    filename: str | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass
class Customer:
    wa_id: str
    name: str
    reachable: bool = True


@dataclass
class MessageRecord:
    """One message in a (business number, customer) conversation, in either direction."""

    id: str
    phone_number_id: str
    wa_id: str
    direction: Direction
    type: str
    payload: dict[str, Any]  # outbound: the business' request body; inbound: the webhook's message item
    timestamp: int
    status: str = "accepted"  # outbound: accepted/sent/delivered/read/played/failed; inbound: received
    history: list[tuple[str, int]] = field(default_factory=list)
    error: dict[str, Any] | None = None
    callback_data: str | None = None
    context_id: str | None = None
    pricing_category: str = "service"
    pricing_type: str = "free_customer_service"
    template_id: str | None = None
    rendered: dict[str, Any] | None = None  # template: header/body/footer/buttons as the customer sees them
    read_by_business: bool = False  # inbound: the business marked it read
    webhook_bodies: list[bytes] = field(default_factory=list)  # status webhooks sent, for duplicates

    def reached(self, status: str) -> bool:
        if self.status == "failed":
            return True
        return STATUS_RANK.get(self.status, 0) >= STATUS_RANK.get(status, 0)


@dataclass
class TemplateRecord:
    id: str
    waba_id: str
    name: str
    language: str
    category: str
    components: list[dict[str, Any]]
    parameter_format: str = "POSITIONAL"
    status: str = "PENDING"
    reason: str | None = None
    quality: str = "UNKNOWN"
    pauses: int = 0
    created_at: float = 0.0


@dataclass(frozen=True)
class SendFault:
    code: int
    mode: FaultMode = "sync"
    phone_number_id: str | None = None  # None: any number
    details: str | None = None


@dataclass
class NumberStats:
    accepted: int = 0
    refused: Counter[int] = field(default_factory=Counter)
    failed: Counter[int] = field(default_factory=Counter)
    pair_violations: int = 0
    rate_violations: int = 0
    duplicate_callback_data: int = 0
    duplicate_bodies: int = 0
    marked_read: int = 0
    inbound: int = 0

    def as_json(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "refused": {str(k): v for k, v in sorted(self.refused.items())},
                "failed": {str(k): v for k, v in sorted(self.failed.items())},
                "pair_violations": self.pair_violations, "rate_violations": self.rate_violations,
                "duplicates": {"callback_data": self.duplicate_callback_data, "bodies": self.duplicate_bodies},
                "marked_read": self.marked_read, "inbound": self.inbound}


@dataclass
class SimulatorState:
    access_tokens: set[str] = field(default_factory=set)  # accepted for every number, besides each number's own
    media: dict[str, StoredMedia] = field(default_factory=dict)
    # Fault injection on Graph requests: the next N answer 500 / media downloads come back corrupted.
    fail_next: int = 0
    corrupt_next: int = 0
    requests: deque[str] = field(default_factory=lambda: deque(maxlen=5000))
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(900_000_000_000_001))

    customers: dict[str, Customer] = field(default_factory=dict)
    messages: dict[str, MessageRecord] = field(default_factory=dict)
    conversations: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (pnid, wa_id) -> ids
    last_inbound: dict[tuple[str, str], float] = field(default_factory=dict)  # customer's own timestamp
    templates: dict[str, TemplateRecord] = field(default_factory=dict)
    deleted_template_names: dict[tuple[str, str], float] = field(default_factory=dict)  # (waba, name) -> when
    faults: deque[SendFault] = field(default_factory=deque)
    stats: dict[str, NumberStats] = field(default_factory=dict)
    duplicates: deque[dict[str, str]] = field(default_factory=lambda: deque(maxlen=200))
    seen_callback_data: dict[tuple[str, str], str] = field(default_factory=dict)
    seen_bodies: dict[tuple[str, str], str] = field(default_factory=dict)

    def add_media(self, content: bytes, mime_type: str, media_id: str | None = None, *,
                  owner: str | None = None, filename: str | None = None) -> str:
        media_id = media_id or str(next(self._ids))
        self.media[media_id] = StoredMedia(content, mime_type, owner, filename)
        return media_id

    def new_media_id(self) -> str:
        media_id = numeric_id()
        while media_id in self.media:
            media_id = numeric_id()
        return media_id

    def stats_of(self, phone_number_id: str) -> NumberStats:
        return self.stats.setdefault(phone_number_id, NumberStats())

    def record(self, message: MessageRecord) -> None:
        self.messages[message.id] = message
        self.conversations.setdefault((message.phone_number_id, message.wa_id), []).append(message.id)

    def conversation(self, phone_number_id: str, wa_id: str) -> list[MessageRecord]:
        return [self.messages[i] for i in self.conversations.get((phone_number_id, wa_id), [])]

    def templates_of(self, waba_id: str) -> list[TemplateRecord]:
        return [t for t in self.templates.values() if t.waba_id == waba_id]

    def find_template(self, waba_id: str, name: str, language: str) -> TemplateRecord | None:
        return next((t for t in self.templates.values()
                     if t.waba_id == waba_id and t.name == name and t.language == language), None)

    def clear(self) -> None:
        """Forget everything the simulation produced; the accepted access tokens stay."""
        for store in (self.media, self.customers, self.messages, self.conversations, self.last_inbound,
                      self.templates, self.deleted_template_names, self.stats, self.seen_callback_data,
                      self.seen_bodies):
            store.clear()
        self.faults.clear()
        self.fail_next = self.corrupt_next = 0
        self.duplicates.clear()
        self.requests.clear()

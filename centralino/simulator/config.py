"""What a simulator is configured with: business numbers, status delays, limits, retries, templates."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

from centralino.simulator import defaults

PairMode = Literal["strict", "burst", "record"]


@dataclass(frozen=True)
class BusinessNumber:
    """One WhatsApp business number of the simulated Meta app."""

    phone_number_id: str
    waba_id: str
    display_phone_number: str
    access_token: str
    app_secret: str
    webhook_url: str | None = None  # where signed webhooks are POSTed; None: nowhere (media-only use)
    verified_name: str = defaults.DEMO_VERIFIED_NAME
    mps: int | None = None  # overrides SimulatorConfig.mps for this number


@dataclass(frozen=True)
class StatusDelays:
    """Seconds from acceptance to `sent`, from `sent` to `delivered`, from `delivered` to `read`.

    `read=None`: customers read only on demand (control API or the phones page)."""

    sent: float = defaults.DEFAULT_STATUS_DELAYS[0]
    delivered: float = defaults.DEFAULT_STATUS_DELAYS[1]
    read: float | None = defaults.DEFAULT_STATUS_DELAYS[2]

    @classmethod
    def parse(cls, text: str) -> StatusDelays:
        """`"0.05,0.2,0.5"`; a `-` for read means read only on demand."""
        parts = [p.strip() for p in text.split(",")]
        if len(parts) != 3:
            raise ValueError("status delays are three comma-separated seconds: sent,delivered,read")
        sent, delivered = float(parts[0]), float(parts[1])
        read = None if parts[2] in ("-", "", "none") else float(parts[2])
        if min(sent, delivered, read or 0.0) < 0:
            raise ValueError("status delays cannot be negative")
        return cls(sent, delivered, read)


@dataclass(frozen=True)
class PairRate:
    """Meta's limit of about one message per 6 s to the same user.

    strict: a second message inside the interval is refused (131056);
    burst: like Meta, up to `burst` messages borrow from the future, then 131056;
    record: never refused, only counted in the stats."""

    interval: float = defaults.DEFAULT_PAIR_INTERVAL
    mode: PairMode = "burst"
    burst: int = 45


@dataclass(frozen=True)
class WebhookRetry:
    """Failed webhook POSTs (connection error, non-2xx) are retried with exponential backoff."""

    first_delay: float = 1.0
    max_delay: float = 60.0
    give_up_after: float = 7 * 24 * 3600.0  # Meta's 7 days; then dropped, logged and counted
    timeout: float = 10.0

    def delay_after(self, attempts: int) -> float:
        """Seconds to wait after the `attempts`-th failed POST: doubling from first_delay, capped."""
        return float(min(self.first_delay * 2 ** max(attempts - 1, 0), self.max_delay))


@dataclass(frozen=True)
class SimulatorConfig:
    numbers: tuple[BusinessNumber, ...] = ()
    delays: StatusDelays = field(default_factory=StatusDelays)
    mps: int = defaults.DEFAULT_MPS
    pair_rate: PairRate = field(default_factory=PairRate)
    window_seconds: float = defaults.WINDOW_SECONDS
    unreachable: frozenset[str] = frozenset()  # wa_ids not on WhatsApp: sends fail with 131026
    graph_versions: frozenset[str] | None = None  # None: any `vNN.N`
    template_review_delay: float | None = 1.0  # None: templates stay PENDING until the control API decides
    templates: tuple[Mapping[str, Any], ...] = (defaults.HELLO_WORLD,)  # seeded APPROVED in every WABA
    webhook_retry: WebhookRetry = field(default_factory=WebhookRetry)
    webhook_concurrency: int = 16
    webhook_batch_max: int = 1  # > 1: updates that queue up are merged into POSTs of up to this many
    public_url: str | None = None  # where the simulator is reachable, for media URLs; None: from the request

    def number(self, phone_number_id: str) -> BusinessNumber | None:
        return next((n for n in self.numbers if n.phone_number_id == phone_number_id), None)

    def mps_of(self, number: BusinessNumber) -> int:
        return number.mps or self.mps

    @classmethod
    def demo(cls, webhook_url: str | None = defaults.DEFAULT_WEBHOOK_URL, **overrides: Any) -> SimulatorConfig:
        """The demo business number (the values `centralino demo` configures its channel with)."""
        number = BusinessNumber(
            phone_number_id=defaults.DEMO_PNID, waba_id=defaults.DEMO_WABA,
            display_phone_number=defaults.DEMO_DISPLAY, access_token=defaults.DEMO_ACCESS_TOKEN,
            app_secret=defaults.DEMO_APP_SECRET, webhook_url=webhook_url,
        )
        return cls(**{"numbers": (number,), "templates": defaults.DEMO_TEMPLATES, **overrides})

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> SimulatorConfig:
        """Build from JSON-like data (a `--config` file): keys as the dataclass fields."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown simulator settings: {', '.join(sorted(unknown))}")
        values: dict[str, Any] = dict(data)
        if "numbers" in values:
            values["numbers"] = tuple(BusinessNumber(**n) for n in values["numbers"])
        if isinstance(values.get("delays"), str):
            values["delays"] = StatusDelays.parse(values["delays"])
        elif isinstance(values.get("delays"), Mapping):
            values["delays"] = StatusDelays(**values["delays"])
        if isinstance(values.get("pair_rate"), Mapping):
            values["pair_rate"] = PairRate(**values["pair_rate"])
        if isinstance(values.get("webhook_retry"), Mapping):
            values["webhook_retry"] = WebhookRetry(**values["webhook_retry"])
        for key in ("unreachable", "graph_versions"):
            if values.get(key) is not None:
                values[key] = frozenset(values[key])
        if "templates" in values:
            values["templates"] = tuple(values["templates"])
        return cls(**values)

    @classmethod
    def from_file(cls, path: str | Path) -> SimulatorConfig:
        return cls.from_mapping(json.loads(Path(path).read_text()))

    def with_changes(self, **changes: Any) -> SimulatorConfig:
        return replace(self, **changes)

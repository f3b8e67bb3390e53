"""Settings, read from the environment (prefix CENTRALINO_) and from `.env`.

Every setting is documented in docs/configuration.md; keep the two in agreement.
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# Published in the repository: usable only in demo/dev mode (see Settings.check_secrets).
DEMO_SECRET_KEY = "centralino-demo-secret-key-change-me"  # noqa: S105
DEMO_API_TOKEN = "demo-token"  # noqa: S105
DEMO_CALLBACK_SECRET = "centralino-demo-callback-secret"  # noqa: S105


class Mode(StrEnum):
    DEMO = "demo"
    DEV = "dev"
    PRODUCTION = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CENTRALINO_", env_file=".env", extra="ignore")

    mode: Mode = Mode.DEMO
    database_url: str = "sqlite:///var/centralino.db"
    redis_url: str | None = None
    media_dir: Path = Path("var/media")
    secret_key: SecretStr = SecretStr(DEMO_SECRET_KEY)
    api_token: SecretStr = SecretStr(DEMO_API_TOKEN)
    host: str = "127.0.0.1"
    port: int = 8000
    run_workers: bool = True
    migrate_on_start: bool = True
    # Group commit of webhook deliveries: how many at most per transaction, and how long the
    # writer waits for more once one has arrived (the latency a request pays for throughput).
    ingest_batch_max: int = Field(default=500, ge=1)
    ingest_batch_wait_ms: float = Field(default=0.0, ge=0)
    worker_batch: int = Field(default=100, ge=1)
    worker_poll_s: float = Field(default=1.0, gt=0)
    # A batch of deliveries costs ~20 statements whatever its size: woken for every stored webhook, a worker
    # would run many tiny batches. A new batch starts at most this often unless the last one was full.
    delivery_batch_interval_ms: float = Field(default=25.0, ge=0)
    # How long a worker holds a claimed delivery before another may take it (a crashed worker's
    # deliveries are picked up again after this).
    delivery_lease_s: float = Field(default=60.0, gt=0)
    media_max_attempts: int = Field(default=8, ge=1)
    graph_base_url: str = "https://graph.facebook.com"
    graph_version: str = "v23.0"
    # Outbound sending (docs/outbound.md). Messages per second per number; a channel's own
    # `messages_per_second` (config) overrides it. Meta: 80 by default, up to 1,000 when upgraded.
    sender_default_mps: float = Field(default=80.0, gt=0, le=1000)
    # Sends are paced this fraction below a number's limit: requests that leave on time can still reach
    # Meta bunched up (network, the provider's own queues), and Meta counts arrivals (130429 above it).
    sender_rate_margin: float = Field(default=0.02, ge=0, lt=0.5)
    # At most one message per this many seconds to the same customer (Meta's pair rate limit); 0 = off.
    sender_pair_interval_s: float = Field(default=6.0, ge=0)
    sender_max_attempts: int = Field(default=8, ge=1)
    sender_backoff_base_s: float = Field(default=2.0, gt=0)
    sender_backoff_cap_s: float = Field(default=300.0, gt=0)
    # A send whose outcome is unknown (crash or timeout mid-call) waits this long for a status webhook
    # naming it before it is sent again.
    sender_reconcile_window_s: float = Field(default=60.0, gt=0)
    # Sends in flight at once per process: about rate x the Graph API's latency (1,000/s at ~100 ms).
    sender_concurrency: int = Field(default=128, ge=1)
    # How long an attempt in flight (and a channel's sender lease) stays with its worker.
    outbox_lease_s: float = Field(default=60.0, gt=0)

    # Users and access (docs/access.md). A session ends this long after sign-in whatever happens, or
    # after this long without a request (the idle timeout slides with use).
    session_lifetime_s: float = Field(default=12 * 3600.0, gt=0)
    session_idle_timeout_s: float = Field(default=2 * 3600.0, gt=0)
    # The session cookie's Secure flag: unset = when the request came over https (behind a proxy, run
    # uvicorn with --proxy-headers); true in production behind TLS termination that hides the scheme.
    session_cookie_secure: bool | None = None
    # Sign-in rate limit: this many failed sign-ins per email and IP address within the window -> 429.
    sign_in_max_failures: int = Field(default=5, ge=1)
    sign_in_window_s: float = Field(default=900.0, gt=0)
    # argon2id cost (RFC 9106's second recommendation by default). Stored hashes made with other
    # parameters are upgraded at their owner's next sign-in.
    password_hash_time_cost: int = Field(default=3, ge=1)
    password_hash_memory_kib: int = Field(default=65536, ge=8)

    # Templates (docs/templates.md): a send without a language goes in the customer's language, its base
    # language (en_US -> en), then this one.
    template_default_language: str = "it"

    # Consent (docs/consent.md). Purposes whose business-initiated messages need a recorded opt-in (the
    # others go unless the customer opted out); whole-message keywords per language (JSON in the
    # environment); template quick-reply payloads that mean opt-out; the confirmation sent per language.
    consent_opt_in_required: list[str] = ["marketing"]
    consent_opt_out_keywords: dict[str, list[str]] | None = None  # None: domain/consent.py defaults
    consent_opt_in_keywords: dict[str, list[str]] | None = None
    consent_opt_out_payloads: list[str] = ["OPT_OUT", "STOP", "STOP_MARKETING", "STOP_PROMOTIONS", "UNSUBSCRIBE"]
    consent_opt_out_confirmation: dict[str, str] = {
        "it": "Ok, non riceverai più messaggi promozionali. Scrivi START per iscriverti di nuovo.",
        "en": "Done: you will not receive promotional messages any more. Write START to subscribe again."}
    consent_opt_in_confirmation: dict[str, str] = {
        "it": "Grazie, sei di nuovo iscritto ai nostri messaggi promozionali. Scrivi STOP per annullare.",
        "en": "Thanks, you are subscribed to our promotional messages again. Write STOP to unsubscribe."}
    consent_default_language: str = "it"

    # Transactional notifications (docs/notifications.md). Status callbacks are signed with
    # callback_secret (X-Centralino-Signature: sha256=<hex HMAC of the body>) and retried with
    # exponential backoff and jitter, given up after callback_max_attempts. notification_channel_id:
    # the WhatsApp channel used when a request names none (unset: the only one).
    callback_secret: SecretStr = SecretStr(DEMO_CALLBACK_SECRET)
    callback_max_attempts: int = Field(default=8, ge=1)
    callback_backoff_base_s: float = Field(default=5.0, gt=0)
    callback_backoff_cap_s: float = Field(default=3600.0, gt=0)
    callback_timeout_s: float = Field(default=10.0, gt=0)
    notification_channel_id: int | None = None
    verification_max_attempts: int = Field(default=5, ge=1, le=20)
    # Campaigns (docs/campaigns.md): the daily messaging tier a new campaign counts against, per channel over
    # a rolling 24 h (250 | 1k | 10k | 100k | unlimited: the number's tier at Meta).
    campaign_default_tier: str = Field(default="1k", pattern=r"^(250|1k|10k|100k|unlimited)$")
    # Routing (docs/routing.md): how often the router looks again without being woken (offer timeouts,
    # relaxation), the most items one round takes, the capacity an agent gets on first going online.
    routing_poll_s: float = Field(default=1.0, gt=0)
    routing_batch: int = Field(default=500, ge=1, le=10000)
    routing_default_capacity: dict[str, int] = Field(default_factory=lambda: {"whatsapp": 5})
    # Service levels and reports (docs/service-levels.md): the time zone of report dates and hours, how often
    # SLA timers are evaluated, when a contact counts as abandoned, and the CSAT survey after a resolution
    # (off unless enabled; outside the 24-h window it goes as csat_template_name, refused when unset).
    reports_time_zone: str = "Europe/Rome"
    sla_tick_s: float = Field(default=2.0, gt=0)
    abandoned_after_s: int = Field(default=24 * 3600, ge=60)
    service_default_language: str = "it"
    csat_enabled: bool = False
    csat_style: str = Field(default="list", pattern=r"^(list|buttons)$")
    csat_question: dict[str, str] = {
        "it": "Come valuti l'assistenza che hai ricevuto?", "en": "How would you rate the help you received?"}
    csat_template_name: str | None = None
    # The virtual agent (docs/bot.md): the sentence encoder models are trained with (use | tfidf | e5), how
    # often the bot worker looks for pending turns without being woken, how long a worker holds a turn it took,
    # how many turns one round takes, and how often a turn is tried before it is failed and handed to people.
    bot_encoder: str = Field(default="use", pattern=r"^(use|tfidf|e5)$")
    bot_poll_s: float = Field(default=2.0, gt=0)
    bot_lease_s: float = Field(default=60.0, gt=0)
    bot_batch: int = Field(default=20, ge=1, le=1000)
    bot_max_attempts: int = Field(default=3, ge=1)
    bot_concurrency: int = Field(default=4, ge=1, le=64)
    # Scheduled retraining: a new model version at most this often, and only when examples were added since the
    # last one (0 = only on demand, "train now"); the activation gate still decides whether it answers.
    bot_retrain_interval_s: float = Field(default=0.0, ge=0)

    def check_secrets(self) -> list[str]:
        """Problems that forbid starting outside demo/dev mode (empty list = fine)."""
        if self.mode in (Mode.DEMO, Mode.DEV):
            return []
        problems = []
        key = self.secret_key.get_secret_value()
        if key == DEMO_SECRET_KEY or len(key) < 32:
            problems.append("CENTRALINO_SECRET_KEY must be set to a random string of at least 32 characters")
        token = self.api_token.get_secret_value()
        if token == DEMO_API_TOKEN or len(token) < 24:
            problems.append("CENTRALINO_API_TOKEN must be set to a random string of at least 24 characters")
        callback = self.callback_secret.get_secret_value()
        if callback == DEMO_CALLBACK_SECRET or len(callback) < 24:
            problems.append("CENTRALINO_CALLBACK_SECRET (signs status callbacks to the business's systems) must be set "
                            "to a random string of at least 24 characters")
        return problems


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()

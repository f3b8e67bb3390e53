"""Tables of the virtual agent (issue 8, docs/bot.md): intents and their examples, dialog flows, the
business's services, trained model versions, the bot's conversations and turns, and learning candidates.

Same metadata as storage/tables.py; schema changes go through Alembic (0017_bot.py)."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from centralino.storage.tables import metadata
from centralino.storage.types import Id, Json, UTCDateTime

bot_settings = Table(
    "bot_settings",
    metadata,
    # Where the bot answers: one row per channel (no row or enabled false: conversations route straight to
    # queues as before). The rephrase limit and the fallback texts are per channel too.
    Column("channel_id", Id, ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True),
    Column("enabled", Boolean, nullable=False, default=False),
    Column("default_language", String(8), nullable=False, default="it"),
    Column("rephrase_limit", Integer, nullable=False, default=1),  # below threshold: ask again this often
    Column("texts", Json, nullable=False, default=dict),  # {"rephrase": {"it": …, "en": …}, "handoff": …}
    Column("updated_at", UTCDateTime, nullable=False),
)

bot_intents = Table(
    "bot_intents",
    metadata,
    # What a customer may want. automation: auto (the bot answers) | suggest (the agent sends the bot's
    # answer with one click) | human (always handed off); each acts only at or above `threshold`.
    Column("id", Id, primary_key=True),
    Column("name", String(64), nullable=False, unique=True),  # stable key: "order_status"
    Column("description", Text, nullable=False, default=""),
    Column("automation", String(16), nullable=False, default="suggest"),
    Column("threshold", Float, nullable=False, default=0.8),
    Column("answers", Json, nullable=False, default=dict),  # {"it": "…", "en": "…"}: the answer when no flow
    Column("flow_id", Id, ForeignKey("bot_flows.id", ondelete="SET NULL")),  # a dialog this intent starts
    Column("enabled", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

bot_examples = Table(
    "bot_examples",
    metadata,
    # Labelled training text. split: train | eval (held back to judge a retrained model; fixed when added,
    # from a hash of the text, so versions are compared on the same examples).
    Column("id", Id, primary_key=True),
    Column("intent_id", Id, ForeignKey("bot_intents.id", ondelete="CASCADE"), nullable=False),
    Column("text", Text, nullable=False),
    Column("language", String(8)),
    Column("split", String(8), nullable=False, default="train"),
    Column("source", String(16), nullable=False),  # seed | ui | import | agent (a labelled candidate)
    Column("created_by", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("intent_id", "text"),
    Index("ix_bot_examples_intent", "intent_id"),
)

bot_flows = Table(
    "bot_flows",
    metadata,
    # A dialog as data (bot/dialog): steps, slots, validation, branches, endings. `definition` is the parsed
    # form; `source` keeps the YAML as the business wrote it (comments included).
    Column("id", Id, primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("definition", Json, nullable=False),
    Column("source", Text, nullable=False, default=""),
    Column("version", Integer, nullable=False, default=1),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

bot_services = Table(
    "bot_services",
    metadata,
    # An on-demand service: an HTTP call to the business's systems (bot/actions). The auth header's value is
    # a secret: stored encrypted with the channel SecretBox, never returned by the API.
    Column("id", Id, primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("method", String(8), nullable=False, default="GET"),
    Column("url", Text, nullable=False),  # a template: "https://shop.example/orders/{{ order_number }}"
    Column("auth_header", String(64)),  # e.g. "Authorization"
    Column("auth_secret", Text),  # encrypted value of that header
    Column("request_template", Text),  # JSON body template (POST/PUT), rendered in a sandbox
    Column("response_mapping", Json, nullable=False, default=dict),  # {"slot": "json.path"}
    Column("timeout_s", Float, nullable=False, default=5.0),
    Column("retries", Integer, nullable=False, default=1),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

bot_models = Table(
    "bot_models",
    metadata,
    # Trained model versions. state: candidate (trained, not judged) | active (the one answering; at most
    # one) | retired (was active) | refused (worse than the active one on the eval split).
    Column("id", Id, primary_key=True),
    Column("version", Integer, nullable=False, unique=True),
    Column("state", String(16), nullable=False),
    Column("encoder", String(32), nullable=False),
    Column("blob", LargeBinary, nullable=False),  # bot/nlu's own format (arrays + JSON, never pickle)
    Column("metrics", Json, nullable=False, default=dict),  # accuracy, per-intent precision/coverage, counts
    Column("trained_examples", Integer, nullable=False, default=0),
    Column("reason", Text),  # why refused / who activated or rolled back
    Column("trained_by", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("activated_at", UTCDateTime),
)

bot_sessions = Table(
    "bot_sessions",
    metadata,
    # The bot's hold on a conversation. state: active (the bot owns it) | handed_off | ended. While active the
    # router leaves the conversation alone; once handed off the bot never speaks until a new session.
    Column("conversation_id", Id, ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("language", String(8)),
    Column("flow_id", Id, ForeignKey("bot_flows.id", ondelete="SET NULL")),
    Column("dialog", Json, nullable=False, default=dict),  # the dialog engine's state (step, slots, retries)
    Column("rephrased", Integer, nullable=False, default=0),  # unsure answers in a row
    Column("intent", String(64)),  # last detected
    Column("entities", Json, nullable=False, default=list),
    Column("summary", Json, nullable=False, default=dict),  # at handoff: intent, language, entities, steps
    # Out of hours (a closed queue handed the conversation to the bot, conversation.handed_to_bot): the bot holds
    # it, queue item and all, until the queue opens (then it hands over with a summary). Null: an ordinary session.
    Column("held_until", UTCDateTime),
    Column("started_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_bot_sessions_state", "state"),
)

bot_turns = Table(
    "bot_turns",
    metadata,
    # One inbound message the bot must answer: written with the message (pending) in the inbound transaction,
    # so a crash never loses it; the bot worker takes pending turns and records what it decided.
    # decision: answered | suggested | dialog | rephrase | handoff | ignored (a human owns it by then)
    Column("id", Id, primary_key=True),
    Column("message_id", Id, ForeignKey("messages.id", ondelete="CASCADE"), nullable=False, unique=True),
    Column("conversation_id", Id, ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False),
    Column("state", String(16), nullable=False),  # pending | done | failed
    Column("intent", String(64)),
    Column("confidence", Float),
    Column("language", String(8)),
    Column("entities", Json, nullable=False, default=list),
    Column("decision", String(16)),
    Column("suggestion", Text),  # suggest: the answer offered to the agent
    Column("reply_message_id", Id, ForeignKey("messages.id", ondelete="SET NULL")),
    Column("model_version", Integer),
    Column("error", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("done_at", UTCDateTime),
    # The bot worker's lease (workers/bot.py): who took the turn until when; a worker that dies lets it lapse
    # and another takes the turn again (attempts counts the takes; too many: failed and handed off).
    Column("attempts", Integer, nullable=False, default=0),
    Column("claimed_by", String(64)),
    Column("claimed_until", UTCDateTime),
    Index("ix_bot_turns_pending", "state", "id"),
    Index("ix_bot_turns_conversation", "conversation_id", "id"),
)

bot_candidates = Table(
    "bot_candidates",
    metadata,
    # Continuous learning: a message the bot was unsure about (reason unsure) or the first customer message of
    # a conversation an agent resolved (reason resolved). An agent confirms or picks the intent in one click;
    # a labelled candidate becomes a bot_examples row (source agent).
    Column("id", Id, primary_key=True),
    Column("message_id", Id, ForeignKey("messages.id", ondelete="CASCADE"), nullable=False, unique=True),
    Column("text", Text, nullable=False),
    Column("language", String(8)),
    Column("reason", String(16), nullable=False),
    Column("predicted_intent", String(64)),
    Column("confidence", Float),
    Column("state", String(16), nullable=False),  # pending | labelled | dismissed
    Column("label_intent_id", Id, ForeignKey("bot_intents.id", ondelete="SET NULL")),
    Column("labelled_by", String(64)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("labelled_at", UTCDateTime),
    Index("ix_bot_candidates_state", "state", "id"),
)

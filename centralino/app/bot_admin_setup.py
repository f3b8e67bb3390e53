"""Wiring the bot's administration into a process (services.py calls install_bot_admin): one BotModels per
process (the runtime reads its active model through it too), the intents, flows and services use cases, and
learning with its retraining schedule."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine

from centralino.app.bot_admin import BotAdmin
from centralino.app.bot_admin_flows import BotFlowsServices
from centralino.app.bot_learning import BotLearning
from centralino.app.bot_models import BotModels
from centralino.config import Settings
from centralino.events.bus import EventBus
from centralino.storage.channels import SecretBox


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class BotAdministration:
    models: BotModels  # training, the activation gate, rollback; active() for the runtime
    intents: BotAdmin  # intents, examples, import/export, the per-intent report
    flows: BotFlowsServices  # dialog flows and on-demand services
    learning: BotLearning  # candidates, train now, scheduled retraining


def install_bot_admin(settings: Settings, engine: Engine, bus: EventBus, box: SecretBox,
                      models: BotModels | None = None, clock: Callable[[], datetime] = _utcnow) -> BotAdministration:
    """`models`: the runtime's BotModels (services.bot.models), so a version trained or activated here answers in
    this process at once; other processes notice within ACTIVE_TTL_S."""
    models = models or BotModels(engine, bus, clock, settings.bot_encoder)
    return BotAdministration(
        models=models, intents=BotAdmin(engine, bus, clock, models),
        flows=BotFlowsServices(engine, bus, box, clock),
        learning=BotLearning(engine, bus, clock, models, retrain_interval_s=settings.bot_retrain_interval_s))

"""The virtual agent wired together (services.py: `services.bot`): the model store, the in-transaction ownership
listeners (installed before routing's), the runtime the bot worker drives, and where the bot answers (one
bot_settings row per channel). docs/bot.md."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Engine, select

from centralino.app.bot import BotRuntime, RuntimeSettings
from centralino.app.bot_admin import check_manager
from centralino.app.bot_dialogs import Dialogs
from centralino.app.bot_models import BotModels
from centralino.app.bot_ownership import BotOwnership
from centralino.app.outbound import OutboundService
from centralino.app.unit_of_work import unit_of_work
from centralino.app.uploads import UploadStore
from centralino.domain.access import Principal, Role
from centralino.errors import Forbidden, InvalidInput, NotFound
from centralino.events.bus import EventBus
from centralino.storage import bot as repo
from centralino.storage.channels import SecretBox
from centralino.storage.tables import channels

TEXT_KEYS = ("rephrase", "handoff", "service_error", "case_opened", "closed", "closed_no_time")
TEXT_MAX = 1000


def _utcnow() -> datetime:
    return datetime.now(UTC)


class BotChannels:
    """Where the bot answers: enabled per channel, its default language, how often it asks to rephrase, and
    its own fallback texts ({"rephrase": {"it": …, "en": …}, "handoff": …})."""

    def __init__(self, engine: Engine, bus: EventBus | None, ownership: BotOwnership,
                 clock: Callable[[], datetime] = _utcnow) -> None:
        self.engine = engine
        self.bus = bus
        self.ownership = ownership
        self.clock = clock

    def get(self, channel_id: int) -> dict[str, Any]:
        with self.engine.connect() as conn:
            found = repo.channel_settings(conn, channel_id)
        return found or {"channel_id": channel_id, "enabled": False, "default_language": "it", "rephrase_limit": 1,
                         "texts": {}}

    def listing(self, principal: Principal) -> list[dict[str, Any]]:
        """Every channel (id, name, kind) with the bot's settings on it, for supervisors and administrators."""
        check_manager(principal)
        with self.engine.connect() as conn:
            rows = conn.execute(select(channels.c.id, channels.c.name, channels.c.kind).order_by(channels.c.id))
            found = [dict(r._mapping) for r in rows]
        return [{**self.get(c["id"]), "name": c["name"], "kind": c["kind"]} for c in found]

    def do_configure(self, principal: Principal, channel_id: int, changes: Mapping[str, Any]) -> dict[str, Any]:
        if principal.role not in (Role.SUPERVISOR, Role.ADMIN):
            raise Forbidden("only supervisors and administrators configure the bot", code="bot.forbidden")
        values = check_channel_settings(changes)
        with unit_of_work(self.engine, self.bus) as uow:
            if uow.conn.execute(select(channels.c.id).where(channels.c.id == channel_id)).first() is None:
                raise NotFound(f"no channel {channel_id}", field="channel_id")
            repo.save_settings(uow.conn, channel_id, values, self.clock())
            uow.emit("bot.settings_changed", channel_id=channel_id, changes=sorted(values), actor=principal.actor)
        self.ownership.forget()
        return self.get(channel_id)


def check_channel_settings(changes: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(changes) - {"enabled", "default_language", "rephrase_limit", "texts"})
    if unknown:
        raise InvalidInput(f"unknown setting {unknown[0]}", field=unknown[0])
    values: dict[str, Any] = {}
    if "enabled" in changes:
        if not isinstance(changes["enabled"], bool):
            raise InvalidInput("enabled is true or false", field="enabled")
        values["enabled"] = changes["enabled"]
    if "default_language" in changes:
        language = changes["default_language"]
        if not isinstance(language, str) or not 2 <= len(language) <= 8 or not language.isalpha():
            raise InvalidInput("a language code like it or en", field="default_language")
        values["default_language"] = language.lower()
    if "rephrase_limit" in changes:
        limit = changes["rephrase_limit"]
        if not isinstance(limit, int) or isinstance(limit, bool) or not 0 <= limit <= 5:
            raise InvalidInput("rephrase_limit is a whole number from 0 to 5", field="rephrase_limit")
        values["rephrase_limit"] = limit
    if "texts" in changes:
        texts = changes["texts"]
        if not isinstance(texts, Mapping):
            raise InvalidInput("texts is an object of texts by language", field="texts")
        for key, by_language in texts.items():
            if key not in TEXT_KEYS:
                raise InvalidInput(f"texts are {', '.join(TEXT_KEYS)}", field=f"texts.{key}")
            if not isinstance(by_language, Mapping) or not all(
                    isinstance(v, str) and 0 < len(v) <= TEXT_MAX for v in by_language.values()):
                raise InvalidInput(f"texts by language, at most {TEXT_MAX} characters each", field=f"texts.{key}")
        values["texts"] = {k: dict(v) for k, v in texts.items()}
    return values


@dataclass
class Bot:
    models: BotModels  # trained versions, activation, the active model (app/bot_models.py)
    ownership: BotOwnership  # the in-transaction listeners (app/bot_ownership.py)
    runtime: BotRuntime  # answering pending turns (app/bot.py; driven by workers/bot.py)
    channels: BotChannels  # where the bot answers
    dialogs: Dialogs  # flows and service calls (app/bot_dialogs.py)


def install_bot(settings: Any, engine: Engine, bus: EventBus, box: SecretBox, outbound: OutboundService,
                routing: Callable[[], Any], cases: Callable[[], Any], *,
                clock: Callable[[], datetime] = _utcnow) -> Bot:
    """Subscribe the ownership listeners (before routing's: services.py) and build the runtime."""
    ownership = BotOwnership(clock)
    ownership.install(bus)
    models = BotModels(engine, bus, clock, encoder=settings.bot_encoder)
    # services answer within their own timeouts (bot_services.timeout_s); no redirects, as for callbacks
    dialogs = Dialogs(engine, box, httpx.Client(follow_redirects=False))
    runtime = BotRuntime(engine, bus, outbound, models, dialogs, UploadStore(engine, settings.media_dir),
                         routing=routing, cases=cases, clock=clock,
                         settings=RuntimeSettings(lease=timedelta(seconds=settings.bot_lease_s),
                                                  batch=settings.bot_batch, max_attempts=settings.bot_max_attempts))
    return Bot(models=models, ownership=ownership, runtime=runtime,
               channels=BotChannels(engine, bus, ownership, clock), dialogs=dialogs)

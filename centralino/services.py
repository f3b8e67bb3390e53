"""The long-lived parts of a process, built once from settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Engine

from centralino.app.channel_directory import ChannelDirectory
from centralino.app.inbound import InboundProcessor
from centralino.app.outbound import OutboundService
from centralino.config import Settings
from centralino.events.bus import EventBus
from centralino.storage.channels import SecretBox
from centralino.storage.db import make_engine, upgrade
from centralino.workers.inbound import DeliveryWorker


@dataclass
class Services:
    settings: Settings
    engine: Engine
    bus: EventBus
    box: SecretBox
    directory: ChannelDirectory
    processor: InboundProcessor
    delivery_worker: DeliveryWorker
    outbound: OutboundService  # sending: do_send, do_mark_read (app/outbound.py)
    extra: dict[str, object] = field(default_factory=dict)

    def dispose(self) -> None:
        self.engine.dispose()


def build_services(settings: Settings, *, migrate: bool | None = None) -> Services:
    if migrate if migrate is not None else settings.migrate_on_start:
        upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    bus = EventBus()
    box = SecretBox(settings.secret_key.get_secret_value())
    directory = ChannelDirectory(engine, box)
    processor = InboundProcessor(engine, directory, bus)
    worker = DeliveryWorker(engine, processor, batch=settings.worker_batch,
                            lease=timedelta(seconds=settings.delivery_lease_s))
    outbound = OutboundService(engine, directory, bus)
    return Services(settings, engine, bus, box, directory, processor, worker, outbound)

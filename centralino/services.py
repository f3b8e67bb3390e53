"""The long-lived parts of a process, built once from settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from centralino.app.admin import AdminService
from centralino.app.auth import AccessPolicy, AuthService
from centralino.app.automation import Automation
from centralino.app.automation_setup import install_automation
from centralino.app.bot_admin_setup import BotAdministration, install_bot_admin
from centralino.app.bot_setup import Bot, install_bot
from centralino.app.campaigns import CampaignService, install_campaigns
from centralino.app.case_updates import CaseUpdates
from centralino.app.cases_setup import Cases, install_cases
from centralino.app.channel_directory import ChannelDirectory
from centralino.app.consent import ConsentService
from centralino.app.consent_arrivals import install_consent
from centralino.app.contact_admin import ContactAdmin, install_contact_admin
from centralino.app.desk import DeskActions
from centralino.app.inbound import InboundProcessor
from centralino.app.notifications_setup import Notifications, install_notifications
from centralino.app.outbound import OutboundService
from centralino.app.passwords import Passwords
from centralino.app.routing_admin import RoutingAdmin, install_routing
from centralino.app.service_levels import ServiceLevels, install_service_levels
from centralino.app.template_send import TemplateSender
from centralino.app.templates import TemplateService
from centralino.app.timeline import TimelineWriter, install_timeline
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
    auth: AuthService  # sign-in, sessions, CSRF, API tokens (app/auth.py)
    admin: AdminService  # users, departments, API tokens (app/admin.py)
    desk: DeskActions  # notes, assignment, resolve/reopen, contact names (app/desk.py)
    extra: dict[str, object] = field(default_factory=dict)
    notifications: Notifications | None = None  # notifications, one-time codes, aliases (app/notifications_setup.py)
    templates: TemplateService | None = None  # template lifecycle and Meta's template webhooks (app/templates.py)
    template_sender: TemplateSender | None = None  # sending an approved template (app/template_send.py)
    consent: ConsentService | None = None  # the consent ledger: the send check, records, opt-outs (app/consent.py)
    campaigns: CampaignService | None = None  # paced campaigns: plan, run, progress, funnel (app/campaigns.py)
    routing: RoutingAdmin | None = None  # skills, presence, capacity, queues; .service routes (app/routing*.py)
    service_levels: ServiceLevels | None = None  # contacts, SLA timers, out-of-hours, CSAT (app/service_levels.py)
    automation: Automation | None = None  # when … if … then … rules, their log (app/automation.py)
    case_updates: CaseUpdates | None = None  # customers told of case status changes, status by number
    contact_admin: ContactAdmin | None = None  # merge, duplicates, CSV, GDPR, retention (app/contact_admin.py)
    cases: Cases | None = None  # cases, tasks, case types, work lists, case SLA (app/cases_setup.py)
    timeline: TimelineWriter | None = None  # the customer's and the case's story, one INSERT per transaction
    bot_admin: BotAdministration | None = None  # intents, flows, services, models, learning (app/bot_admin*.py)
    bot: Bot | None = None  # the virtual agent answering: ownership listeners, runtime, channels (app/bot_setup.py)

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
    passwords = Passwords(time_cost=settings.password_hash_time_cost, memory_kib=settings.password_hash_memory_kib)
    policy = AccessPolicy(session_lifetime=timedelta(seconds=settings.session_lifetime_s),
                          session_idle_timeout=timedelta(seconds=settings.session_idle_timeout_s),
                          sign_in_max_failures=settings.sign_in_max_failures,
                          sign_in_window=timedelta(seconds=settings.sign_in_window_s))
    auth = AuthService(engine, passwords, bus, policy=policy, integration_token=settings.api_token.get_secret_value())
    admin = AdminService(engine, passwords, bus)
    services = Services(settings=settings, engine=engine, bus=bus, box=box, directory=directory, processor=processor,
                        delivery_worker=worker, outbound=outbound, auth=auth, admin=admin,
                        desk=DeskActions(engine, bus))
    # Each area wires its use cases and in-transaction listeners below, one line each (keep them in this order).
    services.templates = TemplateService.wired(engine, directory, bus)
    services.template_sender = TemplateSender(engine, directory, bus, outbound, settings.template_default_language)
    services.consent = install_consent(settings, bus, outbound)
    services.campaigns = install_campaigns(settings, engine, directory, bus, outbound.consent)
    services.notifications = install_notifications(settings, bus, services.template_sender)
    services.bot = install_bot(settings, engine, bus, box, outbound, lambda: services.routing,  # before routing
                               lambda: services.cases)
    services.routing = install_routing(settings, engine, bus)
    services.service_levels = install_service_levels(settings, bus, outbound, services.template_sender)
    services.contact_admin = install_contact_admin(settings, engine, bus, services.consent)
    services.automation, services.case_updates = install_automation(
        engine, bus, services.desk, outbound, services.template_sender, lambda: services.cases)
    services.cases = install_cases(engine, bus)
    services.bot_admin = install_bot_admin(settings, engine, bus, box, models=services.bot.models)
    services.timeline = install_timeline(bus, lambda: datetime.now(UTC))  # last: after every batch listener
    return services

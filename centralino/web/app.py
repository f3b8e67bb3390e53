"""The ASGI application: webhooks, the read API, and (in embedded mode) the workers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from centralino import __version__
from centralino.channels.registry import ADAPTERS
from centralino.config import Settings, get_settings
from centralino.events.relay import RedisRelay
from centralino.services import Services, build_services
from centralino.storage.group_commit import GroupCommitWriter
from centralino.web import access_log, admin, api, auth, errors, outbound, webhooks
from centralino.web import automation as automation_routes
from centralino.web import bot as bot_routes
from centralino.web import campaigns as campaign_routes
from centralino.web import cases as case_routes
from centralino.web import consent as consent_routes
from centralino.web import contacts_admin as contact_admin_routes
from centralino.web import demo_services as demo_service_routes
from centralino.web import notifications as notification_routes
from centralino.web import reports as report_routes
from centralino.web import routing as routing_routes
from centralino.web import template_send as template_send_routes
from centralino.web import templates as template_routes
from centralino.web import timeline as timeline_routes
from centralino.web.desk import actions as desk_actions
from centralino.web.desk import automation_pages as desk_automation_pages
from centralino.web.desk import bot_desk as desk_bot
from centralino.web.desk import bot_pages as desk_bot_pages
from centralino.web.desk import campaign_pages as desk_campaign_pages
from centralino.web.desk import case_forms as desk_case_forms
from centralino.web.desk import case_pages as desk_case_pages
from centralino.web.desk import consent_pages as desk_consent_pages
from centralino.web.desk import contact_admin_pages as desk_contact_admin_pages
from centralino.web.desk import contacts_api as desk_contacts
from centralino.web.desk import events_stream
from centralino.web.desk import notification_pages as desk_notification_pages
from centralino.web.desk import pages as desk_pages
from centralino.web.desk import quick_replies_api as desk_quick_replies
from centralino.web.desk import quick_reply_pages as desk_quick_reply_pages
from centralino.web.desk import report_pages as desk_report_pages
from centralino.web.desk import routing_pages as desk_routing_pages
from centralino.web.desk import sla_pages as desk_sla_pages
from centralino.web.desk import supervisor_pages as desk_supervisor_pages
from centralino.web.desk import template_pages as desk_template_pages
from centralino.web.desk import timeline_pages as desk_timeline_pages
from centralino.web.desk import work_pages as desk_work_pages
from centralino.web.desk.live import DeskEventHub
from centralino.workers.runtime import WorkerRuntime

log = logging.getLogger(__name__)


class CentralinoApp(FastAPI):
    """FastAPI, with provider webhooks (web/webhooks.py) and the live desk's event stream
    (web/desk/events_stream.py) answered ahead of the middleware stack."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith(webhooks.PREFIX):
            await webhooks.serve(self.state, scope, receive, send)
            return
        if scope["type"] == "http" and scope["path"] == events_stream.PATH:
            await events_stream.serve(self, scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_app(settings: Settings | None = None, services: Services | None = None,
               after_start: list[Callable[[], Coroutine[Any, Any, None]]] | None = None) -> CentralinoApp:
    """`after_start`: coroutines started once the service is up (the demo posts its traffic there)."""
    settings = settings or get_settings()
    problems = settings.check_secrets()
    if problems:
        raise SystemExit("refusing to start in production mode:\n- " + "\n- ".join(problems))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        access_log.quiet_machine_traffic()  # after uvicorn configured logging (web/access_log.py)
        svc = services or build_services(settings)
        svc.directory.refresh()
        runtime = WorkerRuntime(svc, svc.extra.get("http_client"))  # type: ignore[arg-type]
        writers = {
            kind: GroupCommitWriter(svc.engine, kind, settings.ingest_batch_max, settings.ingest_batch_wait_ms,
                                    on_commit=runtime.notify)
            for kind in ADAPTERS
        }
        for writer in writers.values():
            writer.start()
        app.state.services = svc
        app.state.writers = writers
        app.state.runtime = runtime
        desk_events = DeskEventHub(svc.engine)  # the desktop's live updates (web/desk/live.py)
        desk_events.start(svc.bus)
        app.state.desk_events = desk_events
        relay = None
        if settings.redis_url:  # other processes' events too (events/relay.py); before the workers start
            relay = RedisRelay(settings.redis_url, desk_events.hear)
            relay.start(svc.bus)
            svc.extra["event_relay"] = relay
        if settings.run_workers:
            runtime.start()
        background = [asyncio.create_task(hook()) for hook in after_start or []]
        log.info("centralino %s up (%s, workers %s)", __version__, svc.engine.dialect.name,
                 "on" if settings.run_workers else "off")
        try:
            yield
        finally:
            for task in background:
                task.cancel()
            # let them finish their own clean-up (the demo stops its simulator) before the workers go
            await asyncio.gather(*background, return_exceptions=True)
            if relay is not None:
                await relay.stop()
                svc.extra.pop("event_relay", None)
            await desk_events.stop()
            await runtime.stop()
            for writer in writers.values():
                await writer.stop()
            if services is None:
                svc.dispose()

    app = CentralinoApp(title="Centralino", version=__version__, lifespan=lifespan,
                        description="Omnichannel contact center, WhatsApp first. Read API; webhooks under /webhooks.")
    errors.install(app)
    app.include_router(contact_admin_routes.router)  # before desk_contacts: /contacts/duplicates is no id
    app.include_router(desk_contacts.router)
    app.include_router(timeline_routes.router)  # before api.router: /contacts/{id}/timeline
    app.include_router(api.router)
    app.include_router(outbound.router)
    app.include_router(campaign_routes.router)
    app.include_router(consent_routes.router)
    app.include_router(routing_routes.router)
    app.include_router(case_routes.router)
    app.include_router(automation_routes.router)
    app.include_router(bot_routes.router)
    app.include_router(template_send_routes.router)
    app.include_router(demo_service_routes.router)  # the demo flows' stand-in business systems (docs/bot.md)
    app.include_router(notification_routes.router)
    app.include_router(report_routes.router)
    app.include_router(desk_notification_pages.router)
    app.include_router(desk_campaign_pages.router)
    app.include_router(auth.router)
    app.include_router(admin.router)
    app.include_router(template_routes.router)
    app.include_router(desk_actions.router)
    app.include_router(desk_bot.api_router)  # the agent's side of the virtual agent (docs/bot.md)
    app.include_router(desk_bot.page_router)
    app.include_router(desk_pages.router)
    app.include_router(desk_consent_pages.router)
    app.include_router(desk_contact_admin_pages.router)
    app.include_router(desk_template_pages.router)
    app.include_router(desk_quick_replies.router)
    app.include_router(desk_quick_reply_pages.router)
    app.include_router(desk_report_pages.router)
    app.include_router(desk_supervisor_pages.router)
    app.include_router(desk_routing_pages.router)
    app.include_router(desk_sla_pages.router)
    app.include_router(desk_timeline_pages.router)
    app.include_router(desk_case_pages.router)
    app.include_router(desk_automation_pages.router)
    app.include_router(desk_bot_pages.router)
    app.include_router(desk_case_forms.router)
    app.include_router(desk_work_pages.router)
    app.mount("/desk/static", StaticFiles(directory=desk_pages.STATIC_DIR), name="desk_static")

    @app.get("/desk", include_in_schema=False)
    def desk_root() -> RedirectResponse:
        return RedirectResponse("/desk/", status_code=308)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app

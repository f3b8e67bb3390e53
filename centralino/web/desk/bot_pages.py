"""The virtual agent's pages for the business (/desk/bot/…): intents (with each one's precision and coverage at
its threshold, so automation is raised knowingly), one intent's examples and settings, import/export, flows (a
YAML editor and a read-only step view), services (secret write-only, a test call), models (train now, versions
with their metrics, activate/roll back), the channels the bot answers on, and learning candidates (label in one
click; agents too).

Server-rendered; static/bot_admin.js sends the forms to /api/v1/bot (CSRF header, as every desk page), which
checks them once and names the wrong field next to the form. Everything shown is escaped by the templates."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from centralino.app.bot_admin_flows import step_view
from centralino.app.bot_admin_setup import BotAdministration
from centralino.app.bot_models import reason_parts
from centralino.domain.access import Principal
from centralino.domain.bot_config import AUTOMATION_LEVELS
from centralino.errors import NotFound
from centralino.web.bot import bot_runtime
from centralino.web.desk.pages import _to_sign_in, page_principal, render
from centralino.web.desk.supervisor_pages import may_supervise
from centralino.web.principal import services

router = APIRouter(prefix="/desk/bot", include_in_schema=False)

SCRIPT = "bot_admin.js"
PAGE = 50


def _gated(request: Request, show: Callable[[Principal, BotAdministration], Response], *,
           agents: bool = False) -> Response:
    """The page `show` draws for the signed-in principal, or the page to answer instead: sign-in, or not found
    (no bot in this process, a role the page is not for, or a NotFound from the use cases)."""
    principal = page_principal(request)
    if principal is None:
        return _to_sign_in(request)
    bot = services(request).bot_admin
    if bot is not None and (agents or may_supervise(principal)):
        try:
            return show(principal, bot)
        except NotFound:
            pass
    return render(request, "not_found.html", status=404, principal=principal, script=None)


def _page(request: Request, template: str, principal: Principal, tab: str, **context: Any) -> Response:
    return render(request, template, principal=principal, script=SCRIPT, tab=tab,
                  manager=may_supervise(principal), **context)


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def model_reason(t: Callable[[str], str], reason: str | None) -> str:
    """Why a model version is in its state, in the page's language (t); a reason of another shape as stored."""
    parts = reason_parts(reason)
    if parts is None:
        return reason or ""
    code, values = parts
    text = t(f"botadm.mreason.{code}")
    for name, value in values.items():
        if name in ("new", "old"):  # accuracies: as the table's percentages, one decimal
            value = f"{float(value) * 100:.1f}%"
        text = text.replace("{" + name + "}", value)
    return text


@router.get("")
def bot_home(request: Request) -> Response:
    principal = page_principal(request)
    if principal is None:
        return _to_sign_in(request)
    return RedirectResponse("/desk/bot/intents" if may_supervise(principal) else "/desk/bot/candidates",
                            status_code=303)


@router.get("/intents")
def intents_page(request: Request) -> Response:
    def show(principal: Principal, bot: BotAdministration) -> Response:
        return _page(request, "bot_intents.html", principal, "intents", intents=bot.intents.intents(principal),
                     report=bot.intents.report(principal), percent=_percent, levels=AUTOMATION_LEVELS)
    return _gated(request, show)


@router.get("/intents/{intent_id}")
def intent_page(request: Request, intent_id: int, cursor: str | None = None) -> Response:
    def show(principal: Principal, bot: BotAdministration) -> Response:
        intent = bot.intents.intent(principal, intent_id)
        examples, next_cursor = bot.intents.examples(principal, intent_id, limit=PAGE, cursor=cursor)
        figures = bot.intents.report(principal)["intents"].get(intent["name"])
        return _page(request, "bot_intent.html", principal, "intents", intent=intent, examples=examples,
                     next_cursor=next_cursor, cursor=cursor, figures=figures, percent=_percent,
                     levels=AUTOMATION_LEVELS, flows=bot.flows.flows(principal))
    return _gated(request, show)


@router.get("/flows")
def flows_page(request: Request) -> Response:
    def show(principal: Principal, bot: BotAdministration) -> Response:
        return _page(request, "bot_flows.html", principal, "flows", flows=bot.flows.flows(principal))
    return _gated(request, show)


@router.get("/flows/{flow_id}")
def flow_page(request: Request, flow_id: int) -> Response:
    def show(principal: Principal, bot: BotAdministration) -> Response:
        flow = bot.flows.flow(principal, flow_id)
        return _page(request, "bot_flow.html", principal, "flows", flow=flow, steps=step_view(flow["definition"]))
    return _gated(request, show)


@router.get("/services")
def services_page(request: Request) -> Response:
    def show(principal: Principal, bot: BotAdministration) -> Response:
        return _page(request, "bot_services.html", principal, "services", services=bot.flows.services(principal))
    return _gated(request, show)


@router.get("/models")
def models_page(request: Request) -> Response:
    def show(principal: Principal, bot: BotAdministration) -> Response:
        return _page(request, "bot_models.html", principal, "models", versions=bot.learning.versions(principal),
                     percent=_percent, model_reason=model_reason)
    return _gated(request, show)


@router.get("/candidates")
def candidates_page(request: Request, cursor: str | None = None, state: str = "pending") -> Response:
    def show(principal: Principal, bot: BotAdministration) -> Response:
        shown = state if state in ("pending", "labelled", "dismissed") else "pending"
        items, next_cursor = bot.learning.candidates(principal, state=shown, limit=PAGE, cursor=cursor)
        return _page(request, "bot_candidates.html", principal, "candidates", candidates=items,
                     next_cursor=next_cursor, cursor=cursor, state=shown, intents=bot.intents.intents(principal),
                     percent=_percent)
    return _gated(request, show, agents=True)


@router.get("/channels")
def channels_page(request: Request) -> Response:
    def show(principal: Principal, _bot: BotAdministration) -> Response:
        return _page(request, "bot_channels.html", principal, "channels",
                     channels=bot_runtime(services(request)).channels.listing(principal))
    return _gated(request, show)

"""The virtual agent's administration API (docs/bot.md, "Administration pages"): intents and examples, the
intents file import/export, the per-intent report, flows, services (auth secret write-only), models (train now,
versions, activate, rollback), learning candidates, and the channels the bot answers on. Supervisors and
administrators; agents may list intents and candidates and label or dismiss candidates. Thin: app/bot_admin*.py,
app/bot_learning.py and app/bot_setup.py (channels) check."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse
from starlette.concurrency import run_in_threadpool

from centralino.app.bot_admin import check_manager
from centralino.app.bot_admin_flows import step_view
from centralino.app.bot_admin_setup import BotAdministration
from centralino.app.bot_setup import Bot as VirtualAgent
from centralino.errors import InvalidInput, NotFound
from centralino.web.api import Svc
from centralino.web.bot_schemas import (
    CandidatePage,
    ChannelBotIn,
    ChannelBotOut,
    ExampleIn,
    ExampleOut,
    ExamplePage,
    FlowEnabled,
    FlowIn,
    FlowOut,
    FlowSummary,
    ImportResult,
    IntentIn,
    IntentOut,
    LabelIn,
    LabelResult,
    ModelOut,
    Report,
    ServiceIn,
    ServiceOut,
    TestCall,
    TestCallResult,
    TrainResult,
)
from centralino.web.principal import CurrentPrincipal, current_principal

router = APIRouter(prefix="/api/v1/bot", dependencies=[Depends(current_principal)], tags=["bot"])

IMPORT_MAX_BYTES = 5_000_000
Limit = Annotated[int, Query(ge=1, le=200)]


def bot_admin(svc: Svc) -> BotAdministration:
    if svc.bot_admin is None:
        raise NotFound("the virtual agent is not available in this process")
    return svc.bot_admin


Bot = Annotated[BotAdministration, Depends(bot_admin)]


# --- intents and examples --------------------------------------------------------------------------------------

@router.get("/intents", response_model=list[IntentOut])
def list_intents(bot: Bot, principal: CurrentPrincipal) -> list[dict[str, Any]]:
    return bot.intents.intents(principal)


@router.post("/intents", status_code=201, response_model=IntentOut)
def create_intent(bot: Bot, principal: CurrentPrincipal, body: IntentIn) -> dict[str, Any]:
    return bot.intents.do_save_intent(principal, body.model_dump(exclude_unset=True))


@router.get("/intents/export", response_class=PlainTextResponse)
def export_intents(bot: Bot, principal: CurrentPrincipal,
                   format: Annotated[str, Query(pattern="^(yaml|json)$")] = "yaml") -> PlainTextResponse:
    """The intents file (what /intents/import reads back), as a download."""
    text = bot.intents.export(principal, format)
    media = "application/json" if format == "json" else "application/yaml"
    return PlainTextResponse(text, media_type=media,
                             headers={"Content-Disposition": f'attachment; filename="intents.{format}"'})


@router.post("/intents/import", response_model=ImportResult)
async def import_intents(bot: Bot, principal: CurrentPrincipal, request: Request) -> dict[str, int]:
    """The body is the intents file itself, JSON or YAML. All or nothing: the first wrong field is named
    (e.g. `intents[3].examples[0]`) and nothing changes."""
    check_manager(principal)
    raw = await request.body()
    if len(raw) > IMPORT_MAX_BYTES:
        raise InvalidInput(f"at most {IMPORT_MAX_BYTES} bytes", field="file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput("the file must be UTF-8 text", field="file") from exc
    result: dict[str, int] = await run_in_threadpool(bot.intents.do_import, principal, text)
    return result


@router.get("/intents/{intent_id}", response_model=IntentOut)
def get_intent(bot: Bot, principal: CurrentPrincipal, intent_id: int) -> dict[str, Any]:
    return bot.intents.intent(principal, intent_id)


@router.patch("/intents/{intent_id}", response_model=IntentOut)
def update_intent(bot: Bot, principal: CurrentPrincipal, intent_id: int, body: IntentIn) -> dict[str, Any]:
    return bot.intents.do_save_intent(principal, body.model_dump(exclude_unset=True), intent_id)


@router.delete("/intents/{intent_id}", status_code=204)
def delete_intent(bot: Bot, principal: CurrentPrincipal, intent_id: int) -> None:
    bot.intents.do_delete_intent(principal, intent_id)


@router.get("/intents/{intent_id}/examples", response_model=ExamplePage)
def list_examples(bot: Bot, principal: CurrentPrincipal, intent_id: int, limit: Limit = 50,
                  cursor: str | None = None) -> dict[str, Any]:
    """Newest first; pass `next` back as `cursor` for the following page."""
    items, next_cursor = bot.intents.examples(principal, intent_id, limit=limit, cursor=cursor)
    return {"items": items, "next": next_cursor}


@router.post("/intents/{intent_id}/examples", status_code=201, response_model=ExampleOut)
def add_example(bot: Bot, principal: CurrentPrincipal, intent_id: int, body: ExampleIn) -> dict[str, Any]:
    """The example is held back for evaluation or used for training by a hash of its text (`split`)."""
    return bot.intents.do_add_example(principal, intent_id, body.text, body.language)


@router.delete("/examples/{example_id}", status_code=204)
def remove_example(bot: Bot, principal: CurrentPrincipal, example_id: int) -> None:
    bot.intents.do_remove_example(principal, example_id)


@router.get("/report", response_model=Report)
def report(bot: Bot, principal: CurrentPrincipal) -> dict[str, Any]:
    """Per intent, on the active model's eval split: precision and coverage at the intent's threshold, and the
    thresholds that reach 95% and 98% precision (null: not reached on this data)."""
    return bot.intents.report(principal)


# --- flows -----------------------------------------------------------------------------------------------------

@router.get("/flows", response_model=list[FlowSummary])
def list_flows(bot: Bot, principal: CurrentPrincipal) -> list[dict[str, Any]]:
    return bot.flows.flows(principal)


def _flow_out(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "steps": step_view(row["definition"])}


@router.post("/flows", status_code=201, response_model=FlowOut)
def create_flow(bot: Bot, principal: CurrentPrincipal, body: FlowIn) -> dict[str, Any]:
    return _flow_out(bot.flows.do_save_flow(principal, body.source, enabled=body.enabled))


@router.get("/flows/{flow_id}", response_model=FlowOut)
def get_flow(bot: Bot, principal: CurrentPrincipal, flow_id: int) -> dict[str, Any]:
    return _flow_out(bot.flows.flow(principal, flow_id))


@router.put("/flows/{flow_id}", response_model=FlowOut)
def replace_flow(bot: Bot, principal: CurrentPrincipal, flow_id: int, body: FlowIn) -> dict[str, Any]:
    return _flow_out(bot.flows.do_save_flow(principal, body.source, flow_id=flow_id, enabled=body.enabled))


@router.patch("/flows/{flow_id}", response_model=FlowOut)
def enable_flow(bot: Bot, principal: CurrentPrincipal, flow_id: int, body: FlowEnabled) -> dict[str, Any]:
    return _flow_out(bot.flows.do_set_flow_enabled(principal, flow_id, body.enabled))


@router.delete("/flows/{flow_id}", status_code=204)
def delete_flow(bot: Bot, principal: CurrentPrincipal, flow_id: int) -> None:
    bot.flows.do_delete_flow(principal, flow_id)


# --- services --------------------------------------------------------------------------------------------------

@router.get("/services", response_model=list[ServiceOut])
def list_services(bot: Bot, principal: CurrentPrincipal) -> list[dict[str, Any]]:
    return bot.flows.services(principal)


@router.post("/services", status_code=201, response_model=ServiceOut)
def create_service(bot: Bot, principal: CurrentPrincipal, body: ServiceIn) -> dict[str, Any]:
    return bot.flows.do_save_service(principal, body.model_dump(exclude_unset=True))


@router.get("/services/{service_id}", response_model=ServiceOut)
def get_service(bot: Bot, principal: CurrentPrincipal, service_id: int) -> dict[str, Any]:
    return bot.flows.service(principal, service_id)


@router.patch("/services/{service_id}", response_model=ServiceOut)
def update_service(bot: Bot, principal: CurrentPrincipal, service_id: int, body: ServiceIn) -> dict[str, Any]:
    return bot.flows.do_save_service(principal, body.model_dump(exclude_unset=True), service_id)


@router.delete("/services/{service_id}", status_code=204)
def delete_service(bot: Bot, principal: CurrentPrincipal, service_id: int) -> None:
    bot.flows.do_delete_service(principal, service_id)


@router.post("/services/{service_id}/test", response_model=TestCallResult)
def test_service(bot: Bot, principal: CurrentPrincipal, service_id: int, body: TestCall) -> dict[str, Any]:
    """One call with sample inputs, as a dialog would make it; nothing is stored."""
    return bot.flows.test_call(principal, service_id, body.inputs)


# --- models ----------------------------------------------------------------------------------------------------

@router.get("/models", response_model=list[ModelOut])
def list_models(bot: Bot, principal: CurrentPrincipal, limit: Limit = 50) -> list[dict[str, Any]]:
    """Newest first, with their metrics on the eval split and why a version was refused or (de)activated."""
    return bot.learning.versions(principal, limit=limit)


@router.post("/models/train", response_model=TrainResult)
def train_model(bot: Bot, principal: CurrentPrincipal) -> dict[str, Any]:
    """Train now (seconds): the new version is activated only if it is not worse on the eval split."""
    return bot.learning.do_train_now(principal)


@router.post("/models/rollback", response_model=list[ModelOut])
def rollback_model(bot: Bot, principal: CurrentPrincipal) -> list[dict[str, Any]]:
    """Activate the version that was active before the current one."""
    return bot.learning.do_rollback(principal)


@router.post("/models/{version}/activate", response_model=list[ModelOut])
def activate_model(bot: Bot, principal: CurrentPrincipal, version: int) -> list[dict[str, Any]]:
    return bot.learning.do_activate(principal, version)


# --- learning candidates ---------------------------------------------------------------------------------------

@router.get("/candidates", response_model=CandidatePage)
def list_candidates(bot: Bot, principal: CurrentPrincipal, state: str = "pending", reason: str | None = None,
                    limit: Limit = 50, cursor: str | None = None) -> dict[str, Any]:
    """Newest first; pass `next` back as `cursor` for the following page."""
    items, next_cursor = bot.learning.candidates(principal, state=state, reason=reason, limit=limit, cursor=cursor)
    return {"items": items, "next": next_cursor}


@router.post("/candidates/{candidate_id}/label", response_model=LabelResult)
def label_candidate(bot: Bot, principal: CurrentPrincipal, candidate_id: int, body: LabelIn) -> dict[str, Any]:
    """`intent_id` null confirms the intent the bot predicted; the text becomes an example (source agent)."""
    return bot.learning.do_label(principal, candidate_id, body.intent_id)


@router.post("/candidates/{candidate_id}/dismiss", status_code=204)
def dismiss_candidate(bot: Bot, principal: CurrentPrincipal, candidate_id: int) -> None:
    bot.learning.do_dismiss(principal, candidate_id)


# --- where the bot answers -------------------------------------------------------------------------------------

def bot_runtime(svc: Any) -> VirtualAgent:
    if svc.bot is None:
        raise NotFound("the virtual agent is not available in this process")
    found: VirtualAgent = svc.bot
    return found


@router.get("/channels", response_model=list[ChannelBotOut])
def list_channel_settings(svc: Svc, principal: CurrentPrincipal) -> list[dict[str, Any]]:
    """Every channel with the bot's settings on it (enabled, default language, rephrase limit, texts)."""
    return bot_runtime(svc).channels.listing(principal)


@router.patch("/channels/{channel_id}", response_model=ChannelBotOut)
def configure_channel(svc: Svc, principal: CurrentPrincipal, channel_id: int, body: ChannelBotIn) -> dict[str, Any]:
    """Turn the bot on or off on a channel, and its default language, rephrase limit and texts there."""
    return bot_runtime(svc).channels.do_configure(principal, channel_id, body.model_dump(exclude_unset=True))

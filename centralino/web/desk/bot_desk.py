"""The virtual agent in the agent desktop (docs/bot.md "The agent's side"): the bot cards of a conversation as a
fragment the conversation page redraws live (the view model is web/desk/bot_view.py), and the two actions as API
routes (sessions with X-CSRF-Token, and API tokens): send the suggestion, take over."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from centralino.app.bot_desk import BotDesk
from centralino.services import Services
from centralino.storage import queries
from centralino.storage.visibility import visible_conversations
from centralino.web.api import Svc
from centralino.web.desk.bot_view import bot_view
from centralino.web.desk.pages import SECURITY_HEADERS, page_principal, render
from centralino.web.principal import CurrentPrincipal, current_principal, services

api_router = APIRouter(prefix="/api/v1", dependencies=[Depends(current_principal)], tags=["desk"])
page_router = APIRouter(prefix="/desk", include_in_schema=False)


def bot_desk(svc: Services) -> BotDesk:
    return BotDesk(svc.engine, svc.bus, svc.outbound)


# --- the fragment ----------------------------------------------------------------------------------------------

@page_router.get("/conversations/{conversation_id}/bot", response_class=HTMLResponse)
def bot_cards(request: Request, conversation_id: int) -> Response:
    """The bot's cards of a conversation, for the live redraw (bot.suggested, bot.turn_decided, bot.handed_off)."""
    principal = page_principal(request)
    if principal is None:
        return HTMLResponse("", status_code=401, headers=SECURITY_HEADERS)
    with services(request).engine.connect() as conn:
        if queries.get_conversation(conn, conversation_id, visible_conversations(principal)) is None:
            return HTMLResponse("", status_code=404, headers=SECURITY_HEADERS)
        bot = bot_view(conn, conversation_id)
    return render(request, "_bot_cards.html", principal=principal, bot=bot, conversation={"id": conversation_id})


# --- the actions -----------------------------------------------------------------------------------------------

class SuggestionIn(BaseModel):
    turn_id: int


@api_router.post("/conversations/{conversation_id}/bot/suggestion", status_code=202)
def send_suggestion(svc: Svc, principal: CurrentPrincipal, conversation_id: int, body: SuggestionIn) -> dict[str, Any]:
    """Send the virtual agent's suggested answer (turn `turn_id`, the conversation's open suggestion) as the
    caller: 202 with the queued message's id. 409 `bot.suggestion_gone` once it was sent or answered."""
    return {"id": bot_desk(svc).do_send_suggestion(principal, conversation_id, body.turn_id)}


@api_router.post("/conversations/{conversation_id}/bot/take-over", status_code=204)
def take_over(svc: Svc, principal: CurrentPrincipal, conversation_id: int) -> None:
    """Take the conversation from the virtual agent: its session ends and the conversation is the caller's.
    409 `bot.not_active` when the bot does not own it."""
    bot_desk(svc).do_take_over(principal, conversation_id)

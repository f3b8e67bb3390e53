"""The Graph API's message-template endpoints of a WhatsApp Business Account (reference §5):
create, list with cursor paging, delete. Synchronous (httpx): called from request threads, rarely.

Errors come back as graph.GraphError keyed on Meta's code (errors.py), with Meta's user-facing title
and message when it gives them (a refused creation says which rule it broke)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from centralino.channels.whatsapp.graph import GraphError, _auth, base_url
from centralino.storage.channels import Channel

FIELDS = "id,name,language,status,category,components,parameter_format,quality_score,rejected_reason"
TIMEOUT_S = 15.0


class TemplateApiError(GraphError):
    def __init__(self, message: str, *, user_title: str | None = None, user_message: str | None = None,
                 subcode: int | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.user_title = user_title
        self.user_message = user_message
        self.subcode = subcode


@dataclass(frozen=True)
class TemplatePage:
    items: list[dict[str, Any]]
    after: str | None  # the cursor of the next page; None on the last


def _raise_for(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    try:
        parsed = orjson.loads(response.content)
        err = parsed.get("error") if isinstance(parsed, dict) else None
    except orjson.JSONDecodeError:
        err = None
    err = err if isinstance(err, dict) else {}
    code = err.get("code") if isinstance(err.get("code"), int) else None
    subcode = err.get("error_subcode") if isinstance(err.get("error_subcode"), int) else None
    raise TemplateApiError(str(err.get("message") or f"HTTP {response.status_code}"), code=code,
                           http_status=response.status_code, user_title=err.get("error_user_title"),
                           user_message=err.get("error_user_msg"), subcode=subcode)


def _call(method: str, url: str, channel: Channel, client: httpx.Client | None, **kwargs: Any) -> dict[str, Any]:
    headers = _auth(channel)
    try:
        if client is not None:
            response = client.request(method, url, headers=headers, **kwargs)
        else:
            with httpx.Client(timeout=TIMEOUT_S) as own:
                response = own.request(method, url, headers=headers, **kwargs)
    except httpx.HTTPError as exc:
        raise TemplateApiError(f"{method} message_templates: {type(exc).__name__}: {exc}", transient=True) from exc
    _raise_for(response)
    try:
        answer = orjson.loads(response.content)
    except orjson.JSONDecodeError as exc:
        raise TemplateApiError(f"unreadable answer {response.content[:200]!r}", transient=True) from exc
    if not isinstance(answer, dict):
        raise TemplateApiError(f"unexpected answer {response.content[:200]!r}", transient=True)
    return answer


def _templates_url(channel: Channel) -> str:
    if not channel.account_id:
        raise TemplateApiError(f"channel {channel.id} has no WhatsApp Business Account id", transient=False)
    return f"{base_url(channel)}/{channel.account_id}/message_templates"


def create(channel: Channel, body: dict[str, Any], client: httpx.Client | None = None) -> dict[str, Any]:
    """POST /{waba}/message_templates → {id, status, category}."""
    return _call("POST", _templates_url(channel), channel, client, json=body)


def list_page(channel: Channel, *, limit: int = 100, after: str | None = None, name: str | None = None,
              client: httpx.Client | None = None) -> TemplatePage:
    """GET /{waba}/message_templates?fields&limit&after[&name]: one page, and the cursor of the next."""
    params: dict[str, Any] = {"fields": FIELDS, "limit": limit}
    if after:
        params["after"] = after
    if name:
        params["name"] = name  # Meta matches a part of the name
    answer = _call("GET", _templates_url(channel), channel, client, params=params)
    data = [item for item in answer.get("data") or [] if isinstance(item, dict)]
    paging = answer["paging"] if isinstance(answer.get("paging"), dict) else {}
    cursors = paging["cursors"] if isinstance(paging.get("cursors"), dict) else {}
    # Meta gives `next` only when there is another page; the `after` cursor is there either way.
    next_after = cursors.get("after") if paging.get("next") and data else None
    return TemplatePage(items=data, after=str(next_after) if next_after else None)


def delete(channel: Channel, name: str, hsm_id: str | None = None, client: httpx.Client | None = None) -> None:
    """DELETE /{waba}/message_templates?name=[&hsm_id=]: every language of the name, or the one id."""
    params = {"name": name, **({"hsm_id": hsm_id} if hsm_id else {})}
    _call("DELETE", _templates_url(channel), channel, client, params=params)

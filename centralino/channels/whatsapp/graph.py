"""The slice of Meta's Graph API this package calls, with errors mapped by code (errors.py).

Sends, read receipts and uploads go through the workers' shared aiohttp session
(workers/http_client.py: ~10x less CPU per call than httpx); media downloads take an httpx client."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import aiohttp
import httpx
import orjson

from centralino.channels.whatsapp.errors import classify
from centralino.domain.sending import Retry
from centralino.storage.channels import Channel

DEFAULT_BASE_URL = "https://graph.facebook.com"
DEFAULT_VERSION = "v23.0"


class GraphError(Exception):
    def __init__(self, message: str, *, code: int | None = None, http_status: int | None = None,
                 details: str | None = None, transient: bool | None = None, retry: Retry | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.http_status = http_status
        self.details = details
        if retry is None and transient is not None:
            retry = Retry.TRANSIENT if transient else Retry.PERMANENT
        self.retry = retry if retry is not None else classify(code, http_status)

    @property
    def is_transient(self) -> bool:
        return self.retry is not Retry.PERMANENT


def base_url(channel: Channel) -> str:
    root = str(channel.config.get("graph_base_url") or DEFAULT_BASE_URL).rstrip("/")
    return f"{root}/{channel.config.get('graph_version') or DEFAULT_VERSION}"


def _auth(channel: Channel) -> dict[str, str]:
    token = channel.secret("access_token")
    if not token:
        raise GraphError(f"channel {channel.id} has no access token", transient=False)
    return {"Authorization": f"Bearer {token}"}


def answer_error(status: int, body: bytes) -> GraphError | None:
    """The Graph API error an answer carries (None for a success), keyed on Meta's code."""
    if status < 400:
        return None
    try:
        parsed = orjson.loads(body)
        err: dict[str, Any] = (parsed.get("error") if isinstance(parsed, dict) else None) or {}
    except orjson.JSONDecodeError:
        err = {}
    if not isinstance(err, dict):
        err = {}
    data = err.get("error_data") if isinstance(err.get("error_data"), dict) else {}
    return GraphError(
        str(err.get("message") or f"HTTP {status}"),
        code=err.get("code") if isinstance(err.get("code"), int) else None,
        http_status=status,
        details=data.get("details") if isinstance(data, dict) else None,
    )


def raise_for_error(response: httpx.Response) -> None:
    error = answer_error(response.status_code, response.content)
    if error is not None:
        raise error


async def download_media(channel: Channel, media_id: str, client: Any) -> tuple[bytes, str | None]:
    """GET the media's metadata, then its short-lived URL with the same bearer token; check sha256."""
    headers = _auth(channel)
    try:
        meta_resp = await client.get(f"{base_url(channel)}/{media_id}", headers=headers,
                                     params={"phone_number_id": channel.address})
        raise_for_error(meta_resp)
        meta = meta_resp.json()
        url = meta.get("url")
        if not url:
            raise GraphError(f"media {media_id}: no url in the Graph API answer", transient=True)
        file_resp = await client.get(url, headers=headers)
        raise_for_error(file_resp)
    except httpx.HTTPError as exc:
        raise GraphError(f"media {media_id}: {type(exc).__name__}: {exc}", transient=True) from exc
    content = file_resp.content
    expected = meta.get("sha256")
    if expected and not sha256_matches(content, str(expected)):
        raise GraphError(f"media {media_id}: sha256 mismatch (download corrupted?)", transient=True)
    return content, meta.get("mime_type") or file_resp.headers.get("content-type")


def sha256_matches(content: bytes, expected: str) -> bool:
    """Meta's sha256 is hex in some answers and base64 in others: accept either form."""
    digest = hashlib.sha256(content).digest()
    candidates = {digest.hex(), base64.b64encode(digest).decode(), base64.urlsafe_b64encode(digest).decode()}
    return expected.strip() in candidates or expected.strip().lower() == digest.hex()


# Failures before any byte of the request left: nothing can have been sent. `connect` covers both
# waiting for a pooled connection and opening one (workers/http_client.py).
_NOT_SENT: tuple[type[BaseException], ...] = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError,
                                              aiohttp.InvalidURL, aiohttp.NonHttpUrlClientError)
# What a call may raise besides an answer: aiohttp's errors, and the `total` timeout's TimeoutError.
TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (aiohttp.ClientError, TimeoutError)


def _transport_error(what: str, exc: BaseException, *, may_have_arrived: bool) -> GraphError:
    retry = Retry.UNCERTAIN if may_have_arrived and not isinstance(exc, _NOT_SENT) else Retry.TRANSIENT
    return GraphError(f"{what}: {type(exc).__name__}: {exc}".rstrip(": "), retry=retry)


async def _post(session: aiohttp.ClientSession, url: str, headers: dict[str, str],
                data: bytes | aiohttp.FormData) -> tuple[int, bytes]:
    async with session.post(url, data=data, headers=headers) as response:
        return response.status, await response.read()


def _json_headers(channel: Channel) -> dict[str, str]:
    return {**_auth(channel), "Content-Type": "application/json"}


async def send_message(channel: Channel, body: dict[str, Any], session: aiohttp.ClientSession) -> str:
    """POST /{version}/{phone-number-id}/messages; the wamid Meta gives the message.

    A timeout or a dropped connection after the request went out raises with `Retry.UNCERTAIN`:
    Meta may have accepted the message (the caller reconciles; it must not simply resend)."""
    headers = _json_headers(channel)
    try:
        status, answer = await _post(session, f"{base_url(channel)}/{channel.address}/messages", headers,
                                     orjson.dumps(body))
    except TRANSPORT_ERRORS as exc:
        raise _transport_error("send", exc, may_have_arrived=True) from exc
    error = answer_error(status, answer)
    if error is not None:
        raise error
    try:
        wamid = orjson.loads(answer)["messages"][0]["id"]
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        # Accepted (2xx) but unreadable: the message may exist, so this is uncertain, not a failure.
        raise GraphError(f"send: unexpected answer {answer[:200]!r}", http_status=status,
                         retry=Retry.UNCERTAIN) from exc
    return str(wamid)


async def mark_read(channel: Channel, external_id: str, body: dict[str, Any],
                    session: aiohttp.ClientSession) -> None:
    """Mark a customer's message (and the earlier ones) read. Repeating it is harmless."""
    headers = _json_headers(channel)
    try:
        status, answer = await _post(session, f"{base_url(channel)}/{channel.address}/messages", headers,
                                     orjson.dumps(body))
    except TRANSPORT_ERRORS as exc:
        raise _transport_error(f"mark {external_id} read", exc, may_have_arrived=False) from exc
    error = answer_error(status, answer)
    if error is not None:
        raise error


async def upload_media(channel: Channel, content: bytes, mime_type: str, filename: str,
                       session: aiohttp.ClientSession) -> str:
    """POST /{version}/{phone-number-id}/media (multipart); the Graph media id (kept 30 days by Meta).
    An upload repeated after a lost answer only leaves an unused copy, so it is never uncertain."""
    headers = _auth(channel)
    form = aiohttp.FormData()
    form.add_field("messaging_product", "whatsapp")
    form.add_field("type", mime_type)
    form.add_field("file", content, filename=filename, content_type=mime_type)
    try:
        status, answer = await _post(session, f"{base_url(channel)}/{channel.address}/media", headers, form)
    except TRANSPORT_ERRORS as exc:
        raise _transport_error("upload", exc, may_have_arrived=False) from exc
    error = answer_error(status, answer)
    if error is not None:
        raise error
    try:
        return str(orjson.loads(answer)["id"])
    except (ValueError, KeyError, TypeError) as exc:
        raise GraphError(f"upload: unexpected answer {answer[:200]!r}", retry=Retry.TRANSIENT) from exc

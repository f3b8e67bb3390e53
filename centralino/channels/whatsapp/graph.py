"""The slice of Meta's Graph API this package calls, with errors mapped by code."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import httpx

from centralino.storage.channels import Channel

DEFAULT_BASE_URL = "https://graph.facebook.com"
DEFAULT_VERSION = "v23.0"

# Retrying these can succeed (reference §6): rate limits, temporary unavailability, maintenance.
TRANSIENT_CODES = frozenset({1, 2, 4, 80007, 130429, 131000, 131016, 131056, 131057, 133004})


class GraphError(Exception):
    def __init__(self, message: str, *, code: int | None = None, http_status: int | None = None,
                 details: str | None = None, transient: bool | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.http_status = http_status
        self.details = details
        self._transient = transient

    @property
    def is_transient(self) -> bool:
        if self._transient is not None:
            return self._transient
        if self.code in TRANSIENT_CODES:
            return True
        return self.http_status is None or self.http_status >= 500 or self.http_status in (408, 429)


def base_url(channel: Channel) -> str:
    root = str(channel.config.get("graph_base_url") or DEFAULT_BASE_URL).rstrip("/")
    return f"{root}/{channel.config.get('graph_version') or DEFAULT_VERSION}"


def _auth(channel: Channel) -> dict[str, str]:
    token = channel.secret("access_token")
    if not token:
        raise GraphError(f"channel {channel.id} has no access token", transient=False)
    return {"Authorization": f"Bearer {token}"}


def raise_for_error(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    try:
        err: dict[str, Any] = response.json().get("error") or {}
    except ValueError:
        err = {}
    data = err.get("error_data") if isinstance(err.get("error_data"), dict) else {}
    raise GraphError(
        str(err.get("message") or f"HTTP {response.status_code}"),
        code=err.get("code") if isinstance(err.get("code"), int) else None,
        http_status=response.status_code,
        details=data.get("details") if isinstance(data, dict) else None,
    )


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

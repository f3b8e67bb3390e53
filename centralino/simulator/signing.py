"""The X-Hub-Signature-256 header Meta puts on every webhook POST."""

from __future__ import annotations

import hashlib
import hmac


def sign(body: bytes, app_secret: str) -> str:
    """`sha256=<hex HMAC-SHA256 of the raw body, keyed with the app secret>`."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, header: str | None, app_secret: str) -> bool:
    return bool(header) and hmac.compare_digest(str(header), sign(body, app_secret))

"""Identifiers that look like Meta's: wamids, numeric object ids, trace ids."""

from __future__ import annotations

import base64
import secrets


def wamid(wa_id: str, *, inbound: bool = False) -> str:
    """`wamid.` + base64 of a small binary record holding the user's number and a random key,
    which is what Meta's ids decode to (e.g. `wamid.HBgLMzkzNDcxMjM0NTY3FQIAERgSM0Y…`)."""
    digits = wa_id.encode()[:60]
    key = secrets.token_hex(9).upper().encode()
    record = bytes([0x1C, 0x18, len(digits)]) + digits + b"\x15\x02\x00" + (b"\x12" if inbound else b"\x11") \
        + bytes([0x18, len(key)]) + key + b"\x00"
    return "wamid." + base64.b64encode(record).decode().rstrip("=")


def numeric_id() -> str:
    """A 15/16-digit Graph object id (media, templates)."""
    return str(secrets.randbelow(9 * 10**15) + 10**15)


def fbtrace_id() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(8)).decode().rstrip("=").replace("-", "A").replace("_", "B")

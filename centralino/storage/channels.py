"""Channels and their secrets (Fernet-encrypted with a key derived from the service secret)."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import Connection, insert, select, update

from centralino.errors import Conflict
from centralino.storage.tables import channels


@dataclass(frozen=True)
class Channel:
    id: int
    kind: str
    name: str
    address: str
    account_id: str | None
    display_address: str | None
    config: dict[str, Any]
    secrets: dict[str, str] = field(repr=False)

    def secret(self, name: str) -> str | None:
        return self.secrets.get(name) or None


class SecretBox:
    def __init__(self, secret_key: str) -> None:
        key = base64.urlsafe_b64encode(hashlib.sha256(b"centralino-channel-secrets:" + secret_key.encode()).digest())
        self._fernet = Fernet(key)

    def seal(self, secrets: dict[str, str]) -> bytes:
        return self._fernet.encrypt(orjson.dumps(secrets))

    def open(self, blob: bytes | None) -> dict[str, str]:
        if not blob:
            return {}
        try:
            data: dict[str, str] = orjson.loads(self._fernet.decrypt(blob))
        except InvalidToken as exc:
            raise RuntimeError(
                "channel secrets cannot be decrypted: CENTRALINO_SECRET_KEY differs from the one they were "
                "stored with"
            ) from exc
        return data


def create(
    conn: Connection, box: SecretBox, *, kind: str, name: str, address: str, account_id: str | None = None,
    display_address: str | None = None, config: dict[str, Any] | None = None, secrets: dict[str, str] | None = None,
) -> int:
    exists = conn.execute(select(channels.c.id).where(channels.c.kind == kind, channels.c.address == address)).first()
    if exists:
        raise Conflict(f"a {kind} channel with address {address} already exists", field="address")
    return int(
        conn.execute(
            insert(channels).values(
                kind=kind, name=name, address=address, account_id=account_id, display_address=display_address,
                config=config or {}, secrets=box.seal(secrets or {}), created_at=datetime.now(UTC),
            ).returning(channels.c.id)
        ).scalar_one()
    )


def update_secrets(conn: Connection, box: SecretBox, channel_id: int, secrets: dict[str, str]) -> None:
    conn.execute(update(channels).where(channels.c.id == channel_id).values(secrets=box.seal(secrets)))


def load_all(conn: Connection, box: SecretBox) -> list[Channel]:
    return [
        Channel(
            id=int(r.id), kind=r.kind, name=r.name, address=r.address, account_id=r.account_id,
            display_address=r.display_address, config=dict(r.config or {}), secrets=box.open(r.secrets),
        )
        for r in conn.execute(select(channels).order_by(channels.c.id))
    ]

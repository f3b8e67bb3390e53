"""Files given to us to send, and the media id each channel's provider gave them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from centralino.storage.sql import insert_ignore
from centralino.storage.tables import outbound_media, outbound_media_uploads

om = outbound_media.c
up = outbound_media_uploads.c


def insert_file(conn: Connection, values: dict[str, Any]) -> int:
    return int(conn.execute(insert(outbound_media).values(**values).returning(om.id)).scalar_one())


def get(conn: Connection, media_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(outbound_media).where(om.id == media_id)).mappings().first()
    return None if row is None else dict(row)


def many(conn: Connection, media_ids: list[int]) -> dict[int, dict[str, Any]]:
    if not media_ids:
        return {}
    rows = conn.execute(select(outbound_media).where(om.id.in_(media_ids))).mappings().all()
    return {int(r["id"]): dict(r) for r in rows}


def provider_id(conn: Connection, media_id: int, channel_id: int, uploaded_after: datetime) -> str | None:
    """The provider's id for this file on this channel, if uploaded recently enough to still be valid."""
    row = conn.execute(select(up.provider_media_id).where(
        up.outbound_media_id == media_id, up.channel_id == channel_id, up.uploaded_at > uploaded_after)).first()
    return None if row is None else str(row.provider_media_id)


def record_provider_id(conn: Connection, media_id: int, channel_id: int, provider_media_id: str,
                       now: datetime) -> None:
    values = {"outbound_media_id": media_id, "channel_id": channel_id, "provider_media_id": provider_media_id,
              "uploaded_at": now}
    if insert_ignore(conn, outbound_media_uploads, values, ("outbound_media_id", "channel_id")) is None:
        conn.execute(update(outbound_media_uploads)
                     .where(up.outbound_media_id == media_id, up.channel_id == channel_id)
                     .values(provider_media_id=provider_media_id, uploaded_at=now))

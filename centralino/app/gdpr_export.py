"""GDPR export (right of access): everything stored about a contact as a ZIP — one JSON file per table the
foreign-key walk reaches (storage/contact_data.py), the media files of its messages, and a manifest. The
request is recorded (gdpr_requests) and audited. Administrators only."""

from __future__ import annotations

import base64
import tempfile
import zipfile
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import orjson
from sqlalchemy import insert

from centralino.app.contact_access import check_admin, visible_contact
from centralino.app.unit_of_work import unit_of_work
from centralino.domain.access import Principal
from centralino.events.bus import EventBus
from centralino.storage import auth as auth_repo
from centralino.storage.contact_data import walk
from centralino.storage.tables_contacts_admin import gdpr_requests

# Never exported: secrets and hashes that say nothing about the person (a one-time code's hash).
WITHHELD = {("verifications", "code_hash")}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return {"base64": base64.b64encode(value).decode()}
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(type(value).__name__)


def to_json(data: Any) -> bytes:
    return orjson.dumps(data, default=_plain, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)


def media_files(rows: dict[str, list[dict[str, Any]]], media_dir: Path) -> list[tuple[str, Path]]:
    """(name in the archive, file) for each stored media of the contact's messages that is still on disk."""
    root = media_dir.resolve()
    out = []
    for m in rows.get("message_media", []):
        if m.get("state") != "stored" or not m.get("storage_path"):
            continue
        path = (root / str(m["storage_path"])).resolve()
        if path.is_relative_to(root) and path.is_file():
            name = Path(str(m.get("filename") or m["storage_path"])).name
            out.append((f"media/{m['message_id']}-{name}", path))
    return out


class GdprExport:
    def __init__(self, engine: Any, bus: EventBus | None, media_dir: Path, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.bus = bus
        self.media_dir = Path(media_dir)
        self.clock = clock

    def do_export(self, principal: Principal, contact_id: int, reason: str | None = None) -> IO[bytes]:
        """The ZIP as a temporary file positioned at its start (the caller streams and closes it)."""
        check_admin(principal)
        now = self.clock()
        with unit_of_work(self.engine, self.bus) as uow:
            visible_contact(uow.conn, principal, contact_id)
            rows = walk(uow.conn, contact_id)
            files = media_files(rows, self.media_dir)
            counts = {name: len(r) for name, r in sorted(rows.items())}
            request_id = int(uow.conn.execute(insert(gdpr_requests).values(
                contact_id=contact_id, kind="export", actor=principal.actor, reason=reason, requested_at=now,
                details={"rows": counts, "files": len(files)}).returning(gdpr_requests.c.id)).scalar_one())
            auth_repo.audit(uow.conn, at=now, actor_user_id=principal.user_id, actor=principal.actor,
                            action="contact.exported", target_type="contact", target_id=contact_id,
                            details={"request_id": request_id})
        out = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)  # noqa: SIM115 - returned open
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("manifest.json", to_json({
                "contact_id": contact_id, "exported_at": now, "request_id": request_id, "tables": counts,
                "media": [name for name, _ in files]}))
            for name, table_rows in sorted(rows.items()):
                shown = [{k: v for k, v in r.items() if (name, k) not in WITHHELD} for r in table_rows]
                archive.writestr(f"data/{name}.json", to_json(shown))
            for name, path in files:
                archive.write(path, name)
        out.seek(0)
        return out

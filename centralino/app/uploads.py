"""Files given to us to send (POST /api/v1/media): checked, stored in the media folder, recorded.

Stored content-addressed (`<sha[:2]>/<sha>`, like downloaded customer media), written under a
temporary name and renamed, so a crash never leaves a half file under its final name.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import Engine

from centralino.domain.media_rules import (
    MAX_UPLOAD_BYTES,
    RULES,
    MediaKind,
    MediaRejected,
    kinds_for,
    normalise_mime,
    webp_is_animated,
)
from centralino.storage import outbound_media as media_repo

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class StoredUpload:
    id: int
    mime_type: str
    size: int
    sha256: str
    filename: str | None
    animated: bool
    sendable_as: list[MediaKind]


def mime_of(declared: str | None, filename: str | None) -> str:
    """The declared type, or one guessed from the file name when the client sent none (or a generic one)."""
    mime = normalise_mime(declared)
    if mime in ("", "application/octet-stream") and filename:
        mime = normalise_mime(mimetypes.guess_type(filename)[0])
    return mime


class UploadStore:
    def __init__(self, engine: Engine, media_dir: Path) -> None:
        self.engine = engine
        self.media_dir = Path(media_dir)

    def do_store(self, source: BinaryIO, *, filename: str | None, declared_mime: str | None,
                 origin: str = "api") -> StoredUpload:
        mime = mime_of(declared_mime, filename)
        if not any(mime in rule.mime_types for rule in RULES.values()):
            raise MediaRejected(f"{mime or 'a file without a type'} cannot be sent on WhatsApp", field="file",
                                code="media.type_not_allowed")
        self.media_dir.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        head = b""
        fd, tmp_name = tempfile.mkstemp(prefix=".upload-", dir=self.media_dir)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := source.read(CHUNK):
                    size += len(chunk)
                    if size > MAX_UPLOAD_BYTES:
                        raise MediaRejected(f"files are limited to {MAX_UPLOAD_BYTES // (1024 * 1024)} MB",
                                            field="file", code="media.too_large")
                    if len(head) < 64:
                        head += chunk[:64]
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            animated = mime == "image/webp" and webp_is_animated(head)
            kinds = kinds_for(mime, size, animated=animated)
            if size == 0:
                raise MediaRejected("the file is empty", field="file", code="media.empty")
            if not kinds:
                raise MediaRejected(f"this {mime} file is too large to be sent ({size} bytes)", field="file",
                                    code="media.too_large")
            sha = digest.hexdigest()
            relative = Path(sha[:2]) / sha
            target = self.media_dir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp.replace(target)
        finally:
            tmp.unlink(missing_ok=True)
        with self.engine.begin() as conn:
            media_id = media_repo.insert_file(conn, {
                "sha256": sha, "mime_type": mime, "size": size, "filename": filename, "animated": animated,
                "storage_path": str(relative), "origin": origin, "created_at": datetime.now(UTC),
            })
        return StoredUpload(media_id, mime, size, sha, filename, animated, kinds)

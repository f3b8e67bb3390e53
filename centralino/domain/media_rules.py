"""Which files may be sent as which kind of media, and how large (WhatsApp Cloud API, reference §4.1).

Pure: decided from the MIME type, the size and (stickers) whether a WebP is animated.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from centralino.errors import InvalidInput

MB = 1024 * 1024
KB = 1024


class MediaKind(StrEnum):
    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"
    DOCUMENT = "document"
    STICKER = "sticker"


@dataclass(frozen=True)
class MediaRule:
    mime_types: frozenset[str]
    max_bytes: int
    max_bytes_animated: int | None = None  # stickers: animated WebP may be larger


RULES: dict[MediaKind, MediaRule] = {
    MediaKind.IMAGE: MediaRule(frozenset({"image/jpeg", "image/png"}), 5 * MB),
    MediaKind.VIDEO: MediaRule(frozenset({"video/mp4", "video/3gpp"}), 16 * MB),
    MediaKind.AUDIO: MediaRule(frozenset({"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"}), 16 * MB),
    MediaKind.DOCUMENT: MediaRule(frozenset({
        "text/plain", "application/pdf", "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.ms-excel", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.ms-powerpoint", "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    }), 100 * MB),
    MediaKind.STICKER: MediaRule(frozenset({"image/webp"}), 100 * KB, max_bytes_animated=500 * KB),
}

# The largest file any kind accepts: uploads above it are refused before being stored.
MAX_UPLOAD_BYTES = max(max(r.max_bytes, r.max_bytes_animated or 0) for r in RULES.values())


class MediaRejected(InvalidInput):
    status = 422


def normalise_mime(mime: str | None) -> str:
    """`Image/JPEG; charset=x` → `image/jpeg`."""
    return (mime or "").split(";", 1)[0].strip().lower()


def size_limit(kind: MediaKind, animated: bool = False) -> int:
    rule = RULES[kind]
    return rule.max_bytes_animated if animated and rule.max_bytes_animated else rule.max_bytes


def check_file(kind: MediaKind, mime: str, size: int, *, animated: bool = False, field: str) -> None:
    """Raise unless a file of this type and size may be sent as `kind`."""
    rule = RULES[kind]
    mime = normalise_mime(mime)
    if mime not in rule.mime_types:
        raise MediaRejected(
            f"{mime or 'a file without a type'} cannot be sent as {kind.value}; allowed: "
            + ", ".join(sorted(rule.mime_types)), field=field, code="media.type_not_allowed")
    limit = size_limit(kind, animated)
    if size > limit:
        raise MediaRejected(f"{kind.value} files are limited to {_human(limit)} (this one is {_human(size)})",
                            field=field, code="media.too_large")


def kinds_for(mime: str, size: int, *, animated: bool = False) -> list[MediaKind]:
    """Every kind a file may be sent as (empty: it cannot be sent at all)."""
    mime = normalise_mime(mime)
    return [k for k, r in RULES.items() if mime in r.mime_types and size <= size_limit(k, animated)]


def webp_is_animated(head: bytes) -> bool:
    """Whether a WebP file (its first bytes) is animated: the VP8X header's animation flag."""
    return (len(head) >= 21 and head[:4] == b"RIFF" and head[8:12] == b"WEBP" and head[12:16] == b"VP8X"
            and bool(head[20] & 0x02))


def _human(size: int) -> str:
    if size >= MB and size % MB == 0:
        return f"{size // MB} MB"
    if size >= KB and size % KB == 0:
        return f"{size // KB} KB"
    return f"{size} bytes"

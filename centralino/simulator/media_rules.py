"""Which files WhatsApp accepts: MIME types and size caps per media type (reference §4.1)."""

from __future__ import annotations

from dataclasses import dataclass

from centralino.simulator.errors import GraphError

MB = 1024 * 1024
DOCUMENT_TYPES = frozenset({
    "text/plain", "application/pdf", "application/msword", "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
})


@dataclass(frozen=True)
class MediaKind:
    name: str
    mime_types: frozenset[str]
    max_bytes: int


KINDS: dict[str, MediaKind] = {
    "image": MediaKind("image", frozenset({"image/jpeg", "image/png"}), 5 * MB),
    "video": MediaKind("video", frozenset({"video/mp4", "video/3gpp"}), 16 * MB),
    "audio": MediaKind("audio", frozenset({"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"}), 16 * MB),
    "document": MediaKind("document", DOCUMENT_TYPES, 100 * MB),
    "sticker": MediaKind("sticker", frozenset({"image/webp"}), 500 * 1024),  # 100 KB if not animated
}
ALL_TYPES = frozenset().union(*(k.mime_types for k in KINDS.values()))
MAX_UPLOAD = max(k.max_bytes for k in KINDS.values())

# Leading bytes of the formats we can recognise cheaply; a file claiming one of these types must match.
_MAGIC = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "application/pdf": (b"%PDF-",),
}


def base_mime(mime: str) -> str:
    """`audio/ogg; codecs=opus` → `audio/ogg`."""
    return mime.split(";", 1)[0].strip().lower()


def kind_of(mime: str) -> MediaKind | None:
    """The media type a MIME belongs to (image/webp is a sticker)."""
    mime = base_mime(mime)
    return next((k for k in KINDS.values() if mime in k.mime_types), None)


def sendable_as(kind: str, mime: str) -> bool:
    """Can an uploaded file of this MIME be sent as a `kind` message? (any accepted file as a document)"""
    if kind == "document":
        return base_mime(mime) in ALL_TYPES
    found = KINDS.get(kind)
    return found is not None and base_mime(mime) in found.mime_types


def check_upload(content: bytes, mime: str) -> MediaKind:
    """Meta's upload checks: supported MIME (131053), size cap of its type, content matching the type."""
    kind = kind_of(mime)
    if kind is None:
        raise GraphError(131053, f"Param file must be a file with one of the following types: "
                                 f"{', '.join(sorted(ALL_TYPES))}. Received file of type '{mime}'.")
    cap = kind.max_bytes
    if kind.name == "sticker" and not _animated_webp(content):
        cap = 100 * 1024
    if len(content) > cap:
        raise GraphError(131053, f"{kind.name} file too large: {len(content)} bytes, the limit for "
                                 f"{base_mime(mime)} is {cap} bytes.")
    if not content:
        raise GraphError(131053, "Param file is empty.")
    signatures = _MAGIC.get(base_mime(mime))
    webp = base_mime(mime) == "image/webp"
    if (signatures and not content.startswith(signatures)) or (webp and content[8:12] != b"WEBP"):
        raise GraphError(131053, f"The file content does not match its type '{base_mime(mime)}'.")
    return kind


def _animated_webp(content: bytes) -> bool:
    return content[8:12] == b"WEBP" and b"ANIM" in content[:4096]

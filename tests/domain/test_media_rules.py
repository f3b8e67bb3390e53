"""Which files may be sent as which media type, and how large (reference §4.1)."""

from __future__ import annotations

import pytest

from centralino.domain.media_rules import (
    KB,
    MB,
    MediaKind,
    MediaRejected,
    check_file,
    kinds_for,
    normalise_mime,
    webp_is_animated,
)

ANIMATED_WEBP = b"RIFF\x00\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x02" + b"\x00" * 16
STATIC_WEBP = b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 16


@pytest.mark.parametrize(("kind", "mime", "limit"), [
    (MediaKind.IMAGE, "image/jpeg", 5 * MB), (MediaKind.IMAGE, "image/png", 5 * MB),
    (MediaKind.VIDEO, "video/mp4", 16 * MB), (MediaKind.VIDEO, "video/3gpp", 16 * MB),
    (MediaKind.AUDIO, "audio/mpeg", 16 * MB), (MediaKind.AUDIO, "audio/ogg", 16 * MB),
    (MediaKind.AUDIO, "audio/aac", 16 * MB), (MediaKind.AUDIO, "audio/amr", 16 * MB),
    (MediaKind.AUDIO, "audio/mp4", 16 * MB),
    (MediaKind.DOCUMENT, "application/pdf", 100 * MB), (MediaKind.DOCUMENT, "text/plain", 100 * MB),
    (MediaKind.DOCUMENT, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", 100 * MB),
    (MediaKind.STICKER, "image/webp", 100 * KB),
])
def test_size_caps_per_type(kind: MediaKind, mime: str, limit: int) -> None:
    check_file(kind, mime, limit, field="f")
    with pytest.raises(MediaRejected) as caught:
        check_file(kind, mime, limit + 1, field="image.media_id")
    assert caught.value.code == "media.too_large" and caught.value.field == "image.media_id"


def test_animated_stickers_may_be_larger() -> None:
    check_file(MediaKind.STICKER, "image/webp", 500 * KB, animated=True, field="f")
    with pytest.raises(MediaRejected):
        check_file(MediaKind.STICKER, "image/webp", 500 * KB + 1, animated=True, field="f")
    assert webp_is_animated(ANIMATED_WEBP) and not webp_is_animated(STATIC_WEBP) and not webp_is_animated(b"RIFF")


@pytest.mark.parametrize(("kind", "mime"), [
    (MediaKind.IMAGE, "image/webp"), (MediaKind.IMAGE, "image/gif"), (MediaKind.VIDEO, "video/quicktime"),
    (MediaKind.AUDIO, "audio/wav"), (MediaKind.DOCUMENT, "application/zip"), (MediaKind.STICKER, "image/png"),
    (MediaKind.DOCUMENT, ""),
])
def test_types_not_allowed_for_the_kind(kind: MediaKind, mime: str) -> None:
    with pytest.raises(MediaRejected) as caught:
        check_file(kind, mime, 10, field="x")
    assert caught.value.code == "media.type_not_allowed" and caught.value.status == 422


def test_kinds_for_a_file_and_mime_normalisation() -> None:
    assert normalise_mime("Image/PNG; charset=binary") == "image/png"
    assert kinds_for("image/png", 1000) == [MediaKind.IMAGE]
    assert kinds_for("image/webp", 200 * KB) == []
    assert kinds_for("image/webp", 200 * KB, animated=True) == [MediaKind.STICKER]
    assert kinds_for("application/zip", 10) == []

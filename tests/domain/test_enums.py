"""LenientEnum: values a provider adds later map to UNKNOWN; matching ignores case."""

from __future__ import annotations

from typing import Any

import pytest

from centralino.domain.enums import (
    MEDIA_TYPES,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    LenientEnum,
    MessageType,
    TemplateStatus,
)

LENIENT: list[type[LenientEnum]] = [MessageType, DeliveryStatus, TemplateStatus]


def test_every_lenient_enum_has_unknown() -> None:
    assert set(LENIENT) <= set(LenientEnum.__subclasses__())
    for cls in LenientEnum.__subclasses__():
        assert cls("unknown").value == "unknown"
        assert cls("no-such-value-ever") is cls("unknown")


@pytest.mark.parametrize("cls", LENIENT)
def test_known_values_round_trip_in_any_case(cls: type[LenientEnum]) -> None:
    for member in cls:
        assert cls(member.value) is member
        assert cls(member.value.upper()) is member
        assert cls(member.value.title()) is member


@pytest.mark.parametrize(
    ("cls", "raw"),
    [
        (MessageType, "hologram"),
        (MessageType, ""),
        (DeliveryStatus, "warped"),
        (DeliveryStatus, "DELIVERED_TWICE"),
        (TemplateStatus, "TELEPORTED"),
    ],
)
def test_unknown_strings_map_to_unknown(cls: type[LenientEnum], raw: str) -> None:
    member = cls(raw)
    assert member is cls("unknown")
    assert member == "unknown"


@pytest.mark.parametrize("raw", [None, 5, 1.5, ["text"]])
def test_non_strings_map_to_unknown(raw: Any) -> None:
    assert MessageType(raw) is MessageType.UNKNOWN


def test_provider_spellings() -> None:
    assert TemplateStatus("APPROVED") is TemplateStatus.APPROVED
    assert TemplateStatus("PENDING_DELETION") is TemplateStatus.PENDING_DELETION
    assert TemplateStatus("In_Appeal") is TemplateStatus.IN_APPEAL
    assert DeliveryStatus("Read") is DeliveryStatus.READ
    assert MessageType("INTERACTIVE") is MessageType.INTERACTIVE


def test_members_are_plain_strings() -> None:
    assert str(MessageType.TEXT) == "text" and MessageType("text") == "text"
    assert f"{DeliveryStatus.FAILED}" == "failed"
    assert isinstance(TemplateStatus.PAUSED, str)


def test_strict_enums_still_reject_unknown_values() -> None:
    with pytest.raises(ValueError):
        Direction("sideways")
    with pytest.raises(ValueError):
        ConversationStatus("OPEN")
    assert Direction("in") is Direction.INBOUND


def test_media_types() -> None:
    assert {
        MessageType.IMAGE, MessageType.AUDIO, MessageType.VIDEO, MessageType.DOCUMENT, MessageType.STICKER,
    } == MEDIA_TYPES
    assert MessageType.TEXT not in MEDIA_TYPES
    assert MessageType.UNKNOWN not in MEDIA_TYPES

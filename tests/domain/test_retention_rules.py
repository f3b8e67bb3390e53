"""Retention policies as sent to the API: known kinds, whole days in range, null to keep forever."""

from __future__ import annotations

import pytest

from centralino.domain.retention import DataKind, check_policies
from centralino.errors import InvalidInput


def test_valid_policies() -> None:
    assert check_policies({"policies": {"message_text": 365, "audit_log": None}}) == {
        DataKind.MESSAGE_TEXT: 365, DataKind.AUDIT_LOG: None}


@pytest.mark.parametrize(("body", "field"), [
    ({"policies": {"messages": 1}}, "policies.messages"),
    ({"policies": {"media_files": 0}}, "policies.media_files"),
    ({"policies": {"media_files": 36501}}, "policies.media_files"),
    ({"policies": {"media_files": 1.5}}, "policies.media_files"),
    ({"policies": {"media_files": True}}, "policies.media_files"),
    ({"policies": []}, "policies"),
    ([], "policies"),
])
def test_refusals_name_the_field(body: object, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_policies(body)
    assert refused.value.field == field

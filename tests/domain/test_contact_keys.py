"""What makes two identities the same person: one phone number however written, one email in any case."""

from __future__ import annotations

import pytest

from centralino.domain.contact_keys import email_key, match_key, phone_e164


@pytest.mark.parametrize("written", ["+39 347 123 4567", "+393471234567", "0039 347 1234567", "393471234567",
                                     " +39-347-123-4567 "])
def test_a_number_in_any_usual_format_is_one_key(written: str) -> None:
    assert phone_e164(written) == "+393471234567"
    assert match_key("phone", written) == ("phone", "+393471234567")


def test_a_wa_id_meets_the_phone_identity_of_the_same_number() -> None:
    assert match_key("whatsapp", "447700900123") == match_key("phone", "+44 7700 900123") == ("phone", "+447700900123")


@pytest.mark.parametrize("written", ["", "12", "not-a-phone", "+0000"])
def test_not_numbers(written: str) -> None:
    assert phone_e164(written) is None
    assert match_key("phone", written) is None


def test_a_national_number_needs_its_region() -> None:
    assert phone_e164("347 123 4567", "IT") == "+393471234567"
    assert phone_e164("347 123 4567") is None


def test_emails_compare_trimmed_and_case_insensitively() -> None:
    assert email_key(" Mario.Rossi@Example.COM ") == "mario.rossi@example.com"
    assert match_key("email", "A@B.it") == match_key("email", "a@b.it")
    assert email_key("no-at-sign") is None and email_key("@example.com") is None
    assert match_key("whatsapp_bsuid", "IT.123") is None  # a business-scoped id is no number

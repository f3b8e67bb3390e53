from datetime import datetime

import pytest

from centralino.bot.nlu.entities import extract_entities

NOW = datetime(2026, 11, 25, 10, 0)  # a Wednesday


def kinds(text, language="it", **kw):
    return [(e.kind, e.value) for e in extract_entities(text, language=language, now=NOW, **kw)]


@pytest.mark.parametrize(("text", "language", "expected"), [
    ("posso venire domani alle 15:30?", "it", [("datetime", "2026-11-26T15:30")]),
    ("lunedì prossimo va bene", "it", [("date", "2026-11-30")]),
    ("ho ordinato il 12 marzo", "it", [("date", "2027-03-12")]),
    ("consegna il 3/4", "it", [("date", "2027-04-03")]),  # day first
    ("alle 9.45", "it", [("time", "09:45")]),
    ("can I come tomorrow at 3pm", "en", [("datetime", "2026-11-26T15:00")]),
    ("next monday please", "en", [("date", "2026-11-30")]),
    ("tra 3 giorni", "it", [("date", "2026-11-28")]),
    ("consegna dopodomani", "it", [("date", "2026-11-27")]),
    ("il 2026-12-05 va bene", "it", [("date", "2026-12-05")]),  # ISO: year first, not read day-month
    ("on 2026-12-05 at 10:00", "en", [("datetime", "2026-12-05T10:00")]),
])
def test_dates_and_times_relative_to_now(text, language, expected):
    assert kinds(text, language) == expected


def test_codes_by_the_default_patterns_and_by_configured_ones():
    text = "ordine n. 123456, tracking 1Z999AA10123456784, prenotazione ABC123"
    assert kinds(text) == [("order_number", "123456"), ("tracking_code", "1Z999AA10123456784"),
                           ("booking_code", "ABC123")]
    assert kinds("my order #7654321 is late", "en") == [("order_number", "7654321")]
    custom = {"order_number": r"\b(ORD-\d{4})\b"}
    found = extract_entities("riguarda ORD-1234", language="it", patterns=custom, now=NOW)
    assert [(e.kind, e.value, e.text, e.start, e.end) for e in found] == [
        ("order_number", "ORD-1234", "ORD-1234", 9, 17)]


def test_amounts_in_italian_and_english_formats():
    assert kinds("ho pagato 1.234,56 euro") == [("amount", "1234.56 EUR")]
    assert kinds("it costs $12.50", "en") == [("amount", "12.50 USD")]
    assert kinds("costa 12,50 €") == [("amount", "12.50 EUR")]


def test_numbers_in_words_and_digits():
    assert kinds("ne voglio ventitré") == [("number", "23")]
    assert kinds("twenty three items", "en") == [("number", "23")]
    assert kinds("sono 42") == [("number", "42")]


def test_emails_and_phones_in_e164_with_the_customers_region():
    found = kinds("scrivimi a Mario.Rossi@example.com o chiama il 347 123 4567")
    assert found == [("email", "mario.rossi@example.com"), ("phone", "+393471234567")]
    assert kinds("call me on 020 7946 0018", "en", region="GB") == [("phone", "+442079460018")]


def test_fiscal_codes_and_ibans_are_validated():
    found = kinds("CF RSSMRA85T10A562S IBAN IT60 X054 2811 1010 0000 0123 456")
    assert found == [("fiscal_code", "RSSMRA85T10A562S"), ("iban", "IT60X0542811101000000123456")]
    # one wrong check character each: not entities
    assert ("fiscal_code", "RSSMRA85T10A562X") not in kinds("CF RSSMRA85T10A562X")
    assert not [k for k, _ in kinds("IBAN IT60X0542811101000000123457") if k == "iban"]


def test_spans_point_into_the_text_and_nothing_in_plain_sentences():
    text = "Buongiorno, il mio ordine 99887766 arriva domani?"
    for e in extract_entities(text, language="it", now=NOW):
        assert text[e.start:e.end] == e.text
    assert kinds("voglio parlare con un operatore") == []

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import product

import pytest

from centralino.domain.consent import (
    Action,
    ConsentPolicy,
    ConsentRecord,
    Keywords,
    Purpose,
    Source,
    current_state,
    decide,
    matches_payload,
    normalise,
    purpose_of_category,
)

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
SENDABLE = [Purpose.SERVICE, Purpose.UTILITY, Purpose.MARKETING, Purpose.AUTHENTICATION]


def rec(purpose: Purpose, action: Action, minutes: int = 0, seq: int = 0, channel_id: int | None = None,
        source: Source = Source.API, **evidence: object) -> ConsentRecord:
    return ConsentRecord(purpose, action, source, T0 + timedelta(minutes=minutes), seq, channel_id, evidence)


def test_source_accepts_unknown_values() -> None:
    assert Source("sms_gateway") is Source.UNKNOWN
    assert Source("KEYWORD") is Source.KEYWORD


@pytest.mark.parametrize(("category", "purpose"), [
    ("marketing", Purpose.MARKETING), ("UTILITY", Purpose.UTILITY), ("authentication", Purpose.AUTHENTICATION),
    ("all", Purpose.MARKETING), ("something_new", Purpose.MARKETING), (None, Purpose.MARKETING)])
def test_purpose_of_category(category: str | None, purpose: Purpose) -> None:
    assert purpose_of_category(category) is purpose


def test_latest_wins_by_time_then_sequence_whatever_the_order() -> None:
    out_ = rec(Purpose.MARKETING, Action.OPT_OUT, minutes=5, seq=1)
    in_ = rec(Purpose.MARKETING, Action.OPT_IN, minutes=1, seq=2)
    assert current_state([out_, in_])[Purpose.MARKETING] is out_
    assert current_state([in_, out_])[Purpose.MARKETING] is out_
    same_instant_later_row = rec(Purpose.MARKETING, Action.OPT_IN, minutes=5, seq=3)
    assert current_state([same_instant_later_row, out_])[Purpose.MARKETING] is same_instant_later_row


def test_state_by_channel() -> None:
    everywhere = rec(Purpose.MARKETING, Action.OPT_IN, minutes=0, seq=1)
    on_two = rec(Purpose.MARKETING, Action.OPT_OUT, minutes=1, seq=2, channel_id=2)
    assert current_state([everywhere, on_two], channel_id=1)[Purpose.MARKETING] is everywhere
    assert current_state([everywhere, on_two], channel_id=2)[Purpose.MARKETING] is on_two
    assert current_state([everywhere, on_two])[Purpose.MARKETING] is on_two
    assert current_state([]) == {}


@pytest.mark.parametrize("purpose", SENDABLE)
def test_service_replies_are_always_allowed(purpose: Purpose) -> None:
    state = current_state([rec(Purpose.ALL, Action.OPT_OUT), rec(purpose, Action.OPT_OUT, 1, 1)])
    assert decide(state, purpose, business_initiated=False).allowed


@pytest.mark.parametrize(("purpose", "allowed"), [
    (Purpose.MARKETING, False), (Purpose.UTILITY, True), (Purpose.AUTHENTICATION, True), (Purpose.SERVICE, True)])
def test_defaults_without_records(purpose: Purpose, allowed: bool) -> None:
    decision = decide({}, purpose, business_initiated=True)
    assert decision.allowed is allowed
    assert decision.record is None
    if not allowed:
        assert decision.reason == "marketing messages need the customer's opt-in and none is recorded"


@pytest.mark.parametrize(("purpose", "other"), list(product(SENDABLE, SENDABLE)))
def test_every_purpose_against_records_of_every_purpose(purpose: Purpose, other: Purpose) -> None:
    """An opt-out of one purpose refuses that purpose only; an opt-in allows it."""
    opted_out = current_state([rec(other, Action.OPT_IN, 0, 1), rec(other, Action.OPT_OUT, 1, 2)])
    default = decide({}, purpose, business_initiated=True).allowed
    assert decide(opted_out, purpose, business_initiated=True).allowed is (False if purpose is other else default)
    opted_in = current_state([rec(other, Action.OPT_OUT, 0, 1), rec(other, Action.OPT_IN, 1, 2)])
    assert decide(opted_in, purpose, business_initiated=True).allowed is (True if purpose is other else default)


@pytest.mark.parametrize("purpose", SENDABLE)
def test_opt_out_of_everything_refuses_every_business_initiated_message(purpose: Purpose) -> None:
    state = current_state([rec(purpose, Action.OPT_IN, 0, 1), rec(Purpose.ALL, Action.OPT_OUT, 1, 2)])
    decision = decide(state, purpose, business_initiated=True)
    assert not decision.allowed
    assert decision.reason.startswith("the customer opted out of all messages on 2026-11-20")
    # a later opt-in of the purpose itself is the customer's newer word
    later = current_state([*state.values(), rec(purpose, Action.OPT_IN, 2, 3)])
    assert decide(later, purpose, business_initiated=True).allowed


def test_refusal_names_the_purpose_the_date_and_the_keyword() -> None:
    state = current_state([rec(Purpose.MARKETING, Action.OPT_IN, 0, 1),
                           rec(Purpose.MARKETING, Action.OPT_OUT, 1, 2, source=Source.KEYWORD, keyword="STOP")])
    decision = decide(state, Purpose.MARKETING, business_initiated=True)
    assert decision.reason == "the customer opted out of marketing on 2026-11-20 by keyword STOP"
    assert decision.record is state[Purpose.MARKETING]


@pytest.mark.parametrize(("source", "evidence", "words"), [
    (Source.META_SIGNAL, {"value": "stop"}, "WhatsApp's marketing preference (stop)"),
    (Source.FAILED_STATUS, {"error_code": 131050}, "error 131050"),
    (Source.QUICK_REPLY, {"text": "Stop promotions"}, "quick-reply button Stop promotions"),
    (Source.IMPORT, {}, "an import"), (Source.WEB_FORM, {}, "a web form"), (Source.API, {}, "the API"),
    (Source.UNKNOWN, {}, "an unknown source")])
def test_refusals_say_where_the_opt_out_came_from(source: Source, evidence: dict[str, object], words: str) -> None:
    state = current_state([rec(Purpose.MARKETING, Action.OPT_OUT, source=source, **evidence)])
    assert words in decide(state, Purpose.MARKETING, business_initiated=True).reason


def test_policy_is_configurable() -> None:
    strict = ConsentPolicy.requiring_opt_in(["marketing", "utility"])
    assert not decide({}, Purpose.UTILITY, business_initiated=True, policy=strict).allowed
    assert decide({}, Purpose.AUTHENTICATION, business_initiated=True, policy=strict).allowed
    lax = ConsentPolicy.requiring_opt_in([])
    assert decide({}, Purpose.MARKETING, business_initiated=True, policy=lax).allowed
    with pytest.raises(ValueError):
        ConsentPolicy.requiring_opt_in(["spam"])


@pytest.mark.parametrize("text", ["STOP", "stop", "  Stop!  ", "Stop.", "annulla", "DISISCRIVIMI", "stop  promozioni",
                                  "Stop Promozioni", "unsubscribe", "\uff33\uff34\uff2f\uff30"])  # full-width STOP
def test_opt_out_keywords_match_the_whole_message(text: str) -> None:
    found = Keywords().match(text)
    assert found is not None and found.action is Action.OPT_OUT


@pytest.mark.parametrize("text", ["Please don't stop sending me offers", "stop it", "STOPPED", "non annullare",
                                  "", None, "x" * 5000, "stop\nplease"])
def test_keywords_never_match_inside_a_longer_message(text: str | None) -> None:
    assert Keywords().match(text) is None


def test_opt_in_keywords_and_languages() -> None:
    found = Keywords().match("iscrivimi")
    assert found is not None and found.action is Action.OPT_IN and found.language == "it"
    shared = Keywords().match("STOP")
    assert shared is not None and shared.action is Action.OPT_OUT and shared.language == ""
    assert Keywords().match("STOP", prefer_language="en_US") == Keywords().match("STOP", "en")
    stop_en = Keywords().match("stop", prefer_language="en")
    assert stop_en is not None and stop_en.language == "en"
    stop_it = Keywords().match("stop", prefer_language="it")
    assert stop_it is not None and stop_it.language == "it"


def test_configured_keywords_replace_the_defaults() -> None:
    keywords = Keywords(opt_out={"de": ("ABMELDEN",)}, opt_in={"de": ("ANMELDEN",)})
    assert keywords.match("abmelden") is not None
    assert keywords.match("STOP") is None
    found = keywords.match("Anmelden")
    assert found is not None and found.action is Action.OPT_IN and found.language == "de"


def test_quick_reply_payloads() -> None:
    assert matches_payload("OPT_OUT", "Stop promotions", ["opt_out"])
    assert matches_payload(None, "Stop promotions", ["STOP PROMOTIONS"])
    assert not matches_payload("BOOK_NOW", "Book now", ["OPT_OUT"])
    assert not matches_payload(None, None, ["OPT_OUT"])


def test_normalise() -> None:
    assert normalise("  Stop   Promozioni!! ") == "stop promozioni"

"""One-time codes: sent with the authentication template (the code in the body and the copy-code button),
kept only as an HMAC, checked right / wrong (attempts) / expired (a clock the test moves) / replayed, and
verified by the customer typing the code back in WhatsApp."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from centralino.app.verifications import VerificationRequest
from centralino.domain.outbound_codec import decode_stored
from centralino.errors import CentralinoError
from centralino.storage.tables import messages
from centralino.storage.tables_notifications import notifications, verifications
from tests.factories import whatsapp_channel
from tests.helpers import count, rows
from tests.notification_helpers import add_templates
from tests.outbound_helpers import GIULIA, customer_wrote, table_counts


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def otp(services):
    whatsapp_channel(services)
    add_templates(services, "verification_code")
    clock = Clock()
    services.notifications.verifications.clock = clock
    return services.notifications.verifications, clock


def sent_code(services, message_id: int) -> str:
    """The code as Meta receives it: the body's parameter and the OTP button's, the same."""
    content = decode_stored(rows(services, messages, messages.c.id == message_id)[0]["content"])
    body = next(c for c in content.components if c["type"] == "body")
    button = next(c for c in content.components if c["type"] == "button")
    assert (button["sub_type"], button["index"]) == ("url", "0")
    assert body["parameters"][0]["text"] == button["parameters"][0]["text"]
    return str(body["parameters"][0]["text"])


def start(service, **options):
    return service.do_start(VerificationRequest(recipient="+" + GIULIA, **options), api_client="api")


def test_a_code_is_sent_and_only_its_hmac_is_kept(services, otp):
    service, clock = otp
    started = start(service, code_length=8, ttl_s=300)
    code = sent_code(services, started.message_id)
    assert len(code) == 8 and code.isdigit()
    [row] = rows(services, verifications)
    assert row["code_hash"] != code and code not in row["code_hash"] and len(row["code_hash"]) == 64
    assert (row["state"], row["attempts"], row["message_id"], row["notification_id"]) == (
        "pending", 0, started.message_id, started.notification_id)
    assert started.expires_at == clock.now + timedelta(seconds=300)
    assert rows(services, notifications)[0]["use_case"] == "verification_code"
    assert rows(services, messages)[0]["origin"] == "notification"


def test_the_right_code_verifies_once_and_a_replay_is_refused(services, otp):
    service, _ = otp
    started = start(service)
    code = sent_code(services, started.message_id)
    checked = service.do_check(started.id, code)
    assert (checked.outcome.value, checked.state.value) == ("verified", "verified")
    row = rows(services, verifications)[0]
    assert (row["verified_via"], row["verified_at"] is not None) == ("api", True)
    assert service.do_check(started.id, code).outcome.value == "already_used"
    assert rows(services, verifications)[0]["verified_at"] == row["verified_at"]


def test_wrong_codes_count_attempts_until_none_is_left(services, otp):
    service, _ = otp
    started = start(service, max_attempts=3)
    code = sent_code(services, started.message_id)
    wrong = "0" * 6 if code != "0" * 6 else "1" * 6
    first = service.do_check(started.id, wrong)
    assert (first.outcome.value, first.remaining_attempts) == ("wrong_code", 2)
    assert service.do_check(started.id, wrong).remaining_attempts == 1
    last = service.do_check(started.id, wrong)
    assert (last.outcome.value, last.state.value) == ("too_many_attempts", "failed")
    assert service.do_check(started.id, code).outcome.value == "too_many_attempts"  # even the right one now
    assert rows(services, verifications)[0]["attempts"] == 3


def test_an_expired_code_never_verifies(services, otp):
    service, clock = otp
    started = start(service, ttl_s=60)
    code = sent_code(services, started.message_id)
    clock.now += timedelta(seconds=61)
    assert service.get(started.id)["state"] == "expired"
    checked = service.do_check(started.id, code)
    assert (checked.outcome.value, checked.state.value) == ("expired", "expired")
    assert rows(services, verifications)[0]["state"] == "expired"


def test_the_customer_typing_the_code_back_verifies_it(services, otp, recorder):
    service, _ = otp
    started = start(service)
    code = sent_code(services, started.message_id)
    customer_wrote(services, GIULIA, ago=1, body="ciao, che codice?")  # not a code: no attempt counted
    assert rows(services, verifications)[0]["attempts"] == 0
    customer_wrote(services, GIULIA, ago=0, body=f"Il codice è {code[:3]} {code[3:]}")
    row = rows(services, verifications)[0]
    assert (row["state"], row["verified_via"]) == ("verified", "customer")
    assert service.do_check(started.id, code).outcome.value == "already_used"
    checked = [e.payload for e in recorder.events if e.type == "verification.checked"]
    assert checked[0]["via"] == "customer" and checked[0]["outcome"] == "verified"


def test_a_typed_code_for_another_contact_does_nothing(services, otp):
    service, _ = otp
    started = start(service)
    code = sent_code(services, started.message_id)
    customer_wrote(services, "447700900123", ago=0, body=code)
    assert rows(services, verifications)[0]["state"] == "pending"


@pytest.mark.parametrize(("options", "field"), [({"code_length": 3}, "code_length"), ({"code_length": 9}, "code_length"),
                                                ({"ttl_s": 5}, "ttl_s")])
def test_bad_options_are_refused_before_anything_is_sent(services, otp, options, field):
    service, _ = otp
    before = table_counts(services)
    with pytest.raises(CentralinoError) as caught:
        start(service, **options)
    assert (caught.value.field, caught.value.status) == (field, 422)
    assert table_counts(services) == before and count(services, messages) == 0


def test_a_code_typed_back_after_it_expired_does_not_verify(services, otp):
    service, clock = otp
    started = start(service, ttl_s=60)
    code = sent_code(services, started.message_id)
    clock.now += timedelta(seconds=61)
    customer_wrote(services, GIULIA, ago=0, body=code)
    assert rows(services, verifications)[0]["state"] == "pending"  # untouched: not a live code any more
    assert service.do_check(started.id, code).outcome.value == "expired"

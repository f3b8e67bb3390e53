"""Send outcomes recorded; lapsed attempts reconciled; sends recognised from status webhooks that carry
our biz_opaque_callback_data (the exactly-once boundary). On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from centralino.app.outbox import AttemptResult, OutboxLedger, RetryPolicy
from centralino.domain.outbound import Text
from centralino.domain.sending import Accepted, Refused, Retry, callback_data
from centralino.storage.tables import events, messages, outbox, status_history
from tests.factories import whatsapp_channel
from tests.helpers import count, rows, store
from tests.outbound_helpers import claim_due, customer_wrote, status_delivery

POLICY = RetryPolicy(max_attempts=3, backoff_base_s=2.0, backoff_cap_s=300.0,
                     reconcile_window=timedelta(seconds=60))


def ledger(services) -> OutboxLedger:
    return OutboxLedger(services.engine, services.bus, POLICY, jitter=lambda: 1.0)


def queued_text(services, body: str = "hello") -> int:
    whatsapp_channel(services)
    conversation_id = customer_wrote(services)
    return services.outbound.do_send(conversation_id, Text(body)).message_id


def message_row(services, message_id: int) -> dict:
    return rows(services, messages, messages.c.id == message_id)[0]


def outbox_row(services) -> dict:
    [row] = rows(services, outbox)
    return row


def test_acceptance_records_the_wamid_and_completes_the_row(services, recorder):
    message_id = queued_text(services)
    [claim] = claim_due(services)
    assert outbox_row(services)["state"] == "sending" and outbox_row(services)["attempt_id"] == claim.attempt_id
    recorder.events.clear()
    now = datetime.now(UTC)
    ledger(services).do_record([AttemptResult(claim, Accepted("wamid.OUT1"))], now)
    msg = message_row(services, message_id)
    assert (msg["external_id"], msg["status"], msg["accepted_at"]) == ("wamid.OUT1", "accepted", now)
    row = outbox_row(services)
    assert (row["state"], row["completed_at"], row["claimed_until"]) == ("done", now, None)
    assert [(e.type, e.payload["previous"], e.payload["status"]) for e in recorder.events] == [
        ("message.status_changed", "queued", "accepted")]


def test_permanent_failure_is_state_with_the_providers_reason(services, recorder):
    message_id = queued_text(services)
    [claim] = claim_due(services)
    recorder.events.clear()
    refusal = Refused(Retry.PERMANENT, 131026, "(#131026) Message undeliverable", "not on WhatsApp", 400)
    ledger(services).do_record([AttemptResult(claim, refusal)], datetime.now(UTC))
    msg = message_row(services, message_id)
    assert (msg["status"], msg["error_code"], msg["error_title"], msg["error_details"]) == (
        "failed", 131026, "(#131026) Message undeliverable", "not on WhatsApp")
    row = outbox_row(services)
    assert (row["state"], row["last_error_code"]) == ("failed", 131026)
    [event] = recorder.events
    assert event.type == "message.status_changed" and event.payload["error_code"] == 131026
    assert event.payload["status"] == "failed" and event.payload["previous"] == "queued"


def test_transient_failure_is_rescheduled_with_backoff(services, recorder):
    message_id = queued_text(services)
    [claim] = claim_due(services)
    recorder.events.clear()
    now = datetime.now(UTC)
    ledger(services).do_record([AttemptResult(claim, Refused(Retry.TRANSIENT, 130429, "(#130429) Rate limit hit"))],
                               now)
    row = outbox_row(services)
    assert (row["state"], row["attempts"], row["last_error_code"]) == ("queued", 1, 130429)
    assert row["next_attempt_at"] == now + timedelta(seconds=2)  # base 2 s, jitter at its top
    assert message_row(services, message_id)["status"] == "queued" and recorder.events == []
    # The second failure waits twice as long.
    [again] = claim_due(services, now + timedelta(seconds=2))
    ledger(services).do_record([AttemptResult(again, Refused(Retry.TRANSIENT, 2, "unavailable"))], now)
    assert outbox_row(services)["next_attempt_at"] == now + timedelta(seconds=4)


def test_transient_failures_give_up_after_the_last_attempt_with_the_last_code(services):
    message_id = queued_text(services)
    now = datetime.now(UTC)
    for attempt in range(1, POLICY.max_attempts + 1):
        [claim] = claim_due(services, now + timedelta(hours=attempt))
        assert claim.attempts == attempt
        ledger(services).do_record([AttemptResult(claim, Refused(Retry.TRANSIENT, 131000, "Something went wrong"))],
                                   now + timedelta(hours=attempt))
    msg = message_row(services, message_id)
    assert (msg["status"], msg["error_code"]) == ("failed", 131000)
    assert msg["error_title"] == f"gave up after {POLICY.max_attempts} attempts: Something went wrong"
    assert outbox_row(services)["state"] == "failed"


def test_an_unknown_outcome_waits_for_a_status_webhook_then_is_sent_again(services):
    message_id = queued_text(services)
    [claim] = claim_due(services)
    now = datetime.now(UTC)
    ledger(services).do_record([AttemptResult(claim, Refused(Retry.UNCERTAIN, None, "ReadTimeout"))], now)
    row = outbox_row(services)
    assert (row["state"], row["reconcile_until"]) == ("unconfirmed", now + POLICY.reconcile_window)
    assert ledger(services).do_sweep(now + timedelta(seconds=59)) == 0
    assert claim_due(services, now + timedelta(seconds=59)) == []  # not resent inside the window
    assert ledger(services).do_sweep(now + timedelta(seconds=60)) == 1
    row = outbox_row(services)
    assert row["state"] == "queued" and "sent again" in row["last_error"]
    [resend] = claim_due(services, now + timedelta(seconds=61))
    assert resend.attempts == 2 and resend.message_id == message_id


def test_a_lapsed_attempt_is_reconciled_not_resent(services):
    queued_text(services)
    now = datetime.now(UTC)
    [claim] = claim_due(services, now, lease=30)
    # The worker died mid-call: nothing recorded. Before the lease ends nothing happens.
    assert ledger(services).do_sweep(now + timedelta(seconds=29)) == 0
    assert ledger(services).do_sweep(now + timedelta(seconds=31)) == 1
    row = outbox_row(services)
    assert row["state"] == "unconfirmed" and claim.attempt_id in row["last_error"]
    assert row["reconcile_until"] == now + timedelta(seconds=31) + POLICY.reconcile_window
    assert claim_due(services, now + timedelta(seconds=40)) == []


@pytest.mark.parametrize("batched", [True, False])
def test_a_status_webhook_naming_our_message_completes_a_lapsed_attempt(services, recorder, batched):
    message_id = queued_text(services)
    services.delivery_worker.batched = batched
    now = datetime.now(UTC)
    claim_due(services, now, lease=30)
    ledger(services).do_sweep(now + timedelta(seconds=31))  # crashed mid-call: unconfirmed
    recorder.events.clear()
    # Meta had accepted it: its `sent` webhook carries our callback data and a wamid we never recorded.
    store(services, status_delivery("wamid.ADOPTED", "sent", callback=callback_data(message_id)))
    services.delivery_worker.drain()
    msg = message_row(services, message_id)
    assert (msg["external_id"], msg["status"]) == ("wamid.ADOPTED", "sent")
    assert outbox_row(services)["state"] == "done"
    assert [h["message_id"] for h in rows(services, status_history)] == [message_id]
    assert "message.status_unmatched" not in recorder.types()
    assert ("message.status_changed", "sent") in [(e.type, e.payload.get("status")) for e in recorder.events]
    # The reconciliation window passes: nothing is sent again.
    ledger(services).do_sweep(now + timedelta(hours=1))
    assert claim_due(services, now + timedelta(hours=1)) == []


@pytest.mark.parametrize("batched", [True, False])
def test_a_status_that_beats_the_senders_record_is_matched_and_the_acceptance_never_downgrades(
        services, batched):
    message_id = queued_text(services)
    services.delivery_worker.batched = batched
    [claim] = claim_due(services)
    store(services, status_delivery("wamid.FAST", "delivered", callback=callback_data(message_id)))
    services.delivery_worker.drain()
    assert message_row(services, message_id)["status"] == "delivered"
    ledger(services).do_record([AttemptResult(claim, Accepted("wamid.FAST"))], datetime.now(UTC))
    msg = message_row(services, message_id)
    assert (msg["external_id"], msg["status"]) == ("wamid.FAST", "delivered")
    assert outbox_row(services)["state"] == "done"


def test_statuses_that_arrived_before_the_wamid_without_callback_data_are_linked_on_acceptance(services):
    message_id = queued_text(services)
    [claim] = claim_due(services)
    store(services, status_delivery("wamid.EARLY", "sent"))  # no callback data: stored unmatched
    services.delivery_worker.drain()
    assert rows(services, status_history)[0]["message_id"] is None
    ledger(services).do_record([AttemptResult(claim, Accepted("wamid.EARLY"))], datetime.now(UTC))
    assert message_row(services, message_id)["status"] == "sent"
    assert rows(services, status_history)[0]["message_id"] == message_id


def test_callback_data_never_adopts_an_inbound_or_foreign_message(services, recorder):
    message_id = queued_text(services)
    [inbound] = rows(services, messages, messages.c.direction == "in")
    store(services, status_delivery("wamid.X1", "sent", callback=callback_data(inbound["id"])),
          status_delivery("wamid.X2", "sent", callback="other-app:42"),
          status_delivery("wamid.X3", "sent", callback=callback_data(99999)))
    services.delivery_worker.drain()
    assert message_row(services, message_id)["external_id"] is None
    assert recorder.types().count("message.status_unmatched") == 3


def test_a_second_wamid_for_one_message_is_reported_not_adopted(services, recorder):
    message_id = queued_text(services)
    [claim] = claim_due(services)
    ledger(services).do_record([AttemptResult(claim, Accepted("wamid.FIRST"))], datetime.now(UTC))
    store(services, status_delivery("wamid.SECOND", "sent", callback=callback_data(message_id)))
    services.delivery_worker.drain()
    assert message_row(services, message_id)["external_id"] == "wamid.FIRST"
    twice = [e for e in recorder.events if e.type == "message.sent_twice"]
    assert [(e.payload["external_id"], e.payload["other_external_id"]) for e in twice] == [
        ("wamid.FIRST", "wamid.SECOND")]
    assert count(services, events, events.c.type == "message.sent_twice") == 1


def test_an_outcome_for_a_superseded_attempt_is_ignored(services):
    message_id = queued_text(services)
    now = datetime.now(UTC)
    [stale] = claim_due(services, now, lease=1)
    ledger(services).do_sweep(now + timedelta(seconds=2))
    ledger(services).do_sweep(now + timedelta(seconds=2) + POLICY.reconcile_window)
    [current] = claim_due(services, now + timedelta(minutes=5))
    assert current.attempt_id != stale.attempt_id
    ledger(services).do_record([AttemptResult(stale, Refused(Retry.PERMANENT, 100, "Invalid parameter"))],
                               now + timedelta(minutes=5))
    assert outbox_row(services)["state"] == "sending"
    assert message_row(services, message_id)["status"] == "queued"


def test_read_receipts_complete_or_retry_without_reconciliation(services):
    whatsapp_channel(services)
    conversation_id = customer_wrote(services)
    services.outbound.do_mark_read(conversation_id)
    now = datetime.now(UTC)
    [claim] = claim_due(services, now)
    # An unknown outcome of a read receipt is simply retried: repeating it is harmless.
    ledger(services).do_record([AttemptResult(claim, Refused(Retry.UNCERTAIN, None, "timeout"))], now)
    assert outbox_row(services)["state"] == "queued"
    [again] = claim_due(services, now + timedelta(minutes=1))
    ledger(services).do_record([AttemptResult(again, Accepted(None))], now)
    assert outbox_row(services)["state"] == "done"


def test_no_resend_while_received_webhooks_are_still_unapplied(services):
    message_id = queued_text(services)
    now = datetime.now(UTC)
    claim_due(services, now, lease=30)
    ledger(services).do_sweep(now + timedelta(seconds=31))  # lapsed: unconfirmed
    # Its `sent` status has been received but the inbound worker has not applied it yet.
    store(services, status_delivery("wamid.BACKLOG", "sent", callback=callback_data(message_id)))
    later = now + timedelta(hours=1)
    assert ledger(services).do_sweep(later) == 0
    assert outbox_row(services)["state"] == "unconfirmed" and claim_due(services, later) == []
    services.delivery_worker.drain()
    assert outbox_row(services)["state"] == "done"
    assert message_row(services, message_id)["external_id"] == "wamid.BACKLOG"

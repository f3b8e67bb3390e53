"""Opt-outs and opt-ins as they arrive: webhooks through the real inbound pipeline, on the batched path and
event by event, each recorded in the transaction that stored it, with the confirmation queued."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from sqlalchemy import select

from centralino.app.consent import ConsentRefused
from centralino.domain.consent import Purpose
from centralino.domain.outbound import TemplateMessage, Text
from centralino.simulator import payloads
from centralino.storage.tables import contact_identities, contacts, messages, outbox
from centralino.storage.tables_consent import consent_records
from tests.factories import PNID, WABA, fixture_json, outbound_message, text_delivery, whatsapp_channel
from tests.helpers import count, rows, store
from tests.outbound_helpers import GIULIA, MARCO, customer_wrote, status_delivery

CONFIRM_IT = "Ok, non riceverai più messaggi promozionali. Scrivi START per iscriverti di nuovo."
CONFIRM_EN = "Done: you will not receive promotional messages any more. Write START to subscribe again."


@pytest.fixture(params=["batched", "one_by_one"])
def path(request, services):
    services.delivery_worker.batched = request.param == "batched"
    whatsapp_channel(services)
    return request.param


def contact_id_of(services, wa_id: str) -> int:
    with services.engine.connect() as conn:
        return int(conn.execute(select(contact_identities.c.contact_id).where(
            contact_identities.c.kind == "whatsapp", contact_identities.c.value == wa_id)).scalar_one())


def writes(services, body: str, wa_id: str = GIULIA, *, ago: float = 30.0, msg_id: str | None = None) -> str:
    msg_id = msg_id or f"wamid.C{uuid.uuid4().hex[:12]}"
    store(services, text_delivery(wa_id, body, int(time.time() - ago), msg_id))
    services.delivery_worker.drain()
    return msg_id


def confirmations(services) -> list[str]:
    return [r["text"] for r in rows(services, messages, messages.c.direction == "out", messages.c.origin == "consent")]


def marketing(services, conversation_id: int) -> None:
    services.outbound.do_send(conversation_id, TemplateMessage(
        name="promo", language="it", category="marketing", components=(), preview="Saldi!"), origin="campaign:1")


def test_stop_records_a_marketing_opt_out_and_confirms(services, path, recorder):
    conversation_id = customer_wrote(services)
    assert services.consent is services.outbound.consent
    msg_id = writes(services, "  Stop! ")
    [rec] = rows(services, consent_records)
    contact_id = contact_id_of(services, GIULIA)
    assert (rec["contact_id"], rec["purpose"], rec["action"], rec["source"], rec["actor"], rec["channel_id"]) == (
        contact_id, "marketing", "opt_out", "keyword", "customer", None)
    [stored] = rows(services, messages, messages.c.external_id == msg_id)
    assert rec["evidence"] == {"message_id": stored["id"], "text": "  Stop! ", "keyword": "STOP", "language": "it"}
    assert rec["occurred_at"] == stored["sent_at"] and rec["dedupe_key"] == f"message:{stored['id']}"
    assert confirmations(services) == [CONFIRM_IT]
    [row] = rows(services, outbox, outbox.c.message_id == rows(services, messages, messages.c.origin == "consent")[0]["id"])
    assert row["state"] == "queued"
    assert "consent.recorded" in recorder.types()
    with pytest.raises(ConsentRefused, match=r"opted out of marketing on .* by keyword STOP"):
        marketing(services, conversation_id)
    services.outbound.do_send(conversation_id, Text("Va bene, a presto"), origin="bot")  # a reply still goes


def test_a_sentence_with_stop_in_it_is_not_an_opt_out(services, path):
    customer_wrote(services)
    writes(services, "Please don't stop the delivery, I need it")
    writes(services, "stop it")
    assert count(services, consent_records) == 0 and confirmations(services) == []


def test_the_same_message_delivered_twice_is_one_record_and_one_confirmation(services, path):
    customer_wrote(services)
    writes(services, "ANNULLA", msg_id="wamid.SAMESTOP")
    writes(services, "ANNULLA", msg_id="wamid.SAMESTOP")
    assert count(services, consent_records) == 1 and len(confirmations(services)) == 1


def test_the_confirmation_follows_the_customers_language_and_start_opts_in_again(services, path):
    customer_wrote(services, MARCO)
    marco = contact_id_of(services, MARCO)
    with services.engine.begin() as conn:
        conn.execute(contacts.update().where(contacts.c.id == marco).values(language="en_GB"))
    writes(services, "unsubscribe", MARCO)
    writes(services, "Start", MARCO, ago=10)
    records = rows(services, consent_records, order_by=consent_records.c.id)
    assert [(r["action"], r["source"], r["evidence"]["keyword"]) for r in records] == [
        ("opt_out", "keyword", "UNSUBSCRIBE"), ("opt_in", "keyword", "START")]
    assert confirmations(services) == [
        CONFIRM_EN, "Thanks, you are subscribed to our promotional messages again. Write STOP to unsubscribe."]
    with services.engine.connect() as conn:
        decision = services.consent.states_for(conn, [contact_id_of(services, MARCO)], None, Purpose.MARKETING)
    assert next(iter(decision.values())).allowed


def test_no_confirmation_when_the_window_is_closed(services, path):
    writes(services, "STOP", ago=3 * 86400)  # an old message delivered late: the window is long closed
    [rec] = rows(services, consent_records)
    assert rec["action"] == "opt_out"
    assert confirmations(services) == []


def test_a_quick_reply_configured_as_opt_out(services, path):
    body = fixture_json("messages_button.json")
    item = body["entry"][0]["changes"][0]["value"]["messages"][0]
    item["timestamp"] = str(int(time.time()) - 20)
    store(services, json.dumps(body).encode())
    services.delivery_worker.drain()
    [rec] = rows(services, consent_records)
    assert (rec["purpose"], rec["action"], rec["source"]) == ("marketing", "opt_out", "quick_reply")
    assert rec["evidence"]["payload"] == "STOP_MARKETING" and rec["evidence"]["text"] == "Stop promotions"
    assert len(confirmations(services)) == 1


def test_a_quick_reply_that_is_not_an_opt_out(services, path):
    item = payloads.template_button(GIULIA, "BOOK_NOW", "Book now", "15550783881", "wamid.X", int(time.time()))
    store(services, payloads.encode(payloads.envelope(WABA, PNID, "15550783881",
                                                      contacts=[payloads.contact(GIULIA, "Giulia")], messages=[item])))
    services.delivery_worker.drain()
    assert count(services, consent_records) == 0


@pytest.mark.parametrize(("fixture", "action"), [("user_preferences_stop.json", "opt_out"),
                                                  ("user_preferences_resume.json", "opt_in")])
def test_whatsapps_marketing_preference(services, path, fixture, action):
    customer_wrote(services, MARCO)  # window open: the confirmation goes
    store(services, json.dumps(fixture_json(fixture)).encode())
    services.delivery_worker.drain()
    [rec] = rows(services, consent_records)
    assert (rec["contact_id"], rec["purpose"], rec["action"], rec["source"], rec["actor"]) == (
        contact_id_of(services, MARCO), "marketing", action, "meta_signal", "meta")
    assert rec["evidence"]["category"] == "marketing_messages"
    assert len(confirmations(services)) == 1
    store(services, json.dumps(fixture_json(fixture)).encode())  # Meta retries the same webhook
    services.delivery_worker.drain()
    assert count(services, consent_records) == 1


def test_a_marketing_send_failed_with_131050(services, path):
    message_id = outbound_message(services, "wamid.PROMO1", status="sent")
    error = {"code": 131050, "title": "User has stopped marketing messages"}
    store(services, status_delivery("wamid.PROMO1", "failed", error=error))
    services.delivery_worker.drain()
    [rec] = rows(services, consent_records)
    assert (rec["purpose"], rec["action"], rec["source"]) == ("marketing", "opt_out", "failed_status")
    assert rec["evidence"]["message_id"] == message_id and rec["evidence"]["error_code"] == 131050
    assert confirmations(services) == []  # no window: nothing to confirm in


def test_other_failures_and_statuses_record_nothing(services, path):
    outbound_message(services, "wamid.PROMO2", status="sent")
    store(services, status_delivery("wamid.PROMO2", "delivered"),
          status_delivery("wamid.PROMO2", "failed", error={"code": 131026, "title": "Undeliverable"}))
    services.delivery_worker.drain()
    assert count(services, consent_records) == 0


def test_a_failing_opt_out_rolls_the_message_back_with_it(services, path, monkeypatch):
    """In the same transaction: if the opt-out cannot be written, the message is not stored either (and the
    delivery is retried), so an acknowledged STOP never ends up stored without its opt-out."""
    customer_wrote(services)
    from centralino.storage import consent as consent_repo

    def broken(conn, values):
        raise RuntimeError("disk full")

    monkeypatch.setattr(consent_repo, "insert", broken)
    before = count(services, messages)
    store(services, text_delivery(GIULIA, "STOP", int(time.time()), "wamid.BROKENSTOP"))
    services.delivery_worker.drain(max_rounds=1)
    assert count(services, messages) == before
    monkeypatch.undo()
    assert count(services, consent_records) == 0


def test_a_batch_of_many_customers_records_exactly_the_opt_outs_in_it(services, path):
    now = int(time.time()) - 5
    senders = [f"3934700{n:05d}" for n in range(40)]
    bodies = {n: "Buongiorno, vorrei sapere lo stato del mio ordine" for n in range(40)}
    bodies.update({3: "STOP", 17: "stop promozioni", 21: "stop it", 30: "Disiscrivimi!"})
    items = [payloads.text(s, bodies[n], now, f"wamid.BATCH{n:04d}") for n, s in enumerate(senders)]
    items.append(payloads.template_button(senders[5], "STOP_MARKETING", "Stop promotions", "15550783881",
                                          "wamid.X", now))
    store(services, payloads.encode(payloads.envelope(
        WABA, PNID, "15550783881", contacts=[payloads.contact(s, f"C{n}") for n, s in enumerate(senders)],
        messages=items)))
    services.delivery_worker.drain()
    opted_out = {contact: source for contact, source in (
        (r["contact_id"], r["source"]) for r in rows(services, consent_records))}
    assert opted_out == {contact_id_of(services, senders[3]): "keyword", contact_id_of(services, senders[17]): "keyword",
                         contact_id_of(services, senders[30]): "keyword",
                         contact_id_of(services, senders[5]): "quick_reply"}
    assert len(confirmations(services)) == 4

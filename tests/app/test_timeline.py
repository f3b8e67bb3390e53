"""The timeline's writer: every shown event of a transaction becomes an entry, in order, with no free text, in
one INSERT per transaction; ticks other than failed add nothing; merges carry the story along."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from sqlalchemy import select

from centralino.app.unit_of_work import unit_of_work
from centralino.domain.access import Role
from centralino.domain.consent import Action, Purpose, Source
from centralino.domain.enums import ConversationStatus
from centralino.domain.outbound import Text
from centralino.storage import contacts as contact_repo
from centralino.storage.tables import conversations, messages
from centralino.storage.tables_timeline import timeline_entries
from tests.factories import outbound_message, whatsapp_channel
from tests.helpers import rows, store
from tests.outbound_helpers import status_delivery
from tests.timeline_helpers import ADMIN, InsertCounter, contact_of, customer_writes, entries, story

SECRET_WORDS = ("mio IBAN", "nota privata", "spedito")


def test_a_customers_story_reads_in_order_across_kinds(services):
    channel_id = whatsapp_channel(services)
    user = services.admin.do_create_user(ADMIN, email="anna@example.com", display_name="Anna", role=Role.AGENT,
                                         password="correct horse battery", department_ids=[])
    customer_writes(services, "ciao, ecco il mio IBAN", "ci siete?")
    contact_id = contact_of(services)
    [conversation] = rows(services, conversations)
    conversation_id = int(conversation["id"])
    services.desk.do_add_note(ADMIN, conversation_id, "nota privata: cliente VIP")
    services.desk.do_assign(ADMIN, conversation_id, int(user["id"]))
    services.outbound.do_send(conversation_id, Text("spedito oggi"), origin="api")
    services.desk.do_set_status(ADMIN, conversation_id, ConversationStatus.RESOLVED)
    services.consent.do_record(ADMIN, contact_id, purpose=Purpose.MARKETING, action=Action.OPT_OUT,
                               source=Source.API, channel_id=channel_id)
    customer_writes(services, "ancora io")  # reopens the resolved conversation, in the same transaction

    written = entries(services)
    assert [e["kind"] for e in written] == [
        "message_in", "message_in", "note", "conversation_assigned", "message_out", "conversation_resolved",
        "consent", "conversation_reopened", "message_in"]  # the reopen is emitted before the batch's messages
    assert {e["contact_id"] for e in written} == {contact_id}
    by_kind = {e["kind"]: e for e in written}
    assert by_kind["note"]["conversation_id"] == conversation_id and by_kind["note"]["channel_kind"] == "whatsapp"
    assert by_kind["conversation_assigned"]["summary"] == {"from": None, "to": int(user["id"])}
    assert by_kind["conversation_resolved"]["summary"] == {"from": "open", "to": "resolved"}
    assert by_kind["consent"]["summary"] == {"purpose": "marketing", "action": "opt_out", "source": "api"}
    assert by_kind["consent"]["ref"].startswith("consent:") and by_kind["consent"]["conversation_id"] is None
    assert by_kind["message_out"]["summary"] == {"type": "text", "origin": "api"}
    assert by_kind["message_in"]["actor"] == "customer"
    stored = repr([(e["summary"], e["ref"], e["actor"]) for e in written])
    assert not any(word in stored for word in SECRET_WORDS)  # no free text is kept in the entries

    # read back: newest first, the text joined from the message itself
    read = story(services, contact_id, limit=2)
    assert [e["id"] for e in read] == [e["id"] for e in sorted(written, key=lambda e: (e["occurred_at"], e["id"]),
                                                                reverse=True)]
    texts = [e["message"]["text"] for e in reversed(read) if e["message"] is not None]
    assert texts == ["ciao, ecco il mio IBAN", "ci siete?", "nota privata: cliente VIP", "spedito oggi", "ancora io"]


def test_ticks_add_nothing_but_a_failure_is_shown_with_its_code(services):
    whatsapp_channel(services)
    outbound_message(services, "wamid.OUT1")
    message_id = outbound_message(services, "wamid.OUT2")
    before = len(entries(services))
    now = int(time.time())
    store(services, status_delivery("wamid.OUT1", "sent", now), status_delivery("wamid.OUT1", "delivered", now + 1))
    services.delivery_worker.drain()
    assert len(entries(services)) == before
    store(services, status_delivery("wamid.OUT2", "failed", now + 2,
                                    error={"code": 131026, "title": "Message undeliverable"}))
    services.delivery_worker.drain()
    [failed] = entries(services, timeline_entries.c.kind == "delivery_failed")
    [msg] = rows(services, messages, messages.c.id == message_id)
    assert (failed["message_id"], failed["contact_id"], failed["conversation_id"]) == (
        message_id, msg["contact_id"], msg["conversation_id"])  # looked up: the status event names none
    assert failed["summary"]["error_code"] == 131026 and failed["channel_kind"] == "whatsapp"


def test_an_inbound_batch_costs_one_insert(services):
    whatsapp_channel(services)
    customer_writes(services, "primo")  # the contact and conversation exist: the next batch is the steady state
    counter = InsertCounter(services.engine)
    try:
        customer_writes(services, *(f"messaggio {i}" for i in range(40)))
        customer_writes(services, *(f"altro {i}" for i in range(5)), wa_id="447700900123", name="Marco")
    finally:
        counter.close()
    assert counter.count == 2  # one per drained batch, whatever the number of messages
    assert len(entries(services, timeline_entries.c.kind == "message_in")) == 46


def test_a_transaction_with_nothing_to_show_writes_nothing(services):
    whatsapp_channel(services)
    counter = InsertCounter(services.engine)
    try:
        with unit_of_work(services.engine, services.bus) as uow:
            uow.emit("agent.presence_changed", user_id=1, state="online", previous="offline", actor="user:1")
    finally:
        counter.close()
    assert counter.count == 0


def test_case_and_task_events_become_entries_without_their_free_text(services):
    whatsapp_channel(services)
    customer_writes(services, "ciao")
    contact_id = contact_of(services)
    with unit_of_work(services.engine, services.bus) as uow:
        uow.emit("case.created", case_id=7, contact_id=contact_id, number="C-2026-000007", title="Rimborso IBAN",
                 actor="user:3")
        uow.emit("task.escalated", case_id=7, contact_id=contact_id, task_id=11, from_department_id=1,
                 to_department_id=2, reason="il cliente dice che il suo IBAN è sbagliato", by="user:3",
                 handoff_id=5, actor="user:3")
    created, escalated = entries(services, timeline_entries.c.case_id == 7)
    assert (created["kind"], created["summary"]) == ("case_created", {"case_id": 7, "number": "C-2026-000007"})
    assert escalated["kind"] == "task_escalated" and escalated["ref"] == "handoff:5"
    assert escalated["summary"] == {"case_id": 7, "task_id": 11, "from_department_id": 1, "to_department_id": 2,
                                    "by": "user:3", "handoff_id": 5}
    assert "IBAN" not in repr([created, escalated])


def test_a_merge_moves_the_story_to_the_kept_contact(services):
    whatsapp_channel(services)
    customer_writes(services, "da Giulia")
    customer_writes(services, "da Marco", wa_id="447700900123", name="Marco")
    giulia, marco = contact_of(services), contact_of(services, "447700900123")
    [giulia_conversation] = rows(services, conversations, conversations.c.contact_id == giulia)
    with services.engine.begin() as conn:  # same channel: Marco's conversation is folded into Giulia's, deleted
        contact_repo.merge(conn, keep=giulia, drop=marco, now=datetime.now(UTC))
    assert {(e["contact_id"], e["conversation_id"]) for e in entries(services)} == {
        (giulia, giulia_conversation["id"])}
    assert [e["message"]["text"] for e in reversed(story(services, giulia))] == ["da Giulia", "da Marco"]


def test_one_transaction_rolled_back_leaves_no_entry(services):
    whatsapp_channel(services)
    customer_writes(services, "ciao")
    contact_id = contact_of(services)
    before = len(entries(services))
    try:
        with unit_of_work(services.engine, services.bus) as uow:
            uow.emit("consent.recorded", record_id=1, contact_id=contact_id, channel_id=None, purpose="marketing",
                     action="opt_in", source="api")
            raise RuntimeError("the cause fails")
    except RuntimeError:
        pass
    assert len(entries(services)) == before
    with services.engine.connect() as conn:
        assert conn.execute(select(timeline_entries.c.id).where(timeline_entries.c.kind == "consent")).first() is None

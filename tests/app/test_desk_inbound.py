"""What the customer's messages change on the desktop's side, on both inbound paths (the batched one and
event by event): a resolved conversation reopens, and a name an agent set survives new profile names."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import update

from centralino.channels.whatsapp.parser import parse_delivery
from centralino.domain.access import Principal, Role
from centralino.domain.enums import ConversationStatus
from centralino.simulator import payloads
from centralino.storage.tables import contacts, conversations
from tests.factories import text_delivery, whatsapp_channel
from tests.helpers import rows, store

ADMIN = Principal(role=Role.ADMIN, user_id=None, via="integration")
WA = "393471112233"


def deliver(services, path: str, *bodies: bytes) -> None:
    """The batched path (the delivery worker) or the per-event path (InboundProcessor.do_apply)."""
    if path == "batch":
        store(services, *bodies)
        services.delivery_worker.drain()
    else:
        for body in bodies:
            for event in parse_delivery(payloads.loads(body)):
                services.processor.do_apply(event)


def first_conversation(services, path: str) -> int:
    whatsapp_channel(services)
    deliver(services, path, text_delivery(WA, "ciao", int(time.time()) - 60, "wamid.FIRST", name="Giulia"))
    [conversation] = rows(services, conversations)
    return int(conversation["id"])


@pytest.mark.parametrize("path", ["batch", "one_by_one"])
def test_a_resolved_conversation_reopens_when_the_customer_writes_again(services, recorder, path):
    conversation_id = first_conversation(services, path)
    services.desk.do_set_status(ADMIN, conversation_id, ConversationStatus.RESOLVED)
    recorder.events.clear()

    now = int(time.time())
    deliver(services, path, text_delivery(WA, "ancora io", now, "wamid.AGAIN", name="Giulia"),
            text_delivery(WA, "e ancora", now + 1, "wamid.AGAIN2", name="Giulia"))

    [conversation] = rows(services, conversations)
    assert conversation["status"] == "open"
    changes = [e.payload for e in recorder.events if e.type == "conversation.status_changed"]
    assert changes == [{"conversation_id": conversation_id, "status": "open", "previous": "resolved",
                        "actor": "customer"}]  # once, however many messages came


@pytest.mark.parametrize("path", ["batch", "one_by_one"])
def test_an_open_or_snoozed_conversation_is_not_touched_by_the_reopen(services, recorder, path):
    conversation_id = first_conversation(services, path)
    recorder.events.clear()
    deliver(services, path, text_delivery(WA, "di nuovo", int(time.time()), "wamid.OPEN2", name="Giulia"))
    assert [e for e in recorder.events if e.type == "conversation.status_changed"] == []
    with services.engine.begin() as conn:  # snoozed: wake_snoozed reopens it (the workers' loop), not inbound
        conn.execute(update(conversations).where(conversations.c.id == conversation_id).values(status="snoozed"))
    deliver(services, path, text_delivery(WA, "sveglia", int(time.time()) + 5, "wamid.SNOOZED", name="Giulia"))
    assert rows(services, conversations)[0]["status"] == "snoozed"
    assert [e for e in recorder.events if e.type == "conversation.status_changed"] == []


@pytest.mark.parametrize("path", ["batch", "one_by_one"])
def test_a_name_set_by_an_agent_is_kept_and_the_profile_name_stored_apart(services, path):
    conversation_id = first_conversation(services, path)
    [contact] = rows(services, contacts)
    assert (contact["display_name"], contact["profile_name"]) == ("Giulia", "Giulia")

    # before any agent names her, a newer profile name is her name
    deliver(services, path, text_delivery(WA, "nuovo nome", int(time.time()), "wamid.N1", name="Giulia B."))
    [contact] = rows(services, contacts)
    assert (contact["display_name"], contact["profile_name"]) == ("Giulia B.", "Giulia B.")

    services.desk.do_rename_contact(ADMIN, conversation_id, "Giulia Bianchi (VIP)")
    deliver(services, path, text_delivery(WA, "altro", int(time.time()) + 10, "wamid.N2", name="Giuly"))
    [contact] = rows(services, contacts)
    assert contact["display_name"] == "Giulia Bianchi (VIP)"
    assert contact["profile_name"] == "Giuly"


def test_the_batch_keeps_the_newest_profile_name_and_the_agents_name(services):
    whatsapp_channel(services)
    now = int(time.time())
    deliver(services, "batch", text_delivery(WA, "a", now, "wamid.B1", name="Primo"))
    conversation_id = int(rows(services, conversations)[0]["id"])
    services.desk.do_rename_contact(ADMIN, conversation_id, "Scelto dall'agente")
    deliver(services, "batch", text_delivery(WA, "b", now + 20, "wamid.B3", name="Terzo"),
            text_delivery(WA, "c", now + 10, "wamid.B2", name="Secondo"))
    [contact] = rows(services, contacts)
    assert (contact["display_name"], contact["profile_name"]) == ("Scelto dall'agente", "Terzo")


def test_merging_contacts_drops_the_read_marker_of_the_conversation_merged_away(services):
    """Two contacts on one channel turn out to be one person: the dropped conversation's messages move to
    the kept one and its read marker goes with it (it would otherwise block deleting the conversation)."""
    from datetime import UTC, datetime

    from sqlalchemy import insert

    from centralino.storage import contacts as contact_repo
    from centralino.storage.tables_desk import conversation_reads

    channel_id = whatsapp_channel(services)
    now = datetime.now(UTC)
    with services.engine.begin() as conn:
        keep, drop = (int(conn.execute(insert(contacts).values(created_at=now, updated_at=now)
                                       .returning(contacts.c.id)).scalar_one()) for _ in range(2))
        kept, dropped = (int(conn.execute(insert(conversations).values(
            contact_id=cid, channel_id=channel_id, status="open", created_at=now)
            .returning(conversations.c.id)).scalar_one()) for cid in (keep, drop))
        conn.execute(insert(conversation_reads), [
            {"conversation_id": c, "last_read_message_id": 1, "read_by_user_id": None, "read_at": now}
            for c in (kept, dropped)])
        contact_repo.merge(conn, keep=keep, drop=drop, now=now)
    assert [int(c["id"]) for c in rows(services, conversations)] == [kept]
    assert [r["conversation_id"] for r in rows(services, conversation_reads,
                                               order_by=conversation_reads.c.conversation_id)] == [kept]

"""Contact merge: every reference to the merged contact moves to the survivor (found from the metadata), two
conversations on one channel are folded, consent stays append-only on both, the profile is combined with the
survivor winning, the tombstone points at the survivor; idempotent; refusals."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, select

from centralino.app.contact_merge import ContactMerger
from centralino.errors import Conflict, Forbidden, InvalidInput
from centralino.events.bus import Recorder
from centralino.services import Services
from centralino.storage.tables import audit_log, contact_identities, contact_tags, contacts, conversations, messages
from centralino.storage.tables_campaigns import campaign_recipients
from centralino.storage.tables_consent import consent_records
from centralino.storage.tables_contacts_admin import contact_merges
from centralino.storage.tables_notifications import notifications
from tests.campaign_helpers import approved_template
from tests.contact_admin_helpers import (
    ADMIN,
    AGENT,
    SUPERVISOR,
    consented,
    conversation_of,
    customer_writes,
    notification_for,
    profile,
    rows_pointing_at,
    stored_media,
    table_counts,
)
from tests.factories import PNID_2, WABA_2, both_channels, text_delivery
from tests.helpers import count, rows, store

A, B = "393471111111", "393472222222"


def merger(services: Services) -> ContactMerger:
    return ContactMerger(services.engine, services.bus, lambda: datetime.now(UTC))


def _two_customers(services: Services) -> tuple[int, int, int, int]:
    care, sales = both_channels(services)
    a = customer_writes(services, A, "ciao sono Anna", name="Anna")
    b = customer_writes(services, B, "sono Bruno", "ancora Bruno", name="Bruno")
    assert customer_writes(services, B, "Bruno su sales", name="Bruno", pnid=PNID_2, waba=WABA_2) == b
    profile(services, a, tags=("shared",), attributes={"city": "Roma"}, language="it")
    profile(services, b, tags=("shared", "vip"), attributes={"city": "Milano", "tier": "gold"}, language="en")
    consented(services, b)
    stored_media(services, b)
    notification_for(services, b)
    # one campaign reached both: a recipient row each (unique per campaign and contact)
    assert services.campaigns is not None
    campaign = services.campaigns.do_create(SUPERVISOR, {
        "name": "Primavera", "channel_id": care, "template_id": approved_template(services),
        "audience": {"tags": ["shared"]}, "rate_per_s": 50, "daily_tier": "unlimited",
        "parameters": {"1": {"field": "display_name"}, "2": {"attribute": "city"}, "3": {"text": "X"}}})
    services.campaigns.do_plan(SUPERVISOR, int(campaign["id"]))
    return a, b, care, sales


def test_merge_moves_every_reference_and_folds_the_shared_channel(services: Services, recorder: Recorder) -> None:
    a, b, care, sales = _two_customers(services)
    before = table_counts(services)
    b_pointing = rows_pointing_at(services, b)
    assert {"messages.contact_id", "conversations.contact_id", "contact_identities.contact_id",
            "consent_records.contact_id", "notifications.contact_id", "campaign_recipients.contact_id",
            "contact_tags.contact_id"} <= set(b_pointing)
    folded = conversation_of(services, b, care)
    kept = conversation_of(services, a, care)

    result = merger(services).do_merge(ADMIN, a, b)

    assert result["already"] is False and result["survivor_id"] == a and result["merged_id"] == b
    after = table_counts(services)
    # nothing lost: only the folded conversation and the duplicate tag are gone; consent gained a copy
    assert before["conversations"] - after["conversations"] == 1
    assert before["contact_tags"] - after["contact_tags"] == 1
    assert after["consent_records"] - before["consent_records"] == 1
    for table in ("messages", "contact_identities", "notifications", "campaign_recipients", "message_media",
                  "status_history", "outbox", "routing_items", "service_episodes"):
        assert after[table] == before[table], table
    # every reference moved, except the append-only ledger, the campaign row that would collide and the record
    assert rows_pointing_at(services, b) == {"consent_records.contact_id": 1, "campaign_recipients.contact_id": 1,
                                             "contact_merges.merged_id": 1}
    assert result["details"]["left_on_tombstone"]["campaign_recipients.contact_id"]
    assert count(services, campaign_recipients, campaign_recipients.c.contact_id == a) == 1
    # the conversations: the care one folded into A's, the sales one moved
    assert count(services, conversations, conversations.c.id == folded) == 0
    assert count(services, messages, messages.c.conversation_id == kept) == 3
    assert conversation_of(services, a, sales)
    assert result["details"]["conversations"]["folded"][0]["from"] == folded
    assert result["details"]["conversations"]["folded"][0]["into"] == kept
    # consent: B's record stays where it was, A has an appended copy naming it
    copy = rows(services, consent_records, consent_records.c.contact_id == a)
    assert len(copy) == 1 and copy[0]["evidence"]["merged_from_contact_id"] == b
    # profile: survivor wins conflicts, fills gaps, conflicts recorded
    survivor = rows(services, contacts, contacts.c.id == a)[0]
    assert survivor["attributes"] == {"city": "Roma", "tier": "gold"} and survivor["language"] == "it"
    assert result["details"]["profile"]["conflicts"]["attributes.city"] == {"kept": "Roma", "dropped": "Milano"}
    assert {r["tag"] for r in rows(services, contact_tags, contact_tags.c.contact_id == a,
                                   order_by=contact_tags.c.tag)} == {"shared", "vip"}
    tomb = rows(services, contacts, contacts.c.id == b)[0]
    assert tomb["merged_into_id"] == a
    merged = [e.payload for e in recorder.events if e.type == "contact.merged"]
    assert merged == [{"contact_id": a, "merged_contact_id": b, "actor": "integration"}]
    assert count(services, audit_log, audit_log.c.action == "contact.merged") == 1
    assert count(services, contact_merges) == 1


def test_merge_again_is_a_no_op_and_refusals_change_nothing(services: Services, recorder: Recorder) -> None:
    a, b, _, _ = _two_customers(services)
    m = merger(services)
    with pytest.raises(InvalidInput) as self_merge:
        m.do_merge(ADMIN, a, a)
    assert self_merge.value.code == "contact.merge_self"
    with pytest.raises(Forbidden):
        m.do_merge(AGENT, a, b)
    first = m.do_merge(ADMIN, a, b)
    again = m.do_merge(ADMIN, a, b)
    assert again["already"] is True and again["id"] == first["id"]
    assert [e.type for e in recorder.events].count("contact.merged") == 1
    with pytest.raises(Conflict) as into_tombstone:
        m.do_merge(ADMIN, b, a)
    assert into_tombstone.value.code == "contact.merged" and into_tombstone.value.details["merged_into_id"] == a
    c = customer_writes(services, "393473333333", "terzo")
    with pytest.raises(Conflict):
        m.do_merge(ADMIN, c, b)  # b already belongs to a
    assert count(services, contact_merges) == 1


def test_tombstones_of_earlier_merges_point_at_the_latest_survivor(services: Services) -> None:
    both_channels(services)
    a = customer_writes(services, A, "a")
    b = customer_writes(services, B, "b")
    c = customer_writes(services, "393473333333", "c")
    m = merger(services)
    m.do_merge(ADMIN, b, c)
    m.do_merge(ADMIN, a, b)
    with services.engine.connect() as conn:
        tombs = dict(conn.execute(select(contacts.c.id, contacts.c.merged_into_id)
                                  .where(contacts.c.id.in_([b, c]))).all())
    assert tombs == {b: a, c: a}
    assert {r["merged_id"]: r["survivor_id"] for r in rows(services, contact_merges)} == {c: b, b: a}
    assert count(services, messages, messages.c.contact_id == a) == 3


def test_an_inbound_merge_moves_what_other_areas_hang_on_the_contact(services: Services, recorder: Recorder) -> None:
    """A customer's WhatsApp number and business-scoped id turn out to be two contacts: the pipeline merges
    them (storage/contacts.py), and the follower moves every other reference, found from the metadata."""
    both_channels(services)
    a = customer_writes(services, A, "ciao", name="Anna")
    b = customer_writes(services, B, "sono io", name="Anna")
    profile(services, b, tags=("vip",), attributes={"tier": "gold"})
    consented(services, b)
    notification = notification_for(services, b)  # on b's conversation, which the merge folds into a's
    with services.engine.begin() as conn:
        conn.execute(insert(contact_identities).values(contact_id=b, kind="whatsapp_bsuid", value="IT.ANNA",
                                                       created_at=datetime.now(UTC)))
    store(services, text_delivery(A, "sono sempre Anna", int(time.time()), "wamid.bsuid.1", "Anna", bsuid="IT.ANNA"))
    services.delivery_worker.drain()
    assert [e.payload for e in recorder.events if e.type == "contact.merged"] == [
        {"contact_id": a, "merged_contact_id": b}]
    assert rows_pointing_at(services, b) == {"consent_records.contact_id": 1}
    moved = rows(services, notifications, notifications.c.id == notification)[0]
    assert moved["contact_id"] == a and moved["conversation_id"] == conversation_of(services, a, moved["channel_id"])
    assert rows(services, contacts, contacts.c.id == a)[0]["attributes"] == {"tier": "gold"}
    assert [t["tag"] for t in rows(services, contact_tags, contact_tags.c.contact_id == a,
                                   order_by=contact_tags.c.tag)] == ["vip"]
    assert count(services, messages, messages.c.contact_id == a) == 3


def test_a_folded_conversation_leaves_its_queue(services: Services) -> None:
    """Routing's contact.merged listener closes the queue item of a conversation the merge folded: the event
    is emitted after the conversations are settled and before routing items are re-pointed."""
    from tests.routing_helpers import build_center

    center = build_center(services)
    queue = center.queue("assistenza")
    center.rule(queue)
    kept = center.customer_writes("ciao", wa_id=A)
    folded = center.customer_writes("ciao anche da me", wa_id=B)
    assert center.item(kept)["state"] == "waiting" and center.item(folded)["state"] == "waiting"
    a, b = (rows(services, conversations, conversations.c.id == c)[0]["contact_id"] for c in (kept, folded))
    merger(services).do_merge(ADMIN, a, b)
    assert center.item(folded)["state"] == "removed"
    assert center.item(kept)["state"] == "waiting"
    assert center.item(folded)["contact_id"] == a  # re-pointed after it was closed
    center.agent("ugo", {})
    assert center.route() == 1 and center.item(kept)["state"] == "offered"

"""The audit trail cannot be edited: the database itself refuses to change or delete a timeline entry or an
audit_log row (migration 0014), on PostgreSQL and SQLite. Only a merge's re-pointing of contact_id /
conversation_id passes, and on PostgreSQL a GDPR redaction of audit details that says so."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, insert, update
from sqlalchemy.exc import DBAPIError

from centralino.storage.tables import audit_log
from centralino.storage.tables_timeline import timeline_entries
from tests.factories import whatsapp_channel
from tests.helpers import rows
from tests.timeline_helpers import contact_of, customer_writes, entries

t = timeline_entries.c


def refused(services, statement) -> str:
    with pytest.raises(DBAPIError) as caught, services.engine.begin() as conn:
        conn.execute(statement)
    return str(caught.value)


def test_an_entry_cannot_be_changed_or_deleted(services):
    whatsapp_channel(services)
    customer_writes(services, "ciao")
    [entry] = entries(services)
    for statement in (update(timeline_entries).where(t.id == entry["id"]).values(kind="note"),
                      update(timeline_entries).where(t.id == entry["id"]).values(summary={}),
                      update(timeline_entries).where(t.id == entry["id"]).values(occurred_at=datetime.now(UTC)),
                      update(timeline_entries).where(t.id == entry["id"]).values(contact_id=entry["contact_id"],
                                                                                  actor="someone"),
                      delete(timeline_entries).where(t.id == entry["id"])):
        assert "timeline_entries is append-only" in refused(services, statement)
    assert entries(services) == [entry]


def test_a_merge_may_re_point_an_entry(services):
    whatsapp_channel(services)
    customer_writes(services, "ciao")
    customer_writes(services, "salve", wa_id="447700900123", name="Marco")
    giulia, marco = contact_of(services), contact_of(services, "447700900123")
    with services.engine.begin() as conn:
        conn.execute(update(timeline_entries).where(t.contact_id == marco).values(contact_id=giulia))
    assert {e["contact_id"] for e in entries(services)} == {giulia}


def _audit_row(services) -> int:
    with services.engine.begin() as conn:
        return int(conn.execute(insert(audit_log).values(
            at=datetime.now(UTC), actor="integration", action="contact.updated", target_type="contact",
            target_id="1", details={"display_name": {"from": "Giulia", "to": "G."}}).returning(audit_log.c.id))
            .scalar_one())


def test_the_audit_log_cannot_be_changed_or_deleted(services):
    audit_id = _audit_row(services)
    a = audit_log.c
    for statement in (update(audit_log).where(a.id == audit_id).values(action="nothing"),
                      update(audit_log).where(a.id == audit_id).values(actor="someone else"),
                      delete(audit_log).where(a.id == audit_id)):
        assert "audit_log is append-only" in refused(services, statement)
    [row] = rows(services, audit_log, a.id == audit_id)
    assert row["action"] == "contact.updated" and row["actor"] == "integration"

"""Retention: policies validated, the dry run counts what is due, each run removes at most one batch per kind
and only what is older than the kind's days; runs are recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, update

from centralino.app.retention import Retention
from centralino.errors import Forbidden, InvalidInput
from centralino.services import Services
from centralino.storage.tables import audit_log, conversations, message_media, messages, webhook_deliveries
from centralino.storage.tables_contacts_admin import retention_runs
from tests.contact_admin_helpers import ADMIN, SUPERVISOR, customer_writes, stored_media
from tests.factories import whatsapp_channel
from tests.helpers import count, rows

OLD = datetime.now(UTC) - timedelta(days=40)


def _retention(services: Services, batch: int = 500) -> Retention:
    return Retention(services.engine, services.bus, services.settings.media_dir, lambda: datetime.now(UTC), batch)


def _age(services: Services, table, where, **values) -> None:  # type: ignore[no-untyped-def]
    with services.engine.begin() as conn:
        conn.execute(update(table).where(where).values(**values))


def test_policies_are_checked_and_admin_only(services: Services) -> None:
    r = _retention(services)
    with pytest.raises(Forbidden):
        r.do_set(SUPERVISOR, {"policies": {"message_text": 30}})
    for bad, field in (({"policies": {"messages": 3}}, "policies.messages"),
                       ({"policies": {"audit_log": 0}}, "policies.audit_log"),
                       ({"policies": {"audit_log": "30"}}, "policies.audit_log"), ({}, "policies")):
        with pytest.raises(InvalidInput) as refused:
            r.do_set(ADMIN, bad)
        assert refused.value.field == field
    listed = {p["kind"]: p["days"] for p in r.do_set(ADMIN, {"policies": {"message_text": 30, "audit_log": 365}})}
    assert listed["message_text"] == 30 and listed["audit_log"] == 365 and listed["media_files"] is None
    listed = {p["kind"]: p["days"] for p in r.do_set(ADMIN, {"policies": {"audit_log": None}})}
    assert listed["audit_log"] is None and listed["message_text"] == 30


def test_runs_remove_only_what_is_due_in_bounded_batches(services: Services) -> None:
    whatsapp_channel(services)
    old = customer_writes(services, "393471111111", "vecchio uno", "vecchio due")
    new = customer_writes(services, "393472222222", "recente")
    _, old_file = stored_media(services, old, b"old file")
    _, new_file = stored_media(services, new, b"new file")
    _age(services, messages, messages.c.contact_id == old, sent_at=OLD, created_at=OLD)
    _age(services, message_media, message_media.c.message_id.in_(
        [m["id"] for m in rows(services, messages, messages.c.contact_id == old)]), fetched_at=OLD)
    _age(services, webhook_deliveries, webhook_deliveries.c.id == rows(services, webhook_deliveries)[0]["id"],
         received_at=OLD)
    with services.engine.begin() as conn:
        for at in (OLD, datetime.now(UTC)):
            conn.execute(insert(audit_log).values(at=at, actor="test", action="x.y", details={} if at > OLD else
                                                  {"from": "Mario"}))
    r = _retention(services, batch=1)
    r.do_set(ADMIN, {"policies": {"message_text": 30, "media_files": 30, "webhook_payloads": 30, "audit_log": 30}})
    preview = {p["kind"]: p["due"] for p in r.preview(ADMIN)}
    assert preview["message_text"] == {"messages": 2}
    assert preview["media_files"] == {"message_media": 1}
    assert preview["webhook_payloads"]["webhook_deliveries"] == 1
    assert preview["audit_log"] == {"audit_log": 1}
    what_if = r.preview(ADMIN, kind="message_text", days=100)
    assert what_if[0]["due"] == {"messages": 0}
    assert rows(services, messages, messages.c.contact_id == old)[0]["text"] == "vecchio uno"  # a dry run

    first = r.run_once()
    assert first >= 4  # one of each kind (batch 1)
    assert sum(1 for m in rows(services, messages) if m["text"] == "[erased]") == 1
    while r.run_once():
        pass
    texts = {m["contact_id"]: m["text"] for m in rows(services, messages)}
    assert texts[old] == "[erased]" and texts[new] == "recente"
    assert count(services, messages) == 3  # rows kept for the statistics
    assert not (services.settings.media_dir / old_file).exists()
    assert (services.settings.media_dir / new_file).exists()
    assert [m["state"] for m in rows(services, message_media, order_by=message_media.c.id)] == ["erased", "stored"]
    assert rows(services, webhook_deliveries)[0]["body"] == b""
    audited = rows(services, audit_log, audit_log.c.action == "x.y")
    assert [a["details"] for a in audited] == [{"expired": True}, {}]  # append-only: kept, details gone
    kinds = [run["kind"] for run in rows(services, retention_runs)]
    assert kinds.count("message_text") == 2 and kinds.count("media_files") == 1
    assert r.preview(ADMIN)[0]["due"] == {"messages": 0}


def test_closed_conversations_lose_their_content_open_ones_keep_it(services: Services) -> None:
    whatsapp_channel(services)
    closed = customer_writes(services, "393471111111", "risolto")
    open_ = customer_writes(services, "393472222222", "ancora aperto")
    _age(services, conversations, conversations.c.contact_id.in_([closed, open_]), last_message_at=OLD)
    _age(services, conversations, conversations.c.contact_id == closed, status="resolved")
    r = _retention(services)
    r.do_set(ADMIN, {"policies": {"closed_conversations": 30}})
    assert r.run_once() == 1
    texts = {m["contact_id"]: m["text"] for m in rows(services, messages)}
    assert texts == {closed: "[erased]", open_: "ancora aperto"}


def test_uploaded_files_never_run_are_emptied(services: Services) -> None:
    from centralino.app.contact_import import ContactImports
    from centralino.storage.tables_contacts_admin import contact_imports

    jobs = ContactImports(services.engine, services.bus, lambda: datetime.now(UTC))
    old = jobs.do_preview(ADMIN, b"phone\n+393471234567\n", "vecchio.csv")["id"]
    new = jobs.do_preview(ADMIN, b"phone\n+393479999999\n", "nuovo.csv")["id"]
    _age(services, contact_imports, contact_imports.c.id == old, created_at=OLD)
    r = _retention(services)
    r.do_set(ADMIN, {"policies": {"import_files": 30}})
    assert r.preview(ADMIN)[0]["due"] == {"contact_imports": 1}
    assert r.run_once() == 1
    content = {j["id"]: j["content"] for j in rows(services, contact_imports)}
    assert content == {old: b"", new: b"phone\n+393479999999\n"}

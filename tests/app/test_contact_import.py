"""Contact import: the preview names each bad row and column and writes nothing else; a file with bad rows
runs only when "import valid rows" is chosen; rows update the contact that already has one of their
identities instead of duplicating it; the same file again changes nothing; an interrupted run resumes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from centralino.app.contact_import import ContactImports, parsed_rows
from centralino.errors import Conflict, Forbidden, InvalidInput
from centralino.services import Services
from centralino.storage.tables import contact_identities, contact_tags, contacts
from centralino.storage.tables_contacts_admin import contact_imports
from tests.contact_admin_helpers import AGENT, SUPERVISOR, customer_writes
from tests.factories import whatsapp_channel
from tests.helpers import count, rows

GOOD = (
    b"display_name;phone;email;language;tags;attr.city\n"
    b"Mario Rossi;+39 347 123 4567;Mario@Example.com;it;vip| clienti;Milano\n"
    b"Anna Bianchi;+44 7700 900123;;en;;London\n"
)
BAD = (
    b"name,phone,email,language,tags,attr.city\n"
    b"Mario Rossi,+39 347 123 4567,,it,,Milano\n"
    b"Nessuno,not-a-phone,,it,,\n"
    b"Luca,+39 348 000 1111,luca-at-example,xx,,\n"
    b"Sara,+39 349 000 2222,,,,\n"
)


def imports(services: Services) -> ContactImports:
    return ContactImports(services.engine, services.bus, lambda: datetime.now(UTC))


def _run(services: Services, data: bytes, valid_rows_only: bool = False) -> dict:  # type: ignore[type-arg]
    job = imports(services).do_preview(SUPERVISOR, data, "contacts.csv")
    imports(services).do_start(SUPERVISOR, job["id"], valid_rows_only)
    imports(services).run(job["id"])
    return imports(services).get(SUPERVISOR, job["id"])


def test_preview_names_rows_and_columns_and_writes_no_contact(services: Services) -> None:
    before = count(services, contacts)
    job = imports(services).do_preview(SUPERVISOR, BAD, "bad.csv")
    assert job["state"] == "previewed" and job["total_rows"] == 4 and job["invalid_rows"] == 2
    assert [(e["row"], e["column"]) for e in job["errors"]] == [(3, "phone"), (4, "email"), (4, "language")]
    assert job["preview"] == {"would_create": 2, "would_update": 0}
    assert count(services, contacts) == before
    with pytest.raises(InvalidInput) as refused:
        imports(services).do_start(SUPERVISOR, job["id"], valid_rows_only=False)
    assert refused.value.field == "valid_rows_only" and refused.value.status == 422
    assert count(services, contacts) == before and imports(services).get(SUPERVISOR, job["id"])["state"] == "previewed"
    with pytest.raises(Forbidden):
        imports(services).do_preview(AGENT, BAD, "bad.csv")
    with pytest.raises(InvalidInput) as unknown:
        imports(services).do_preview(SUPERVISOR, b"phone,shoe_size\n+393471234567,42\n", None)
    assert unknown.value.field == "file" and "shoe_size" in unknown.value.message


def test_valid_rows_only_imports_the_good_rows(services: Services) -> None:
    job = _run(services, BAD, valid_rows_only=True)
    assert job["state"] == "done"
    assert (job["created_count"], job["updated_count"], job["skipped_count"], job["processed_rows"]) == (2, 0, 2, 4)
    names = {r["display_name"] for r in rows(services, contacts)}
    assert names == {"Mario Rossi", "Sara"}


def test_rows_update_existing_contacts_and_a_second_import_changes_nothing(services: Services) -> None:
    whatsapp_channel(services)
    existing = customer_writes(services, "393471234567", "ciao", name="Mario WhatsApp")
    first = _run(services, GOOD)
    assert (first["created_count"], first["updated_count"], first["unchanged_count"]) == (1, 1, 0)
    mario = rows(services, contacts, contacts.c.id == existing)[0]
    assert mario["display_name"] == "Mario Rossi" and mario["attributes"] == {"city": "Milano"}
    assert mario["language"] == "it"
    tags = rows(services, contact_tags, contact_tags.c.contact_id == existing, order_by=contact_tags.c.tag)
    assert [r["tag"] for r in tags] == ["clienti", "vip"]
    assert {(r["kind"], r["value"]) for r in rows(services, contact_identities,
                                                   contact_identities.c.contact_id == existing)} == {
        ("whatsapp", "393471234567"), ("phone", "+393471234567"), ("email", "mario@example.com")}
    assert rows(services, contact_imports, contact_imports.c.id == first["id"])[0]["content"] == b""  # file dropped
    total = count(services, contacts)
    again = _run(services, GOOD)
    assert (again["created_count"], again["updated_count"], again["unchanged_count"]) == (0, 0, 2)
    assert count(services, contacts) == total
    # a finished job run again is answered as it is
    assert imports(services).do_start(SUPERVISOR, again["id"], False)["state"] == "done"


def test_a_row_naming_two_contacts_is_refused_at_the_preview(services: Services) -> None:
    whatsapp_channel(services)
    customer_writes(services, "393471234567", "uno")
    customer_writes(services, "393479999999", "due")
    job = imports(services).do_preview(SUPERVISOR, b"phone\n+393471234567; +393479999999\n", None)
    assert job["invalid_rows"] == 1 and job["errors"][0]["column"] == "phone"
    assert "merge them first" in job["errors"][0]["message"]


def test_an_interrupted_run_resumes_where_it_stopped(services: Services) -> None:
    lines = "phone,display_name\n" + "".join(f"+39347{i:07d},Cliente {i}\n" for i in range(450))
    job = imports(services).do_preview(SUPERVISOR, lines.encode(), None)
    imports(services).do_start(SUPERVISOR, job["id"], False)
    with pytest.raises(Conflict):
        imports(services).do_start(SUPERVISOR, job["id"], False)  # running, and alive
    # as if the process died after the first chunk: counts and resume point say so, and it went quiet
    imports(services)._chunk(job["id"], parsed_rows(lines.encode())[:200])
    with services.engine.begin() as conn:
        conn.execute(update(contact_imports).values(updated_at=datetime.now(UTC) - timedelta(minutes=5)))
    resumed = imports(services).do_start(SUPERVISOR, job["id"], False)
    assert resumed["state"] == "running" and resumed["processed_rows"] == 200
    imports(services).run(job["id"])
    done = imports(services).get(SUPERVISOR, job["id"])
    assert (done["state"], done["processed_rows"], done["created_count"]) == ("done", 450, 450)
    assert count(services, contacts) == 450

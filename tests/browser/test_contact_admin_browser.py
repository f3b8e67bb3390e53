"""Contact administration in Chromium against the demo process: an administrator previews a CSV with a bad
row, imports the valid rows only and watches the job finish; merges a duplicate pair found by email case;
sets a retention period (a bad value is shown at its field) and runs the dry run."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest

from centralino.demo_access import DEMO_USERS
from tests.browser.demo_desk import WAIT_MS, Demo, running_demo, signed_in_pages

ADMIN_USER = next(u for u in DEMO_USERS if u.email.startswith("admin"))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    yield from running_demo(tmp_path_factory, "contact-admin-demo")


@pytest.fixture
def page(browser, demo) -> Iterator[Any]:
    pages = signed_in_pages(browser, demo)
    yield next(pages)(ADMIN_USER)
    next(pages, None)


def test_import_with_a_bad_row_then_the_valid_rows(page, demo):
    page.goto(f"{demo.base}/desk/contacts/import")
    csv = b"name;phone;email\nLuisa Verdi;+39 340 111 2222;luisa@example.com\nNessuno;123;\n"
    page.set_input_files("#cadm-file", files=[{"name": "clienti.csv", "mimeType": "text/csv", "buffer": csv}])
    page.click("#cadm-upload button[type=submit]")
    page.locator("#cadm-preview:not([hidden])").wait_for(timeout=WAIT_MS)
    cells = page.locator("#cadm-errors tbody td").all_text_contents()
    assert cells[:2] == ["3", "phone"]
    assert page.locator("#cadm-run").is_disabled()
    page.click("#cadm-run-valid")
    page.locator("#cadm-progress", has_text="done").wait_for(timeout=WAIT_MS)
    assert "1" in page.locator("#cadm-progress").inner_text()
    exported = demo.api.get("/api/v1/contacts/export.csv", params={"q": "luisa"}).text
    assert "Luisa Verdi" in exported and "+393401112222" in exported


def test_merge_a_duplicate_pair(page, demo):
    with sqlite3.connect(demo.cwd / "var" / "centralino.db") as db:
        for name, email in (("Dup Uno", "Dup@Example.com"), ("Dup Due", "dup@example.com")):
            cursor = db.execute("INSERT INTO contacts (display_name, created_at, updated_at, attributes) "
                                "VALUES (?, '2026-01-01 00:00:00.000000', '2026-01-01 00:00:00.000000', '{}')",
                                (name,))
            db.execute("INSERT INTO contact_identities (contact_id, kind, value, created_at) "
                       "VALUES (?, 'email', ?, '2026-01-01 00:00:00.000000')", (cursor.lastrowid, email))
    page.goto(f"{demo.base}/desk/contacts/duplicates")
    group = page.locator("form[data-group]", has_text="dup@example.com")
    group.wait_for(timeout=WAIT_MS)
    group.locator("button[type=submit]").click()
    page.wait_for_load_state("load")
    page.locator("form[data-group]", has_text="dup@example.com").wait_for(state="detached", timeout=WAIT_MS)
    merged = [g for g in demo.api.get("/api/v1/contacts/duplicates").json()["items"] if g["key"] == "dup@example.com"]
    assert merged == []


def test_retention_days_and_the_dry_run(page, demo):
    page.goto(f"{demo.base}/desk/contacts/retention")
    page.fill("#keep-media_files", "abc")
    page.click("#cadm-policies button[type=submit]")
    error = page.locator('[data-error-for="policies.media_files"]')
    error.wait_for(state="visible", timeout=WAIT_MS)
    page.fill("#keep-media_files", "30")
    page.click("#cadm-policies button[type=submit]")
    page.locator("#cadm-policies [data-status]", has_text="Salvato").wait_for(timeout=WAIT_MS)
    assert {p["kind"]: p["days"] for p in demo.api.get("/api/v1/retention/policies").json()}["media_files"] == 30
    page.click("#cadm-preview-retention")
    page.locator('[data-due-for="media_files"]').filter(has_text=":").wait_for(timeout=WAIT_MS)


def test_erase_a_contact_with_the_typed_confirmation(page, demo):
    made = demo.api.post("/api/v1/contacts/imports", files={"file": ("one.csv", b"name,email\nDa Cancellare,del@example.com\n",
                                                                      "text/csv")}).json()
    demo.api.post(f"/api/v1/contacts/imports/{made['id']}/run", json={})
    contact_id = next(int(line.split(",")[0]) for line in demo.api.get(
        "/api/v1/contacts/export.csv", params={"q": "del@example.com"}).text.splitlines()[1:])
    page.goto(f"{demo.base}/desk/contacts/gdpr")
    page.fill("#gdpr-erase-id", str(contact_id))
    page.fill("#gdpr-erase-confirm", str(contact_id + 1))
    page.fill("#gdpr-erase-reason", "richiesta art. 17 n. 5")
    page.click("#cadm-gdpr-erase button[type=submit]")
    page.locator('#cadm-gdpr-erase [data-error-for="confirm"]').wait_for(state="visible", timeout=WAIT_MS)
    page.fill("#gdpr-erase-confirm", str(contact_id))
    page.click("#cadm-gdpr-erase button[type=submit]")
    page.locator("#cadm-gdpr-requests", has_text="richiesta art. 17 n. 5").wait_for(timeout=WAIT_MS)
    assert "del@example.com" not in demo.api.get("/api/v1/contacts/export.csv").text

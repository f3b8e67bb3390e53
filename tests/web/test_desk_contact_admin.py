"""Contact administration pages: who may open them, what they list, names escaped."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert
from starlette.testclient import TestClient

from centralino.services import Services
from centralino.storage.tables import contact_identities, contacts
from tests.access_helpers import Org, sign_in


def _contact(services: Services, name: str, email: str) -> int:
    now = datetime.now(UTC)
    with services.engine.begin() as conn:
        cid = int(conn.execute(insert(contacts).values(display_name=name, created_at=now, updated_at=now)
                               .returning(contacts.c.id)).scalar_one())
        conn.execute(insert(contact_identities).values(contact_id=cid, kind="email", value=email, created_at=now))
    return cid


def test_pages_by_role_and_escaped(client: TestClient, services: Services, org: Org) -> None:
    a = _contact(services, "<img src=x onerror=alert(1)>", "Dup@Example.com")
    b = _contact(services, "Dup two", "dup@example.com")
    sign_in(client, "admin")
    page = client.get("/desk/contacts/duplicates")
    assert page.status_code == 200
    assert "&lt;img src=x onerror=alert(1)&gt;" in page.text and "<img src=x" not in page.text
    assert f'value="{a},{b}"' in page.text and "dup@example.com" in page.text
    assert 'id="nav-contacts"' in page.text
    assert client.get("/desk/contacts/import").status_code == 200
    retention = client.get("/desk/contacts/retention")
    assert retention.status_code == 200 and 'name="media_files"' in retention.text

    sign_in(client, "supervisor")
    assert client.get("/desk/contacts/import").status_code == 200
    assert client.get("/desk/contacts/retention").status_code == 404
    # a supervisor sees contacts through the conversations they may see: these two have none
    assert "Dup two" not in client.get("/desk/contacts/duplicates").text

    sign_in(client, "agent_care")
    assert client.get("/desk/contacts/duplicates").status_code == 404
    assert client.get("/desk/contacts/import").status_code == 404
    client.cookies.clear()
    assert client.get("/desk/contacts/duplicates", follow_redirects=False).status_code == 303


def test_import_page_lists_jobs_and_italian_words(client: TestClient, services: Services, org: Org) -> None:
    headers = sign_in(client, "admin")
    client.put("/api/v1/auth/language", headers=headers, json={"language": "it"})
    made = client.post("/api/v1/contacts/imports", headers=headers,
                       files={"file": ("clienti.csv", b"phone\n+393471234567\n", "text/csv")})
    assert made.status_code == 201, made.text
    page = client.get("/desk/contacts/import")
    assert "clienti.csv" in page.text and "Importa contatti (CSV)" in page.text


def test_gdpr_page_for_administrators_with_the_requests(client: TestClient, services: Services, org: Org) -> None:
    cid = _contact(services, "Mario <b>Rossi</b>", "mario@example.com")
    headers = sign_in(client, "admin")
    assert client.get(f"/api/v1/contacts/{cid}/export?reason=ticket%2077", headers=headers).status_code == 200
    erased = client.post(f"/api/v1/contacts/{cid}/erase", headers=headers, json={"confirm": cid, "reason": "art. 17"})
    assert erased.status_code == 200, erased.text
    listed = client.get("/api/v1/gdpr/requests", headers=headers).json()
    assert [(r["kind"], r["reason"]) for r in listed] == [("erase", "art. 17"), ("export", "ticket 77")]
    page = client.get("/desk/contacts/gdpr")
    assert page.status_code == 200 and "ticket 77" in page.text and 'id="cadm-gdpr-erase"' in page.text
    sign_in(client, "supervisor")
    assert client.get("/desk/contacts/gdpr").status_code == 404
    assert client.get("/api/v1/gdpr/requests").status_code == 403

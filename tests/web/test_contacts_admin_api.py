"""The contact administration API over HTTP: duplicates across phone formats and email case, merge with its
errors, CSV export and an import job (preview, refusal, run, re-import), GDPR export and erase, retention."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime

from sqlalchemy import insert, select
from starlette.testclient import TestClient

from centralino.services import Services
from centralino.storage.tables import contact_identities, contacts, conversations
from tests.access_helpers import Org, sign_in
from tests.contact_admin_helpers import customer_writes
from tests.factories import whatsapp_channel
from tests.helpers import count

ADMIN = {"Authorization": "Bearer demo-token"}


def _contact(services: Services, name: str, *identities: tuple[str, str]) -> int:
    now = datetime.now(UTC)
    with services.engine.begin() as conn:
        cid = int(conn.execute(insert(contacts).values(display_name=name, created_at=now, updated_at=now)
                               .returning(contacts.c.id)).scalar_one())
        for kind, value in identities:
            conn.execute(insert(contact_identities).values(contact_id=cid, kind=kind, value=value, created_at=now))
    return cid


def test_duplicates_then_merge(client: TestClient, services: Services) -> None:
    whatsapp_channel(services)
    wa = customer_writes(services, "393471234567", "ciao", name="Mario")
    typed = _contact(services, "Mario R.", ("phone", "+39 347 123 4567"))  # as some system wrote it
    mail_a = _contact(services, "Anna", ("email", "Anna@Example.com"))
    mail_b = _contact(services, "Anna B", ("email", "anna@example.com "))
    _contact(services, "Other", ("email", "other@example.com"))
    page = client.get("/api/v1/contacts/duplicates?limit=1", headers=ADMIN)
    assert page.status_code == 200, page.text
    first = page.json()
    assert [(g["reason"], g["key"], [c["id"] for c in g["contacts"]]) for g in first["items"]] == [
        ("phone", "+393471234567", [wa, typed])]
    second = client.get(f"/api/v1/contacts/duplicates?limit=1&cursor={first['next_cursor']}", headers=ADMIN).json()
    assert [(g["reason"], g["key"], [c["id"] for c in g["contacts"]]) for g in second["items"]] == [
        ("email", "anna@example.com", [mail_a, mail_b])]
    assert second["next_cursor"] is None

    merged = client.post(f"/api/v1/contacts/{wa}/merge", headers=ADMIN, json={"other_contact_id": typed})
    assert merged.status_code == 200, merged.text
    assert merged.json()["already"] is False
    again = client.post(f"/api/v1/contacts/{wa}/merge", headers=ADMIN, json={"other_contact_id": typed})
    assert again.json()["already"] is True and again.json()["id"] == merged.json()["id"]
    self_merge = client.post(f"/api/v1/contacts/{wa}/merge", headers=ADMIN, json={"other_contact_id": wa})
    assert self_merge.status_code == 400 and self_merge.json()["error"]["code"] == "contact.merge_self"
    tomb = client.post(f"/api/v1/contacts/{typed}/merge", headers=ADMIN, json={"other_contact_id": mail_a})
    assert tomb.status_code == 409 and tomb.json()["error"]["details"]["merged_into_id"] == wa
    missing = client.post(f"/api/v1/contacts/{wa}/merge", headers=ADMIN, json={"other_contact_id": 9999})
    assert missing.status_code == 404 and missing.json()["error"]["field"] == "other_contact_id"
    assert [g["key"] for g in client.get("/api/v1/contacts/duplicates", headers=ADMIN).json()["items"]] == [
        "anna@example.com"]


def test_agents_may_not_administer_contacts(client: TestClient, services: Services, org: Org) -> None:
    headers = sign_in(client, "agent_care")
    assert client.get("/api/v1/contacts/duplicates", headers=headers).status_code == 403
    assert client.get("/api/v1/contacts/export.csv", headers=headers).status_code == 403
    assert client.post("/api/v1/contacts/1/erase", headers=headers, json={"confirm": 1, "reason": "x"}).status_code == 403
    supervisor = sign_in(client, "supervisor")
    assert client.get("/api/v1/contacts/duplicates", headers=supervisor).status_code == 200
    assert client.get("/api/v1/retention/policies", headers=supervisor).status_code == 403


def test_csv_import_job_and_export_round_trip(client: TestClient, services: Services) -> None:
    bad = b"name,phone,language\nMario,+39 347 123 4567,it\nX,12,it\n"
    preview = client.post("/api/v1/contacts/imports", headers=ADMIN, files={"file": ("c.csv", bad, "text/csv")})
    assert preview.status_code == 201, preview.text
    job = preview.json()
    assert job["errors"] == [{"row": 3, "column": "phone",
                              "message": "'12' is not a phone number in international form (+39 347 123 4567)"}]
    refused = client.post(f"/api/v1/contacts/imports/{job['id']}/run", headers=ADMIN, json={})
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "valid_rows_only"
    assert count(services, contacts) == 0
    ran = client.post(f"/api/v1/contacts/imports/{job['id']}/run", headers=ADMIN, json={"valid_rows_only": True})
    assert ran.status_code == 202
    done = client.get(f"/api/v1/contacts/imports/{job['id']}", headers=ADMIN).json()  # the background task ran
    assert (done["state"], done["created_count"], done["skipped_count"]) == ("done", 1, 1)

    exported = client.get("/api/v1/contacts/export.csv?language=it", headers=ADMIN)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    lines = exported.text.strip().splitlines()
    assert lines[0].startswith("id,display_name,phone,email,language,tags,identities,attributes,consent_marketing")
    assert len(lines) == 2 and ",Mario,+393471234567," in lines[1]
    assert client.get("/api/v1/contacts/export.csv?language=en", headers=ADMIN).text.strip().count("\n") == 0
    back = client.post("/api/v1/contacts/imports", headers=ADMIN,
                       files={"file": ("again.csv", exported.content, "text/csv")}).json()
    assert back["errors"] == [] and back["preview"] == {"would_create": 0, "would_update": 1}
    client.post(f"/api/v1/contacts/imports/{back['id']}/run", headers=ADMIN, json={})
    again = client.get(f"/api/v1/contacts/imports/{back['id']}", headers=ADMIN).json()
    assert (again["created_count"], again["updated_count"], again["unchanged_count"]) == (0, 0, 1)
    assert [j["id"] for j in client.get("/api/v1/contacts/imports", headers=ADMIN).json()] == [back["id"], job["id"]]


def test_gdpr_export_and_erase_over_http(client: TestClient, services: Services) -> None:
    whatsapp_channel(services)
    cid = customer_writes(services, "393471234567", "il mio indirizzo è via Roma 1", name="Mario")
    answer = client.get(f"/api/v1/contacts/{cid}/export", headers=ADMIN)
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(answer.content))
    assert "via Roma 1" in archive.read("data/messages.json").decode()
    unconfirmed = client.post(f"/api/v1/contacts/{cid}/erase", headers=ADMIN, json={"reason": "art. 17"})
    assert unconfirmed.status_code == 400 and unconfirmed.json()["error"]["field"] == "confirm"
    erased = client.post(f"/api/v1/contacts/{cid}/erase", headers=ADMIN, json={"confirm": cid, "reason": "art. 17"})
    assert erased.status_code == 200, erased.text
    again = zipfile.ZipFile(io.BytesIO(client.get(f"/api/v1/contacts/{cid}/export", headers=ADMIN).content))
    assert "via Roma" not in again.read("data/messages.json").decode()
    assert "Mario" not in again.read("data/contacts.json").decode()


def test_retention_policies_and_preview(client: TestClient) -> None:
    bad = client.put("/api/v1/retention/policies", headers=ADMIN, json={"policies": {"media_files": -1}})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "policies.media_files"
    ok = client.put("/api/v1/retention/policies", headers=ADMIN, json={"policies": {"media_files": 90}})
    assert {p["kind"]: p["days"] for p in ok.json()}["media_files"] == 90
    preview = client.get("/api/v1/retention/preview", headers=ADMIN).json()
    assert [(p["kind"], p["days"], p["due"]) for p in preview] == [("media_files", 90, {"message_media": 0})]
    assert client.get("/api/v1/retention/runs", headers=ADMIN).json() == []


def test_a_supervisor_merges_what_they_see_and_may_repeat_it(client: TestClient, services: Services, org: Org) -> None:
    headers = sign_in(client, "supervisor")
    with services.engine.connect() as conn:
        care_contact, sales_contact = (int(conn.execute(select(conversations.c.contact_id).where(
            conversations.c.id == c)).scalar_one()) for c in (org.care_conversation, org.sales_conversation))
    other = customer_writes(services, "393470000009", "sono sempre io")  # on the care channel
    first = client.post(f"/api/v1/contacts/{care_contact}/merge", headers=headers, json={"other_contact_id": other})
    assert first.status_code == 200, first.text
    again = client.post(f"/api/v1/contacts/{care_contact}/merge", headers=headers, json={"other_contact_id": other})
    assert again.status_code == 200 and again.json()["already"] is True
    hidden = client.post(f"/api/v1/contacts/{care_contact}/merge", headers=headers,
                         json={"other_contact_id": sales_contact})
    assert hidden.status_code == 404 and hidden.json()["error"]["field"] == "other_contact_id"


def test_a_merged_contact_still_answers_naming_its_survivor(client: TestClient, services: Services, org: Org) -> None:
    kept = customer_writes(services, "393470000011", "uno")
    gone = customer_writes(services, "393470000012", "due")
    assert client.post(f"/api/v1/contacts/{kept}/merge", headers=ADMIN, json={"other_contact_id": gone}).status_code == 200
    old_link = client.get(f"/api/v1/contacts/{gone}", headers=ADMIN)
    assert old_link.status_code == 200 and old_link.json()["merged_into_id"] == kept
    agent = sign_in(client, "agent_care")  # sees the survivor's conversation on the care channel: also the tombstone
    assert client.get(f"/api/v1/contacts/{gone}", headers=agent).json()["merged_into_id"] == kept
    refused = client.patch(f"/api/v1/contacts/{gone}", headers=agent, json={"language": "it"})
    assert refused.status_code == 409 and refused.json()["error"]["details"]["merged_into_id"] == kept
    sales = sign_in(client, "agent_sales")  # may not see the survivor: nor its tombstone
    assert client.get(f"/api/v1/contacts/{gone}", headers=sales).status_code == 404

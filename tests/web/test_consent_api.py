"""The consent API over HTTP: state and history, recording, the CSV import report, the GDPR export, and who
may do what (the conversations' visibility; imports for supervisors and administrators)."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from centralino.storage.tables import contact_identities, contacts, conversations
from centralino.storage.tables_consent import consent_records
from tests.access_helpers import cheap_hashing, sign_in
from tests.helpers import count, rows

INTEGRATION = {"Authorization": "Bearer demo-token"}


@pytest.fixture
def settings(settings):
    return cheap_hashing(settings)


def contact_of(services, conversation_id: int) -> int:
    with services.engine.connect() as conn:
        return int(conn.execute(select(conversations.c.contact_id).where(conversations.c.id == conversation_id))
                   .scalar_one())


def test_record_then_read_state_and_history(client, org, services):
    contact_id = contact_of(services, org.care_conversation)
    url = f"/api/v1/contacts/{contact_id}/consents"
    body = {"purpose": "marketing", "action": "opt_in", "source": "web_form", "occurred_at": "2026-11-01T09:30:00Z",
            "evidence": {"form": "https://shop.example/newsletter", "wording": "Voglio ricevere le offerte"}}
    created = client.post(url, json=body, headers={**INTEGRATION, "Idempotency-Key": "form-77"})
    assert created.status_code == 201 and created.json()["created"] is True
    again = client.post(url, json=body, headers={**INTEGRATION, "Idempotency-Key": "form-77"})
    assert again.status_code == 201 and again.json()["created"] is False
    out = client.post(url, json={"purpose": "marketing", "action": "opt_out"}, headers=INTEGRATION)
    assert out.status_code == 201
    answer = client.get(url, headers=INTEGRATION).json()
    marketing = answer["state"]["marketing"]
    assert (marketing["allowed"], marketing["action"], marketing["source"]) == (False, "opt_out", "api")
    assert answer["state"]["utility"]["allowed"] is True and answer["state"]["utility"]["action"] is None
    assert [(h["action"], h["source"]) for h in answer["history"]] == [("opt_in", "web_form"), ("opt_out", "api")]
    assert answer["history"][0]["evidence"]["wording"] == "Voglio ricevere le offerte"
    assert "dedupe_key" not in answer["history"][0]


def test_bad_input_changes_nothing(client, org, services):
    contact_id = contact_of(services, org.care_conversation)
    url = f"/api/v1/contacts/{contact_id}/consents"
    for body, field in (({"purpose": "spam", "action": "opt_in"}, None),
                        ({"purpose": "marketing", "action": "opt_in", "source": "keyword"}, "source"),
                        ({"purpose": "marketing", "action": "opt_in", "occurred_at": "2099-01-01T00:00:00Z"},
                         "occurred_at"),
                        ({"purpose": "marketing", "action": "opt_in", "channel_id": 999}, "channel_id")):
        answer = client.post(url, json=body, headers=INTEGRATION)
        assert answer.status_code in (400, 422), answer.text
        if field:
            assert answer.json()["error"]["field"] == field
    assert client.post("/api/v1/contacts/99999/consents", json={"purpose": "marketing", "action": "opt_in"},
                       headers=INTEGRATION).status_code == 404
    assert count(services, consent_records) == 0


def test_agents_see_and_record_only_the_contacts_of_conversations_they_see(client, org, services):
    care_contact = contact_of(services, org.care_conversation)
    sales_contact = contact_of(services, org.sales_conversation)
    csrf = sign_in(client, "agent_care")
    assert client.get(f"/api/v1/contacts/{care_contact}/consents").status_code == 200
    assert client.get(f"/api/v1/contacts/{sales_contact}/consents").status_code == 404
    assert client.get(f"/api/v1/contacts/{sales_contact}/consents/export").status_code == 404
    hidden = client.post(f"/api/v1/contacts/{sales_contact}/consents",
                         json={"purpose": "marketing", "action": "opt_out", "note": "asked on the phone"}, headers=csrf)
    assert hidden.status_code == 404
    no_note = client.post(f"/api/v1/contacts/{care_contact}/consents",
                          json={"purpose": "marketing", "action": "opt_out"}, headers=csrf)
    assert no_note.status_code == 422 and no_note.json()["error"]["code"] == "consent.note_required"
    ok = client.post(f"/api/v1/contacts/{care_contact}/consents",
                     json={"purpose": "marketing", "action": "opt_out", "note": "asked on the phone"}, headers=csrf)
    assert ok.status_code == 201
    [record] = rows(services, consent_records)
    assert (record["source"], record["actor"], record["note"]) == ("agent", f"user:{org.agent_care}",
                                                                   "asked on the phone")
    upload = client.post("/api/v1/consents/import", files={"file": ("c.csv", b"phone,purpose,action,timestamp\n")},
                         headers=csrf)
    assert upload.status_code == 403


def test_a_read_only_token_reads_but_does_not_record_and_an_agents_token_sees_as_the_agent(client, org, services):
    token = client.post("/api/v1/api-tokens", headers=INTEGRATION, json={
        "name": "CRM", "scopes": ["read"], "owner_user_id": org.agent_sales}).json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    sales_contact = contact_of(services, org.sales_conversation)
    care_contact = contact_of(services, org.care_conversation)
    assert client.get(f"/api/v1/contacts/{sales_contact}/consents", headers=bearer).status_code == 200
    assert client.get(f"/api/v1/contacts/{care_contact}/consents", headers=bearer).status_code == 404
    refused = client.post(f"/api/v1/contacts/{sales_contact}/consents", headers=bearer,
                          json={"purpose": "marketing", "action": "opt_in"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "auth.scope"
    assert client.post("/api/v1/consents/import", headers=bearer,
                       files={"file": ("c.csv", b"contact_id,purpose,action,timestamp\n")}).status_code == 403
    assert count(services, consent_records) == 0


def test_nothing_without_credentials(client, org, services):
    contact_id = contact_of(services, org.care_conversation)
    assert client.post(f"/api/v1/contacts/{contact_id}/consents", json={"purpose": "marketing", "action": "opt_in"}
                       ).status_code == 401
    assert client.get(f"/api/v1/contacts/{contact_id}/consents").status_code == 401
    assert count(services, consent_records) == 0


CSV_FILE = """phone,contact_id,purpose,action,source,evidence,timestamp
+39 347 123 4567,,marketing,opt_in,web_form,"{""form"": ""newsletter"", ""ip"": ""203.0.113.7""}",2026-10-01T10:00:00+02:00
,{care},marketing,opt_in,import,signed paper form,2026-10-02T10:00:00Z
+393470000001,,utility,opt_out,,,2026-10-03T10:00:00Z
not-a-phone,,marketing,opt_in,import,,2026-10-01T10:00:00Z
+393471111111,,spam,opt_in,import,,2026-10-01T10:00:00Z
+393471111112,,marketing,maybe,import,,2026-10-01T10:00:00Z
+393471111113,,marketing,opt_in,keyword,,2026-10-01T10:00:00Z
+393471111114,,marketing,opt_in,import,,yesterday
+393471111115,,marketing,opt_in,import,,2026-10-01T10:00:00
+393471111116,,marketing,opt_in,import,,2099-10-01T10:00:00Z
,99999,marketing,opt_in,import,,2026-10-01T10:00:00Z
,,marketing,opt_in,import,,2026-10-01T10:00:00Z
+393471111117,,marketing,opt_in,import,{broken,2026-10-01T10:00:00Z
"""


def test_import_reports_refused_rows_and_imports_the_rest_once(client, org, services):
    care_contact = contact_of(services, org.care_conversation)
    data = CSV_FILE.replace("{care}", str(care_contact)).encode()
    contacts_before = count(services, contacts)
    csrf = sign_in(client, "supervisor")
    answer = client.post("/api/v1/consents/import", files={"file": ("consents.csv", data, "text/csv")}, headers=csrf)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert (report["rows"], report["imported"], report["repeated"], report["contacts_created"]) == (13, 3, 0, 1)
    assert [(r["row"], r["field"]) for r in report["rejected"]] == [
        (5, "phone"), (6, "purpose"), (7, "action"), (8, "source"), (9, "timestamp"), (10, "timestamp"),
        (11, "timestamp"), (12, "contact_id"), (13, "phone"), (14, "evidence")]
    assert "not a phone number" in report["rejected"][0]["reason"]
    assert count(services, contacts) == contacts_before + 1  # the refused rows created no contact
    with services.engine.connect() as conn:
        new_contact = conn.execute(select(contact_identities.c.contact_id).where(
            contact_identities.c.kind == "phone", contact_identities.c.value == "+393471234567")).scalar_one()
        whatsapp = conn.execute(select(contact_identities.c.value).where(
            contact_identities.c.contact_id == new_contact, contact_identities.c.kind == "whatsapp")).scalar_one()
    assert whatsapp == "393471234567"
    records = rows(services, consent_records, order_by=consent_records.c.id)
    assert [(r["contact_id"], r["purpose"], r["action"], r["source"]) for r in records] == [
        (new_contact, "marketing", "opt_in", "web_form"), (care_contact, "marketing", "opt_in", "import"),
        (care_contact, "utility", "opt_out", "import")]
    assert records[0]["evidence"] == {"form": "newsletter", "ip": "203.0.113.7"}
    assert records[1]["evidence"] == {"text": "signed paper form"}
    assert records[0]["actor"] == f"import:user:{org.supervisor}"
    again = client.post("/api/v1/consents/import", files={"file": ("consents.csv", data, "text/csv")},
                        headers=csrf).json()
    assert (again["imported"], again["repeated"], again["contacts_created"]) == (0, 3, 0)
    assert count(services, consent_records) == 3


def test_import_refuses_a_file_it_cannot_read(client, org):
    for data in (b"name,purpose\nx,marketing\n", b"", b"\xff\xfe\x00"):
        answer = client.post("/api/v1/consents/import", files={"file": ("c.csv", data)}, headers=INTEGRATION)
        assert answer.status_code == 422, answer.text
    semicolons = b"contact_id;purpose;action;timestamp\n1;marketing;opt_in;2026-10-01T10:00:00Z\n"
    assert client.post("/api/v1/consents/import", files={"file": ("c.csv", semicolons)},
                       headers=INTEGRATION).json()["rows"] == 1


def test_gdpr_export_as_json_and_csv(client, org, services):
    contact_id = contact_of(services, org.care_conversation)
    url = f"/api/v1/contacts/{contact_id}/consents"
    client.post(url, json={"purpose": "marketing", "action": "opt_in", "evidence": {"form": "=HYPERLINK(1)"}},
                headers=INTEGRATION)
    client.post(url, json={"purpose": "all", "action": "opt_out", "note": "-erase me"}, headers=INTEGRATION)
    as_json = client.get(f"{url}/export?format=json", headers=INTEGRATION)
    assert as_json.status_code == 200 and "attachment" in as_json.headers["content-disposition"]
    exported = as_json.json()
    assert exported["contact_id"] == contact_id and len(exported["records"]) == 2
    assert exported["state"]["marketing"]["allowed"] is False
    assert "all messages" in exported["state"]["utility"]["reason"]
    as_csv = client.get(f"{url}/export?format=csv", headers=INTEGRATION)
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [(r["purpose"], r["action"]) for r in table] == [("marketing", "opt_in"), ("all", "opt_out")]
    assert table[1]["note"] == "'-erase me"  # never a formula in a spreadsheet
    assert table[0]["evidence"] == '{"form":"=HYPERLINK(1)"}'
    assert client.get(f"{url}/export?format=xml", headers=INTEGRATION).status_code == 422

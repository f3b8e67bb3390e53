"""GDPR: the export holds everything the foreign-key walk reaches plus the media files; the erasure leaves no
personal data in any row of any table (grepped) while every count statistics read stays the same."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime

import orjson
import pytest
from sqlalchemy import select

from centralino.app.gdpr_erase import GdprErase
from centralino.app.gdpr_export import GdprExport
from centralino.domain.outbound import Text
from centralino.errors import Forbidden, InvalidInput
from centralino.events.bus import Recorder
from centralino.services import Services
from centralino.storage.tables import contact_identities, contacts, messages, outbox
from centralino.storage.tables_campaigns import campaign_recipients
from centralino.storage.tables_consent import consent_records
from centralino.storage.tables_contacts_admin import gdpr_requests
from tests.campaign_helpers import approved_template
from tests.contact_admin_helpers import (
    ADMIN,
    SUPERVISOR,
    all_text,
    consented,
    conversation_of,
    customer_writes,
    notification_for,
    profile,
    stored_media,
    table_counts,
)
from tests.factories import PNID_2, WABA_2, both_channels
from tests.helpers import rows

A, B = "393471111111", "393472222222"
PERSONAL = ["393472222222", "Bruno", "sono Bruno", "ricevuta-mario", "Cagliari", "platino"]


def _world(services: Services) -> tuple[int, int, str]:
    care, _ = both_channels(services)
    a = customer_writes(services, A, "ciao sono Anna", name="Anna")
    b = customer_writes(services, B, "sono Bruno", "ancora qui", name="Bruno Bianchi")
    customer_writes(services, B, "scrivo anche a sales", name="Bruno Bianchi", pnid=PNID_2, waba=WABA_2)
    profile(services, a, tags=("vip",), attributes={"city": "Roma"})
    profile(services, b, tags=("vip",), attributes={"city": "Cagliari", "tier": "platino"}, language="it")
    consented(services, b)
    services.outbound.do_send(conversation_of(services, b, care), Text("Ciao Bruno, ecco il tuo ordine"))
    _, path = stored_media(services, b)
    notification_for(services, b)
    assert services.campaigns is not None
    campaign = services.campaigns.do_create(SUPERVISOR, {
        "name": "Primavera", "channel_id": care, "template_id": approved_template(services),
        "audience": {"tags": ["vip"]}, "rate_per_s": 50, "daily_tier": "unlimited",
        "parameters": {"1": {"field": "display_name"}, "2": {"attribute": "city"}, "3": {"text": "X"}}})
    services.campaigns.do_plan(SUPERVISOR, int(campaign["id"]))
    assert services.cases is not None  # another area's tables, reached by the same foreign-key walk
    case = services.cases.cases.do_create_case(
        ADMIN, case_type="complaint", title="Reclamo di Bruno Bianchi", contact_id=b,
        fields={"description": "Bruno dice che il pacco per via Cagliari non è arrivato"}, tags=["spedizione"])
    services.cases.tasks.do_add_task(ADMIN, int(case["id"]), title="Richiamare Bruno", assignee_user_id=None,
                                     department_id=_department(services), checklist=["telefonare a Bruno"])
    return a, b, path


def _department(services: Services) -> int:
    from centralino.demo_access import SETUP
    return int(services.admin.do_create_department(SETUP, "Back office", channel_ids=[])["id"])


def _now() -> datetime:
    return datetime.now(UTC)


def test_export_holds_every_table_about_the_contact_and_its_media(services: Services) -> None:
    _, b, _ = _world(services)
    exporter = GdprExport(services.engine, services.bus, services.settings.media_dir, _now)
    with pytest.raises(Forbidden):
        exporter.do_export(SUPERVISOR, b)
    with exporter.do_export(ADMIN, b, reason="request 7") as out:
        archive = zipfile.ZipFile(io.BytesIO(out.read()))
    names = set(archive.namelist())
    manifest = orjson.loads(archive.read("manifest.json"))
    assert manifest["contact_id"] == b
    for table in ("contacts", "contact_identities", "contact_tags", "conversations", "messages", "message_media",
                  "consent_records", "notifications", "campaign_recipients", "service_episodes", "cases", "tasks"):
        assert f"data/{table}.json" in names, table
    data = {t: orjson.loads(archive.read(f"data/{t}.json")) for t in ("messages", "contacts", "consent_records")}
    assert sorted(m["text"] for m in data["messages"]) == ["Ciao Bruno, ecco il tuo ordine", "ancora qui",
                                                           "scrivo anche a sales", "sono Bruno"]
    assert data["contacts"][0]["attributes"] == {"city": "Cagliari", "tier": "platino"}
    assert manifest["tables"]["messages"] == 4 and manifest["tables"]["outbox"] == 1 and manifest["tables"]["consent_records"] == 1
    media = [n for n in names if n.startswith("media/")]
    assert len(media) == 1 and media[0].endswith("ricevuta-mario.png")
    assert archive.read(media[0]) == b"\x89PNG fake image"
    assert "Anna" not in str(archive.read("data/messages.json"))
    assert rows(services, gdpr_requests)[0]["kind"] == "export"


def test_erase_leaves_no_personal_data_and_every_count(services: Services, recorder: Recorder) -> None:
    a, b, path = _world(services)
    assert all(p in all_text(services) for p in PERSONAL)  # the grep below can fail
    before = table_counts(services)
    statuses = [(r["status"], r["direction"], r["type"]) for r in rows(services, messages)]
    statuses = [("failed" if s == ("queued", "out", "text") else s[0], *s[1:]) for s in statuses]  # never sent
    eraser = GdprErase(services.engine, services.bus, services.settings.media_dir, _now)
    with pytest.raises(InvalidInput) as unconfirmed:
        eraser.do_erase(ADMIN, b, {"confirm": a, "reason": "art. 17 request"})
    assert unconfirmed.value.field == "confirm"
    with pytest.raises(InvalidInput) as no_reason:
        eraser.do_erase(ADMIN, b, {"confirm": b})
    assert no_reason.value.field == "reason"
    with pytest.raises(Forbidden):
        eraser.do_erase(SUPERVISOR, b, {"confirm": b, "reason": "x"})
    assert table_counts(services) == before

    done = eraser.do_erase(ADMIN, b, {"confirm": b, "reason": "art. 17 request #88"})

    text = all_text(services)
    for personal in PERSONAL:
        assert personal not in text, personal
    assert "Anna" in text and "ciao sono Anna" in text and "Roma" in text  # the other customer untouched
    after = table_counts(services)
    assert {k: v for k, v in after.items() if v != before[k]} == {
        "contact_tags": before["contact_tags"] - 1, "gdpr_requests": 1, "audit_log": before["audit_log"] + 1,
        "events": before["events"] + 1}  # contact.erased
    assert [(r["status"], r["direction"], r["type"]) for r in rows(services, messages)] == statuses
    consent = rows(services, consent_records, consent_records.c.contact_id == b)[0]
    assert (consent["purpose"], consent["action"], consent["source"]) == ("marketing", "opt_in", "web_form")
    # nothing more goes to the erased address: its planned campaign send is cancelled, the other's stays
    assert {r["contact_id"]: r["state"] for r in rows(services, campaign_recipients)} == {a: "planned", b: "cancelled"}
    assert [(o["state"], o["last_error"]) for o in rows(services, outbox)] == [("failed", "contact erased")]
    with services.engine.connect() as conn:
        assert conn.execute(select(contacts.c.display_name).where(contacts.c.id == b)).scalar_one() == "[erased]"
        values = conn.execute(select(contact_identities.c.value).where(contact_identities.c.contact_id == b)).scalars()
        assert all(v.startswith("erased:") for v in values)
    assert not (services.settings.media_dir / path).exists()
    assert done["details"]["files_deleted"] == 1
    request = rows(services, gdpr_requests)[0]
    assert (request["kind"], request["reason"], request["actor"]) == ("erase", "art. 17 request #88", "integration")
    assert [e.payload for e in recorder.events if e.type == "contact.erased"] == [
        {"contact_id": b, "request_id": request["id"], "actor": "integration"}]
    # the customer writing again is a new contact: nothing links back
    assert customer_writes(services, B, "di nuovo") != b

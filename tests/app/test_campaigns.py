"""Campaigns: planning from a segment and from a CSV, feeding, consent skips, the daily tier, pause/resume/
cancel, statuses and replies to the funnel, retry-failed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from centralino.domain.campaigns import TIERS
from centralino.domain.outbound import TemplateMessage
from centralino.errors import Conflict, Forbidden, InvalidInput
from centralino.events.bus import Recorder
from centralino.services import Services
from centralino.storage import outbound_media as outbound_media_repo
from centralino.storage import templates as template_repo
from centralino.storage.tables import contacts, messages, outbox
from centralino.storage.tables_campaigns import campaigns
from tests.campaign_helpers import (
    AGENT,
    BODY,
    SUPERVISOR,
    approved_template,
    contacts_with,
    opt_in,
    opt_out,
    recipients,
    states,
)
from tests.factories import WABA, whatsapp_channel
from tests.helpers import count, store
from tests.meta_simulator import MetaSide
from tests.outbound_helpers import customer_wrote, status_delivery

PARAMS = {"1": {"field": "display_name"}, "2": {"attribute": "city"}, "3": {"text": "PRIMAVERA"}}


def _now() -> datetime:
    return datetime.now(UTC)


def _campaign(services: Services, channel_id: int, template_id: int, **extra: object) -> int:
    assert services.campaigns is not None
    body = {"name": "Primavera", "channel_id": channel_id, "template_id": template_id,
            "audience": {"tags": ["vip"]}, "parameters": PARAMS, "rate_per_s": 50, "daily_tier": "unlimited",
            **extra}
    return int(services.campaigns.do_create(SUPERVISOR, body)["id"])


def _body(row: dict[str, Any]) -> list[str]:
    """The body values of a recipient's frozen message."""
    body = next(c for c in row["params"]["template"]["components"] if c["type"] == "body")
    return [p["text"] for p in body["parameters"]]


def _feed_all(services: Services, campaign_id: int) -> None:
    assert services.campaigns is not None
    for _ in range(20):
        result = services.campaigns.feeder.do_feed(campaign_id, 1000, _now(), 50, _now())
        if result.finished or not (result.queued or result.skipped):
            return


def test_segment_plan_freezes_each_recipients_values(services: Services, recorder: Recorder) -> None:
    channel_id = whatsapp_channel(services)
    template_id = approved_template(services)
    vip = contacts_with(services, 4, tags=("vip",), attributes={"city": "Milano"})
    contacts_with(services, 2, start=10, tags=("other",), attributes={"city": "Milano"})
    no_city = contacts_with(services, 1, start=20, tags=("vip",))
    campaign_id = _campaign(services, channel_id, template_id)
    assert services.campaigns is not None
    planned = services.campaigns.do_plan(SUPERVISOR, campaign_id)
    assert planned["recipients_total"] == 4 and planned["rejected_total"] == 1
    assert planned["plan_report"]["rejected_rows"][0]["contact_id"] == no_city[0]
    rows = recipients(services, campaign_id)
    assert [r["contact_id"] for r in rows] == vip
    assert _body(rows[0]) == ["Cliente 0", "Milano", "PRIMAVERA"]
    assert rows[0]["params"]["template"]["language"] == "it"
    assert {r["state"] for r in rows} == {"planned"} and rows[0]["recipient"] == "393000000000"
    # the values are frozen: a later change of the contact does not change what was planned
    with services.engine.begin() as conn:
        conn.execute(update(contacts).where(contacts.c.id == vip[0]).values(display_name="Renamed"))
    services.campaigns.do_start(SUPERVISOR, campaign_id)
    _feed_all(services, campaign_id)
    with services.engine.connect() as conn:
        first = conn.execute(select(messages).where(messages.c.id == recipients(services, campaign_id)[0]["message_id"])
                             ).mappings().one()
    assert first["origin"] == f"campaign:{campaign_id}" and first["type"] == "template"
    assert first["text"].startswith("Ciao Cliente 0, da Milano ti aspetta lo sconto PRIMAVERA.")
    assert first["content"]["template"]["components"] == [{"type": "body", "parameters": [
        {"type": "text", "text": "Cliente 0"}, {"type": "text", "text": "Milano"}, {"type": "text", "text": "PRIMAVERA"}]}]
    assert count(services, outbox, outbox.c.message_id == first["id"]) == 1
    assert states(services, campaign_id) == {"queued": 4}
    batches = [e for e in recorder.events if e.type == "campaign.batch_queued"]
    assert [e.payload["count"] for e in batches] == [4]
    assert batches[0].payload["origin"] == f"campaign:{campaign_id}"
    assert services.campaigns.get(campaign_id)["status"] == "completed"


def test_plan_refuses_a_variable_without_a_source_and_agents(services: Services) -> None:
    channel_id = whatsapp_channel(services)
    template_id = approved_template(services)
    assert services.campaigns is not None
    with pytest.raises(Forbidden):
        services.campaigns.do_create(AGENT, {"name": "x", "channel_id": channel_id, "template_id": template_id})
    with pytest.raises(InvalidInput) as err:  # refused when created: nothing to plan
        _campaign(services, channel_id, template_id, parameters={"1": {"field": "display_name"}})
    assert err.value.code == "campaign.parameters_missing" and err.value.field == "parameters"
    with pytest.raises(InvalidInput):
        _campaign(services, channel_id, template_id, rate_per_s=500)  # above the number's 80/s


def test_csv_creates_contacts_and_reports_rejected_rows(services: Services) -> None:
    channel_id = whatsapp_channel(services)
    template_id = approved_template(services)
    known = contacts_with(services, 1, start=5)[0]  # 393000000005
    data = (b"phone,1,2,3\n"
            b"+39 300 000 0005,Anna,Roma,A1\n"
            b"393471112233,Bruno,Torino,B2\n"
            b"not-a-number,Carla,Bari,C3\n"
            b"393471112233,Bruno again,Torino,B2\n"
            b"393471112244,Dario,,D4\n")
    assert services.campaigns is not None
    made = services.campaigns.do_create_from_csv(SUPERVISOR, {"name": "CSV", "channel_id": channel_id,
                                                             "template_id": template_id, "rate_per_s": 10}, data,
                                                 "list.csv")
    report = made["plan_report"]
    assert made["recipients_total"] == 2 and report["rejected"] == 3
    assert [(r["row"], r["reason"][:12]) for r in report["rejected_rows"]] == [
        (4, "not a valid "), (5, "the same pho"), (6, "no value for")]
    rows = recipients(services, int(made["id"]))
    assert rows[0]["contact_id"] == known and _body(rows[0]) == ["Anna", "Roma", "A1"]
    assert rows[1]["recipient"] == "393471112233" and rows[1]["contact_id"] != known


def test_consent_refusals_are_skipped_with_the_reason(services: Services) -> None:
    channel_id = whatsapp_channel(services)
    template_id = approved_template(services, category="marketing")
    ids = contacts_with(services, 3, tags=("vip",), attributes={"city": "Milano"})
    opt_in(services, ids[0])
    opt_in(services, ids[1])
    opt_out(services, ids[1])  # changed their mind
    campaign_id = _campaign(services, channel_id, template_id)
    assert services.campaigns is not None
    services.campaigns.do_plan(SUPERVISOR, campaign_id)
    services.campaigns.do_start(SUPERVISOR, campaign_id)
    _feed_all(services, campaign_id)
    by_contact = {r["contact_id"]: r for r in recipients(services, campaign_id)}
    assert by_contact[ids[0]]["state"] == "queued"
    assert by_contact[ids[1]]["state"] == "skipped_consent" and "opted out" in by_contact[ids[1]]["error"]
    assert by_contact[ids[2]]["state"] == "skipped_consent" and "opt-in" in by_contact[ids[2]]["error"]
    assert count(services, messages, messages.c.contact_id.in_(ids[1:])) == 0


def test_segment_consent_filter_plans_only_opted_in(services: Services) -> None:
    channel_id = whatsapp_channel(services)
    template_id = approved_template(services, category="marketing")
    ids = contacts_with(services, 2, tags=("vip",), attributes={"city": "Milano"})
    opt_in(services, ids[1])
    campaign_id = _campaign(services, channel_id, template_id, audience={"tags": ["vip"], "consent": "opted_in"})
    assert services.campaigns is not None
    planned = services.campaigns.do_plan(SUPERVISOR, campaign_id)
    assert [r["contact_id"] for r in recipients(services, campaign_id)] == [ids[1]]
    assert planned["rejected_total"] == 1


@pytest.mark.parametrize("on_limit", ["wait", "skip"])
def test_daily_tier_waits_or_skips(services: Services, monkeypatch: pytest.MonkeyPatch, on_limit: str) -> None:
    monkeypatch.setitem(TIERS, "250", 3)  # a tier of 3 per 24 h, to keep the test small
    channel_id = whatsapp_channel(services)
    template_id = approved_template(services)
    contacts_with(services, 5, tags=("vip",), attributes={"city": "Milano"})
    campaign_id = _campaign(services, channel_id, template_id, daily_tier="250", on_tier_limit=on_limit)
    assert services.campaigns is not None
    services.campaigns.do_plan(SUPERVISOR, campaign_id)
    services.campaigns.do_start(SUPERVISOR, campaign_id)
    _feed_all(services, campaign_id)
    if on_limit == "wait":
        assert states(services, campaign_id) == {"queued": 3, "planned": 2}
        progress = services.campaigns.progress(campaign_id)
        assert progress["status"] == "running" and "tier" in progress["waiting_reason"]
    else:
        assert states(services, campaign_id) == {"queued": 3, "skipped_tier": 2}
        assert services.campaigns.get(campaign_id)["status"] == "completed"


def test_pause_resume_cancel(services: Services) -> None:
    channel_id = whatsapp_channel(services)
    template_id = approved_template(services)
    contacts_with(services, 4, tags=("vip",), attributes={"city": "Milano"})
    campaign_id = _campaign(services, channel_id, template_id)
    campaigns = services.campaigns
    assert campaigns is not None
    with pytest.raises(Conflict):
        campaigns.do_start(SUPERVISOR, campaign_id)  # not planned yet
    campaigns.do_plan(SUPERVISOR, campaign_id)
    campaigns.do_start(SUPERVISOR, campaign_id)
    assert campaigns.feeder.do_feed(campaign_id, 1, _now(), 50, _now()).queued == 1
    campaigns.do_pause(SUPERVISOR, campaign_id)
    assert campaigns.feeder.do_feed(campaign_id, 10, _now(), 50, _now()).queued == 0
    assert states(services, campaign_id) == {"queued": 1, "planned": 3}
    campaigns.do_resume(SUPERVISOR, campaign_id)
    assert campaigns.feeder.do_feed(campaign_id, 1, _now(), 50, _now()).queued == 1
    campaigns.do_cancel(SUPERVISOR, campaign_id)
    assert campaigns.feeder.do_feed(campaign_id, 10, _now(), 50, _now()).queued == 0
    assert states(services, campaign_id) == {"queued": 2, "cancelled": 2}
    with pytest.raises(Conflict):
        campaigns.do_resume(SUPERVISOR, campaign_id)


def test_scheduled_campaign_starts_when_due(services: Services) -> None:
    channel_id = whatsapp_channel(services)
    template_id = approved_template(services)
    contacts_with(services, 1, tags=("vip",), attributes={"city": "Milano"})
    campaigns = services.campaigns
    assert campaigns is not None
    campaign_id = _campaign(services, channel_id, template_id)
    campaigns.do_plan(SUPERVISOR, campaign_id)
    later = _now() + timedelta(hours=1)
    assert campaigns.do_start(SUPERVISOR, campaign_id, later.isoformat())["status"] == "scheduled"
    assert campaigns.start_due() == []
    campaigns.clock = lambda: later + timedelta(seconds=1)
    assert campaigns.start_due() == [campaign_id]
    assert campaigns.get(campaign_id)["status"] == "running"


def test_statuses_and_replies_reach_the_funnel_and_retry_sends_failed_again(services: Services) -> None:
    channel_id = whatsapp_channel(services)
    template_id = approved_template(services)
    contacts_with(services, 3, tags=("vip",), attributes={"city": "Milano"})
    campaigns = services.campaigns
    assert campaigns is not None
    campaign_id = _campaign(services, channel_id, template_id)
    campaigns.do_plan(SUPERVISOR, campaign_id)
    campaigns.do_start(SUPERVISOR, campaign_id)
    _feed_all(services, campaign_id)
    rows = recipients(services, campaign_id)
    with services.engine.begin() as conn:  # the provider accepted all three (as the sender records it)
        for i, row in enumerate(rows):
            conn.execute(update(messages).where(messages.c.id == row["message_id"]).values(external_id=f"wamid.C{i}"))
    wa = [row["recipient"] for row in rows]
    store(services, status_delivery("wamid.C0", "sent", recipient=wa[0]),
          status_delivery("wamid.C0", "delivered", recipient=wa[0]),
          status_delivery("wamid.C1", "delivered", recipient=wa[1]),
          status_delivery("wamid.C1", "read", recipient=wa[1]),
          status_delivery("wamid.C2", "failed", recipient=wa[2],
                          error={"code": 131026, "title": "Message undeliverable"}))
    services.delivery_worker.drain()
    assert [r["state"] for r in recipients(services, campaign_id)] == ["delivered", "read", "failed"]
    failed = recipients(services, campaign_id)[2]
    assert failed["error_code"] == 131026
    # a late "sent" never moves a read recipient back
    store(services, status_delivery("wamid.C1", "sent", recipient=wa[1]))
    services.delivery_worker.drain()
    customer_wrote(services, wa[0], ago=1, body="Mi interessa!")
    funnel = [r["state"] for r in recipients(services, campaign_id)]
    assert funnel == ["replied", "read", "failed"]
    assert recipients(services, campaign_id)[0]["replied_at"] is not None
    retried = campaigns.do_retry_failed(SUPERVISOR, campaign_id)
    assert retried["retried"] == 1 and retried["status"] == "running"
    _feed_all(services, campaign_id)
    again = recipients(services, campaign_id)
    assert [r["state"] for r in again] == ["replied", "read", "queued"]
    assert again[2]["message_id"] != failed["message_id"] and again[2]["attempts"] == 2
    assert again[0]["message_id"] == rows[0]["message_id"]  # the others were not sent again
    progress = campaigns.progress(campaign_id)
    assert progress["counts"]["replied"] == 1 and progress["total"] == 3
    lines = "".join(campaigns.funnel_csv(campaign_id)).splitlines()
    assert lines[0].startswith("recipient_id,contact_id,recipient,state") and len(lines) == 4


# --- everything a template send supports, per recipient -------------------------------------------------------

RICH = [{"type": "HEADER", "format": "DOCUMENT"},
        {"type": "BODY", "text": "Ciao {{1}}, hai un credito di {{2}} (livello {{3}})."},
        {"type": "BUTTONS", "buttons": [{"type": "URL", "text": "Apri", "url": "https://shop.example.com/o/{{1}}"},
                                        {"type": "QUICK_REPLY", "text": "Non mi interessa"},
                                        {"type": "COPY_CODE", "example": "SAVE10"}]}]
RICH_PARAMS = {
    "header": {"link": "https://cdn.example.com/buono.pdf", "filename": "buono.pdf"},
    "body": [{"from": "contact.name"},
             {"type": "currency", "currency": {"fallback_value": "10 €", "code": "EUR", "amount_1000": 10000}},
             {"from": "contact.attributes.tier"}],
    "buttons": [{"index": 0, "value": {"from": "contact.attributes.order"}}, {"index": 1, "value": "NO-PROMO"},
                {"index": 2, "value": "SAVE10"}]}


def _rich_template(services: Services, language: str, body: str | None = None) -> int:
    now = _now()
    components = [dict(c) for c in RICH]
    if body is not None:
        components[1] = {"type": "BODY", "text": body}
    with services.engine.begin() as conn:
        return template_repo.insert_template(conn, {
            "account_id": WABA, "name": "buono", "language": language, "category": "utility",
            "parameter_format": "positional", "components": components, "status": "approved", "created_at": now,
            "updated_at": now})


def test_campaign_sends_media_buttons_currency_and_mappings_in_each_recipients_language(services: Services) -> None:
    channel_id = whatsapp_channel(services)
    template_id = _rich_template(services, "it")
    english_id = _rich_template(services, "en", "Hi {{1}}, you have {{2}} of credit (level {{3}}).")
    ids = contacts_with(services, 4, tags=("vip",), attributes={"tier": "gold", "order": "A-1"})
    with services.engine.begin() as conn:
        conn.execute(update(contacts).where(contacts.c.id == ids[1]).values(language="en_GB"))
        conn.execute(update(contacts).where(contacts.c.id == ids[2]).values(language="de"))  # no German: Italian
        conn.execute(update(contacts).where(contacts.c.id == ids[3]).values(attributes={"order": "A-3"}))
    campaign_id = _campaign(services, channel_id, template_id, parameters=RICH_PARAMS)
    assert services.campaigns is not None
    planned = services.campaigns.do_plan(SUPERVISOR, campaign_id)
    # a recipient without the mapped attribute is left out with the reason; the campaign is planned
    assert planned["recipients_total"] == 3 and planned["rejected_total"] == 1
    left_out = planned["plan_report"]["rejected_rows"][0]
    assert left_out["contact_id"] == ids[3] and "parameters.body[2]" in left_out["reason"]
    services.campaigns.do_start(SUPERVISOR, campaign_id)
    _feed_all(services, campaign_id)
    rows = {r["contact_id"]: r for r in recipients(services, campaign_id)}
    assert {r["state"] for r in rows.values()} == {"queued"}
    with services.engine.connect() as conn:
        sent = {int(m["contact_id"]): m for m in conn.execute(select(messages).where(
            messages.c.id.in_([r["message_id"] for r in rows.values()]))).mappings()}
    first = sent[ids[0]]["content"]["template"]
    assert first["language"] == "it" and first["template_id"] == template_id
    assert first["components"] == [
        {"type": "header", "parameters": [{"type": "document", "document": {
            "link": "https://cdn.example.com/buono.pdf", "filename": "buono.pdf"}}]},
        {"type": "body", "parameters": [
            {"type": "text", "text": "Cliente 0"},
            {"type": "currency", "currency": {"fallback_value": "10 €", "code": "EUR", "amount_1000": 10000}},
            {"type": "text", "text": "gold"}]},
        {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "A-1"}]},
        {"type": "button", "sub_type": "quick_reply", "index": "1", "parameters": [
            {"type": "payload", "payload": "NO-PROMO"}]},
        {"type": "button", "sub_type": "copy_code", "index": "2", "parameters": [
            {"type": "coupon_code", "coupon_code": "SAVE10"}]}]
    assert sent[ids[0]]["text"].startswith("[Document: buono.pdf]\nCiao Cliente 0, hai un credito di 10 €")
    english = sent[ids[1]]["content"]["template"]
    assert english["language"] == "en" and english["template_id"] == english_id
    assert "Hi Cliente 1, you have 10 € of credit (level gold)." in sent[ids[1]]["text"]
    assert sent[ids[2]]["content"]["template"]["language"] == "it"


def test_csv_columns_and_a_location_header_fill_a_campaign(services: Services) -> None:
    channel_id = whatsapp_channel(services)
    now = _now()
    with services.engine.begin() as conn:
        template_id = template_repo.insert_template(conn, {
            "account_id": WABA, "name": "ritiro", "language": "it", "category": "utility",
            "parameter_format": "positional", "components": [
                {"type": "HEADER", "format": "LOCATION"},
                {"type": "BODY", "text": "Ciao {{1}}, il tuo ordine {{2}} ti aspetta."}],
            "status": "approved", "created_at": now, "updated_at": now})
    parameters = {"header": {"latitude": 45.46, "longitude": 9.19, "name": "Negozio Duomo"},
                  "body": [{"from": "payload.nome"}, {"from": "payload.ordine"}]}
    assert services.campaigns is not None
    made = services.campaigns.do_create_from_csv(SUPERVISOR, {
        "name": "Ritiri", "channel_id": channel_id, "template_id": template_id, "parameters": parameters},
        b"phone,nome,ordine\n393471112233,Anna,R-1\n393471112244,Bruno,\n", "ritiri.csv")
    assert made["recipients_total"] == 1 and made["plan_report"]["rejected"] == 1
    assert made["plan_report"]["rejected_rows"][0]["row"] == 3
    content = recipients(services, int(made["id"]))[0]["params"]["template"]
    assert content["components"] == [
        {"type": "header", "parameters": [{"type": "location", "location": {
            "latitude": 45.46, "longitude": 9.19, "name": "Negozio Duomo"}}]},
        {"type": "body", "parameters": [{"type": "text", "text": "Anna"}, {"type": "text", "text": "R-1"}]}]
    assert content["preview"] == "[Location: Negozio Duomo]\nCiao Anna, il tuo ordine R-1 ti aspetta."


@pytest.mark.parametrize(("parameters", "field", "code"), [
    ({"body": ["a", "b"]}, "parameters.body", "template.parameter_count"),
    ({"body": ["a", "b", "c"], "buttons": [{"index": 3, "value": "x"}]}, "parameters.buttons[0].index",
     "template.button_not_found"),
    ({"header": "x", "body": ["a", "b", "c"]}, "parameters.header", "template.header_unexpected"),
    ({"body": [{"from": "case.id"}, "b", "c"]}, "parameters", "campaign.bad_parameter"),
])
def test_a_definition_that_cannot_fit_the_template_is_refused_at_creation(
        services: Services, parameters: dict[str, Any], field: str, code: str) -> None:
    channel_id = whatsapp_channel(services)
    template_id = approved_template(services)
    with pytest.raises(InvalidInput) as err:
        _campaign(services, channel_id, template_id, parameters=parameters)
    assert (err.value.field, err.value.code, err.value.status) == (field, code, 422)
    assert count(services, campaigns) == 0


def test_the_daily_tier_counts_every_template_message_of_the_channel(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(TIERS, "250", 3)
    channel_id = whatsapp_channel(services)
    template_id = approved_template(services)
    contacts_with(services, 3, tags=("vip",), attributes={"city": "Milano"})
    # a notification's and an API template send to another customer: one more customer for the tier
    conversation_id = customer_wrote(services, "393479990000")
    message = TemplateMessage("promo_primavera", "it", "utility", (), "Ciao", template_id)
    services.outbound.do_send(conversation_id, message, origin="notification")
    services.outbound.do_send(conversation_id, message, origin="api")
    campaign_id = _campaign(services, channel_id, template_id, daily_tier="250", on_tier_limit="wait")
    assert services.campaigns is not None
    services.campaigns.do_plan(SUPERVISOR, campaign_id)
    services.campaigns.do_start(SUPERVISOR, campaign_id)
    _feed_all(services, campaign_id)
    assert states(services, campaign_id) == {"queued": 2, "planned": 1}


def test_an_opt_out_after_planning_is_skipped_and_never_reaches_meta(services: Services) -> None:
    meta = MetaSide(services)
    try:
        definition = {"name": "promo_primavera", "language": "it", "category": "MARKETING",
                      "components": [{"type": "BODY", "text": BODY,
                                      "example": {"body_text": [["Giulia", "Milano", "X"]]}}]}
        seeded = meta.control.post("/templates", json={**definition, "status": "APPROVED"})
        assert seeded.status_code == 201, seeded.text
        template_id = approved_template(services, category="marketing", body=BODY)
        ids = contacts_with(services, 2, tags=("vip",), attributes={"city": "Milano"})
        for contact_id in ids:
            opt_in(services, contact_id)
        campaigns = services.campaigns
        assert campaigns is not None
        campaign_id = _campaign(services, meta.channel_id, template_id)
        assert campaigns.do_plan(SUPERVISOR, campaign_id)["recipients_total"] == 2
        campaigns.do_start(SUPERVISOR, campaign_id)
        opt_out(services, ids[1])  # after planning, before the batch is queued
        _feed_all(services, campaign_id)
        by_contact = {r["contact_id"]: r for r in recipients(services, campaign_id)}
        assert by_contact[ids[0]]["state"] == "queued"
        assert by_contact[ids[1]]["state"] == "skipped_consent" and "opted out" in by_contact[ids[1]]["error"]
        assert by_contact[ids[1]]["message_id"] is None
        assert count(services, messages, messages.c.contact_id == ids[1]) == 0
        assert meta.run(meta.sender().drain()) == 1
        at_meta = [r.wa_id for r in meta.sim.state.messages.values() if r.direction == "out"]
        assert at_meta == [by_contact[ids[0]]["recipient"]]
    finally:
        meta.close()


def test_values_with_quotes_and_backslashes_are_frozen_as_written(services: Services) -> None:
    channel_id = whatsapp_channel(services)
    template_id = approved_template(services)
    ids = contacts_with(services, 1, tags=("vip",), attributes={"city": 'C:\\Milano "centro"'})
    campaign_id = _campaign(services, channel_id, template_id)  # PostgreSQL: written by COPY's text format
    assert services.campaigns is not None
    assert services.campaigns.do_plan(SUPERVISOR, campaign_id)["recipients_total"] == 1
    row = recipients(services, campaign_id)[0]
    assert row["contact_id"] == ids[0] and _body(row) == ["Cliente 0", 'C:\\Milano "centro"', "PRIMAVERA"]
    assert row["params"]["template"]["preview"].endswith("PRIMAVERA.\nRispondi STOP per non ricevere più")


def test_a_header_upload_is_checked_at_creation_and_frozen_with_the_message(services: Services) -> None:
    channel_id = whatsapp_channel(services)
    template_id = _rich_template(services, "it")
    contacts_with(services, 1, tags=("vip",), attributes={"tier": "gold", "order": "A-1"})
    missing = {**RICH_PARAMS, "header": {"media_id": 999_999}}
    with pytest.raises(InvalidInput) as err:
        _campaign(services, channel_id, template_id, parameters=missing)
    assert (err.value.field, err.value.code) == ("parameters.header.media_id", "media.not_found")
    with services.engine.begin() as conn:
        upload = outbound_media_repo.insert_file(conn, {
            "sha256": "cd" * 32, "mime_type": "application/pdf", "size": 2000, "filename": "buono.pdf",
            "animated": False, "storage_path": "cd/cdcd", "origin": "api", "created_at": _now()})
    campaign_id = _campaign(services, channel_id, template_id,
                            parameters={**RICH_PARAMS, "header": {"media_id": upload, "filename": "buono.pdf"}})
    assert services.campaigns is not None
    assert services.campaigns.do_plan(SUPERVISOR, campaign_id)["recipients_total"] == 1
    frozen = recipients(services, campaign_id)[0]["params"]["template"]
    assert frozen["header_media"]["kind"] == "document" and frozen["header_media"]["media_id"] == upload

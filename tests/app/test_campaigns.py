"""Campaigns: planning from a segment and from a CSV, feeding, consent skips, the daily tier, pause/resume/
cancel, statuses and replies to the funnel, retry-failed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from centralino.domain.campaigns import TIERS
from centralino.errors import Conflict, Forbidden, InvalidInput
from centralino.events.bus import Recorder
from centralino.services import Services
from centralino.storage.tables import contacts, messages, outbox
from tests.campaign_helpers import (
    AGENT,
    SUPERVISOR,
    approved_template,
    contacts_with,
    opt_in,
    opt_out,
    recipients,
    states,
)
from tests.factories import whatsapp_channel
from tests.helpers import count, store
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

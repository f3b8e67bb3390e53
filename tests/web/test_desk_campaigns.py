"""The campaign pages over HTTP: supervisors see the list, the form and the live campaign page; agents do
not; the actions work with the session's CSRF token; names are escaped."""

from __future__ import annotations

import pytest

from tests.access_helpers import cheap_hashing
from tests.campaign_helpers import SUPERVISOR, approved_template, contacts_with
from tests.web.test_desk import csrf, desk_sign_in

EVIL = "<script>alert(1)</script>"


@pytest.fixture
def settings(settings):
    return cheap_hashing(settings)


def test_supervisor_follows_a_campaign_and_agents_do_not_see_it(client, org, services):
    template_id = approved_template(services)
    contacts_with(services, 2, tags=("vip",), attributes={"city": "Milano"})
    campaign = services.campaigns.do_create(SUPERVISOR, {
        "name": EVIL, "channel_id": org.care_channel, "template_id": template_id, "audience": {"tags": ["vip"]},
        "parameters": {"1": {"field": "display_name"}, "2": {"attribute": "city"}, "3": {"text": "X"}},
        "rate_per_s": 10, "daily_tier": "unlimited"})
    services.campaigns.do_plan(SUPERVISOR, int(campaign["id"]))

    desk_sign_in(client, "agent_care")
    assert client.get("/desk/campaigns").status_code == 404
    assert 'href="/desk/campaigns"' not in client.get("/desk/").text
    client.cookies.clear()

    desk_sign_in(client, "supervisor")
    listing = client.get("/desk/campaigns")
    assert listing.status_code == 200 and EVIL not in listing.text and "&lt;script&gt;" in listing.text
    assert 'href="/desk/campaigns"' in client.get("/desk/").text
    form = client.get("/desk/campaigns/new")
    assert form.status_code == 200 and 'data-variables="1,2,3"' in form.text and "campaigns.js" in form.text
    page = client.get(f"/desk/campaigns/{campaign['id']}")
    assert page.status_code == 200 and 'id="camp-count-planned">2<' in page.text
    assert EVIL not in page.text
    headers = csrf(client)
    assert client.post(f"/api/v1/campaigns/{campaign['id']}/start", headers=headers).json()["status"] == "running"
    progress = client.get(f"/api/v1/campaigns/{campaign['id']}/progress").json()
    assert progress["status"] == "running" and progress["counts"]["planned"] == 2
    assert client.get(f"/api/v1/campaigns/{campaign['id']}/funnel.csv").status_code == 200
    assert client.get("/desk/campaigns/999").status_code == 404

"""The consent section of the desk's customer panel: a placeholder in the panel, filled by its fragment (state
per purpose with source and date, the history newest first, the forms), escaped, in both languages, and only
for contacts the user may see."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update

from centralino.app.unit_of_work import unit_of_work
from centralino.domain.consent import Action, Purpose, Source
from centralino.storage.tables import conversations, users
from tests.access_helpers import PASSWORD, cheap_hashing

INTEGRATION = {"Authorization": "Bearer demo-token"}


@pytest.fixture
def settings(settings):
    return cheap_hashing(settings)


def desk_sign_in(client, who: str) -> None:
    answer = client.post("/desk/sign-in", data={"email": f"{who}@example.com", "password": PASSWORD},
                         follow_redirects=False)
    assert answer.status_code == 303


def contact_of(services, conversation_id: int) -> int:
    with services.engine.connect() as conn:
        return int(conn.execute(select(conversations.c.contact_id).where(conversations.c.id == conversation_id))
                   .scalar_one())


def test_the_panel_holds_the_placeholder_and_its_script(client, org):
    desk_sign_in(client, "agent_care")
    page = client.get(f"/desk/conversations/{org.care_conversation}").text
    assert 'id="consent-panel"' in page and '<script type="module" src="/desk/static/consent.js"></script>' in page
    assert client.get("/desk/static/consent.js").status_code == 200


def test_the_fragment_shows_state_history_and_forms_escaped(client, org, services):
    contact_id = contact_of(services, org.care_conversation)
    client.post(f"/api/v1/contacts/{contact_id}/consents", headers=INTEGRATION, json={
        "purpose": "marketing", "action": "opt_in", "source": "web_form", "occurred_at": "2026-11-01T09:30:00Z"})
    with unit_of_work(services.engine, services.bus) as uow:
        services.consent.record_in(uow, contact_id=contact_id, purpose=Purpose.MARKETING, action=Action.OPT_OUT,
                                   source=Source.KEYWORD, occurred_at=datetime(2026, 11, 20, 8, 0, tzinfo=UTC),
                                   actor="customer", evidence={"keyword": "<b>STOP</b>"},
                                   note="<script>alert(1)</script>")
    desk_sign_in(client, "agent_care")
    fragment = client.get(f"/desk/contacts/{contact_id}/consent")
    assert fragment.status_code == 200 and "default-src 'none'" in fragment.headers["content-security-policy"]
    html = fragment.text
    assert 'data-loaded="1"' in html and 'id="consent-form"' in html
    marketing = re.search(r'<li class="consent-(\w+)" data-purpose="marketing">(.*?)</li>', html, re.S)
    assert marketing and marketing.group(1) == "refused"
    assert "consenso revocato · parola chiave · 2026-11-20 08:00" in marketing.group(2)  # the agent reads Italian
    utility = re.search(r'<li class="consent-(\w+)" data-purpose="utility">', html)
    assert utility and utility.group(1) == "allowed"
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>STOP</b>" not in html and "&lt;b&gt;STOP&lt;/b&gt;" in html
    history = re.findall(r'<span class="when">([^<]+)</span>', html)
    assert history == ["2026-11-20 08:00", "2026-11-01 09:30"]  # newest first


def test_english_words_for_an_english_user(client, org, services):
    with services.engine.begin() as conn:
        conn.execute(update(users).where(users.c.id == org.agent_care).values(language="en"))
    desk_sign_in(client, "agent_care")
    html = client.get(f"/desk/contacts/{contact_of(services, org.care_conversation)}/consent").text
    assert "Record opt-out" in html and "needs an opt-in: none recorded" in html


def test_only_for_contacts_the_user_may_see(client, org, services):
    assert client.get(f"/desk/contacts/{contact_of(services, org.care_conversation)}/consent").status_code == 401
    desk_sign_in(client, "agent_care")
    assert client.get(f"/desk/contacts/{contact_of(services, org.sales_conversation)}/consent").status_code == 404
    assert client.get("/desk/contacts/99999/consent").status_code == 404

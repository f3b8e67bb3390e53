"""The customer panel's Timeline on the desk: the placeholder in the conversation page, the panel with its first
page, filters and "load more", everything escaped, and the same visibility as the rest (404 out of scope)."""

from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import select

from centralino.domain.access import Principal, Role
from centralino.storage.tables import conversations
from tests.access_helpers import cheap_hashing, sign_in
from tests.factories import PNID, WABA, text_delivery
from tests.helpers import store

ADMIN = Principal(role=Role.ADMIN, user_id=None, via="integration")


@pytest.fixture
def settings(settings):
    return cheap_hashing(settings)


def contact_of(services, conversation_id: int) -> int:
    with services.engine.connect() as conn:
        return int(conn.execute(select(conversations.c.contact_id).where(conversations.c.id == conversation_id))
                   .scalar_one())


def test_the_panel_shows_the_story_escaped_with_filters_and_more(client, org, services):
    store(services, text_delivery("393470000001", "<script>alert(1)</script>", int(time.time()), "wamid.XSS",
                                  pnid=PNID, waba=WABA))
    services.delivery_worker.drain()
    for i in range(35):
        services.desk.do_add_note(ADMIN, org.care_conversation, f"nota {i}")
    contact_id = contact_of(services, org.care_conversation)
    sign_in(client, "agent_care")

    page = client.get(f"/desk/conversations/{org.care_conversation}")
    assert page.status_code == 200
    assert f'id="timeline-panel" data-source="/desk/contacts/{contact_id}/timeline"' in page.text
    assert "timeline.js" in page.text

    panel = client.get(f"/desk/contacts/{contact_id}/timeline")
    assert panel.status_code == 200 and 'data-loaded="1"' in panel.text
    assert "Cronologia" in panel.text or "Timeline" in panel.text
    assert panel.text.count('class="tl-entry') == 30 and "nota 34" in panel.text and "nota 4<" not in panel.text
    cursor = re.search(r'id="timeline-more" data-cursor="([^"]+)"', panel.text).group(1)
    more = client.get(f"/desk/contacts/{contact_id}/timeline/entries", params={"cursor": cursor})
    assert more.status_code == 200
    assert more.text.count('class="tl-entry') == 7  # 5 notes, the customer's two messages
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in more.text and "<script>alert" not in more.text
    assert 'id="timeline-more"' not in more.text  # the last page

    notes = client.get(f"/desk/contacts/{contact_id}/timeline", params={"kind": "messages", "channel": "whatsapp"})
    assert notes.text.count('class="tl-entry') == 30
    nothing = client.get(f"/desk/contacts/{contact_id}/timeline", params={"kind": "cases"})
    assert 'id="timeline-empty"' in nothing.text
    assert client.get(f"/desk/contacts/{contact_id}/timeline", params={"kind": "gossip"}).status_code == 400


def test_out_of_scope_or_signed_out_gets_nothing(client, org, services):
    sales_contact = contact_of(services, org.sales_conversation)
    sign_in(client, "agent_care")
    assert client.get(f"/desk/contacts/{sales_contact}/timeline").status_code == 404
    assert client.get("/desk/contacts/999999/timeline/entries").status_code == 404
    client.cookies.clear()
    assert client.get(f"/desk/contacts/{sales_contact}/timeline").status_code == 401


def test_a_cases_timeline_section_for_the_case_page(client, org, services):
    cases = services.cases
    assert cases is not None
    case = cases.cases.do_create_case(ADMIN, case_type="technical_issue", title="Il modem non va",
                                      conversation_id=org.care_conversation, department_id=org.care,
                                      fields={"product": "modem", "severity": "high"})
    task = cases.tasks.do_add_task(ADMIN, int(case["id"]), title="Sostituire", department_id=org.care)
    cases.tasks.do_escalate_task(ADMIN, int(task["id"]), org.sales, reason="<b>serve</b> il magazzino")
    sign_in(client, "agent_care")
    section = client.get(f"/desk/cases/{case['id']}/timeline")
    assert section.status_code == 200
    assert f'data-source="/desk/cases/{case["id"]}/timeline"' in section.text
    assert "Care → Sales" in section.text  # the escalation between departments, by name
    assert "«&lt;b&gt;serve&lt;/b&gt; il magazzino»" in section.text  # the reason, escaped
    assert "assistenza" in section.text  # the linked conversation's message
    other = cases.cases.do_create_case(ADMIN, case_type="technical_issue", title="Altro", department_id=org.sales,
                                       contact_id=contact_of(services, org.sales_conversation),
                                       fields={"product": "router", "severity": "low"}, owner_user_id=None)
    assert client.get(f"/desk/cases/{other['id']}/timeline").status_code == 404

"""The template manager's pages and the composer's picker fragment, rendered by the server."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from centralino.app.unit_of_work import unit_of_work
from centralino.storage.tables import contacts, conversations
from tests.access_helpers import PASSWORD, cheap_hashing
from tests.web.test_templates_api import DRAFT, INTEGRATION


@pytest.fixture
def settings(settings):
    return cheap_hashing(settings)


def sign_in(client, who: str) -> None:
    answer = client.post("/api/v1/auth/sign-in", json={"email": f"{who}@example.com", "password": PASSWORD})
    assert answer.status_code == 200, answer.text


def _approved(client, services, name: str, language: str, body: str) -> int:
    draft = copy.deepcopy(DRAFT) | {"name": name, "language": language}
    draft["components"][0]["text"] = body
    template_id = client.post("/api/v1/templates", headers=INTEGRATION, json=draft).json()["template"]["id"]
    with unit_of_work(services.engine, services.bus) as uow:  # Meta's approval, as the pipeline emits it
        uow.emit("template.status_changed", account_id=DRAFT["account_id"], template_id=None, name=name,
                 language=language, status="approved", raw_event="APPROVED", reason="NONE",
                 at=datetime.now(UTC).isoformat(), data={})
    return int(template_id)


def test_the_list_and_the_detail_show_status_reason_and_history(client, org, services):
    template_id = _approved(client, services, "order_ready", "it", DRAFT["components"][0]["text"])
    with unit_of_work(services.engine, services.bus) as uow:
        uow.emit("template.status_changed", account_id=DRAFT["account_id"], template_id=None, name="order_ready",
                 language="it", status="paused", raw_event="PAUSED", reason="NONE", at=datetime.now(UTC).isoformat(),
                 data={"other_info": {"title": "FIRST_PAUSE", "description": "Low <b>quality</b>."}})
    sign_in(client, "supervisor")
    page = client.get("/desk/templates")
    assert page.status_code == 200 and "order_ready" in page.text and "tpl-status-paused" in page.text
    assert "FIRST_PAUSE: Low &lt;b&gt;quality&lt;/b&gt;." in page.text  # Meta's words, escaped
    assert 'id="tpl-new"' in page.text
    detail = client.get(f"/desk/templates/{template_id}")
    assert detail.status_code == 200 and 'data-status="paused"' in detail.text and 'data-editable="0"' in detail.text
    assert "tpl-history" in detail.text and detail.text.count("<li><span class=\"muted\">") == 3
    assert client.get("/desk/templates/new").status_code == 200
    assert client.get("/desk/templates/999").status_code == 404
    fragment = client.get(f"/desk/templates/{template_id}/status")
    assert fragment.status_code == 200 and "FIRST_PAUSE" in fragment.text


def test_agents_see_the_list_without_the_builder_actions(client, org, services):
    client.post("/api/v1/templates", headers=INTEGRATION, json=DRAFT)
    sign_in(client, "agent_care")
    page = client.get("/desk/templates")
    assert page.status_code == 200 and "order_ready" in page.text and 'id="tpl-new"' not in page.text
    client.cookies.clear()
    assert client.get("/desk/templates", follow_redirects=False).status_code == 303


def test_the_picker_lists_the_approved_templates_of_the_channels_account_customer_language_first(
        client, org, services):
    _approved(client, services, "order_ready", "en_US", "Hello {{1}}, your order is ready at the shop.")
    _approved(client, services, "order_ready", "it", "Ciao {{1}}, il tuo ordine è pronto in negozio.")
    client.post("/api/v1/templates", headers=INTEGRATION, json=copy.deepcopy(DRAFT) | {"name": "still_a_draft"})
    with services.engine.begin() as conn:
        contact_id = conn.execute(update(conversations).where(conversations.c.id == org.care_conversation)
                                  .values(status="open").returning(conversations.c.contact_id)).scalar_one()
        conn.execute(update(contacts).where(contacts.c.id == contact_id).values(language="en"))
    sign_in(client, "agent_care")
    picker = client.get(f"/desk/conversations/{org.care_conversation}/template-picker")
    assert picker.status_code == 200
    assert "still_a_draft" not in picker.text
    first_en, first_it = picker.text.index('data-language="en_US"'), picker.text.index('data-language="it"')
    assert first_en < first_it  # the customer's language (en ~ en_US) first
    assert 'data-body-vars=\'["1"]\'' in picker.text
    # a conversation the agent may not see: nothing
    assert client.get(f"/desk/conversations/{org.sales_conversation}/template-picker").status_code == 404


def test_every_status_category_history_kind_and_button_has_words_in_both_languages():
    from centralino.domain.enums import TemplateStatus
    from centralino.web.desk.i18n import MESSAGES

    wanted = {f"tpl.status.{s.value}" for s in TemplateStatus} | {"tpl.status.draft"}
    wanted |= {f"tpl.category.{c}" for c in ("utility", "marketing", "authentication")}
    wanted |= {f"tpl.kind.{k}" for k in ("created", "edited", "submitted", "status", "quality", "category",
                                         "synced", "deleted")}
    wanted |= {f"tpl.button.{b}" for b in ("QUICK_REPLY", "URL", "PHONE_NUMBER", "COPY_CODE")}
    assert wanted <= MESSAGES["en"].keys() and wanted <= MESSAGES["it"].keys()

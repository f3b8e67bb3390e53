"""The template sending and preview API: 202 with the queued template, the errors with their code and field,
Idempotency-Key, visibility for agents, and the live preview of stored and unsaved templates."""

from __future__ import annotations

import pytest

from centralino.storage.tables import messages
from tests.access_helpers import PASSWORD, build_org, cheap_hashing
from tests.app.test_template_send import BODY, add_template
from tests.factories import WABA, WABA_2, whatsapp_channel
from tests.helpers import count
from tests.outbound_helpers import customer_wrote, table_counts

AUTH = {"Authorization": "Bearer demo-token"}
SEND = {"name": "order_shipped", "parameters": {"body": ["Anna", "A-1"]}}


@pytest.fixture
def settings(settings):
    return cheap_hashing(settings)


@pytest.fixture
def closed(services) -> int:
    whatsapp_channel(services)
    return customer_wrote(services, ago=3 * 86400)


def test_sending_needs_a_principal(client):
    assert client.post("/api/v1/conversations/1/templates", json=SEND).status_code == 401
    assert client.post("/api/v1/templates/preview", json={}).status_code == 401


def test_a_template_is_sent_outside_the_window_with_202(client, services, closed):
    add_template(services)
    response = client.post(f"/api/v1/conversations/{closed}/templates", headers=AUTH, json=SEND)
    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["type"], body["status"], body["origin"], body["conversation_id"]) == \
        ("template", "queued", "api", closed)
    assert body["text"] == "Ciao Anna, il tuo ordine A-1 è stato spedito."


def test_errors_carry_their_code_status_and_field(client, services, closed):
    add_template(services)
    add_template(services, name="paused_one", status="paused", reason="FIRST_PAUSE")
    url = f"/api/v1/conversations/{closed}/templates"
    before = table_counts(services)
    cases = [
        ({"name": "nope"}, 404, "template.not_found", "name"),
        ({**SEND, "language": "en"}, 404, "template.not_found", "language"),
        ({"name": "paused_one", "parameters": {"body": ["a", "b"]}}, 409, "template.not_sendable", "name"),
        ({**SEND, "parameters": {"body": ["Anna"]}}, 422, "template.parameter_count", "parameters.body"),
        ({**SEND, "parameters": {"body": [{"from": "payload.order"}, "x"]}}, 422,
         "template.parameter_source_missing", "parameters.body[0]"),
    ]
    for payload, status, code, field in cases:
        response = client.post(url, headers=AUTH, json=payload)
        assert response.status_code == status, response.text
        assert (response.json()["error"]["code"], response.json()["error"]["field"]) == (code, field)
    assert client.post("/api/v1/conversations/999999/templates", headers=AUTH, json=SEND).status_code == 404
    assert table_counts(services) == before


def test_the_payload_feeds_mapped_parameters(client, services, closed):
    add_template(services)
    response = client.post(f"/api/v1/conversations/{closed}/templates", headers=AUTH, json={
        "name": "order_shipped", "parameters": {"body": ["Anna", {"from": "payload.order.id"}]},
        "payload": {"order": {"id": "Z-77"}}})
    assert response.status_code == 202, response.text
    assert response.json()["text"] == "Ciao Anna, il tuo ordine Z-77 è stato spedito."


def test_an_idempotency_key_sends_once(client, services, closed):
    add_template(services)
    url = f"/api/v1/conversations/{closed}/templates"
    first = client.post(url, headers={**AUTH, "Idempotency-Key": "t-1"}, json=SEND)
    again = client.post(url, headers={**AUTH, "Idempotency-Key": "t-1"}, json=SEND)
    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"] and again.headers["Idempotent-Replayed"] == "true"
    other = client.post(url, headers={**AUTH, "Idempotency-Key": "t-1"},
                        json={**SEND, "parameters": {"body": ["Marco", "A-1"]}})
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency.mismatch"
    assert count(services, messages, messages.c.type == "template") == 1


def test_an_agent_sends_only_into_conversations_they_see(client, services):
    org = build_org(services)
    add_template(services, account=WABA_2)  # the sales channel's account
    add_template(services, account=WABA)
    answer = client.post("/api/v1/auth/sign-in", json={"email": org.email("agent_care"), "password": PASSWORD})
    csrf = {"X-CSRF-Token": answer.json()["csrf_token"]}
    hidden = client.post(f"/api/v1/conversations/{org.sales_conversation}/templates", headers=csrf, json=SEND)
    assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "not_found"
    sent = client.post(f"/api/v1/conversations/{org.care_conversation}/templates", headers=csrf, json=SEND)
    assert sent.status_code == 202, sent.text
    assert sent.json()["origin"] == f"agent:{org.agent_care}"


def test_preview_of_a_stored_template_with_and_without_values(client, services):
    template_id = add_template(services)
    outline = client.post("/api/v1/templates/preview", headers=AUTH, json={"template_id": template_id})
    assert outline.status_code == 200
    assert outline.json() == {"preview": "Ciao {{1}}, il tuo ordine {{2}} è stato spedito.", "components": None,
                              "problems": []}
    filled = client.post("/api/v1/templates/preview", headers=AUTH,
                         json={"template_id": template_id, "parameters": {"body": ["Anna", "A-1"]}}).json()
    assert filled["preview"] == "Ciao Anna, il tuo ordine A-1 è stato spedito." and filled["problems"] == []
    assert filled["components"][0]["parameters"][0] == {"type": "text", "text": "Anna"}
    short = client.post("/api/v1/templates/preview", headers=AUTH,
                        json={"template_id": template_id, "parameters": {"body": ["Anna"]}}).json()
    assert short["problems"][0]["code"] == "template.parameter_count" and short["components"] is None
    assert short["preview"] == "Ciao Anna, il tuo ordine {{2}} è stato spedito."  # what is filled so far
    assert client.post("/api/v1/templates/preview", headers=AUTH, json={"template_id": 999999}).status_code == 404


def test_preview_of_an_unsaved_definition_lists_the_linters_problems(client):
    definition = {"name": "Bad Name", "language": "it", "category": "utility",
                  "components": [{**BODY, "text": "{{1}} il tuo ordine {{2}} è stato spedito."}]}
    response = client.post("/api/v1/templates/preview", headers=AUTH,
                           json={"definition": definition, "parameters": {"body": ["Anna", "A-1"]}})
    assert response.status_code == 200
    body = response.json()
    assert body["preview"] == "Anna il tuo ordine A-1 è stato spedito."
    assert {p["code"] for p in body["problems"]} == {"name.format", "body.variable_at_start"}
    both = client.post("/api/v1/templates/preview", headers=AUTH, json={"definition": definition, "template_id": 1})
    assert both.status_code == 422 and both.json()["error"]["code"] == "template.preview_invalid"
    junk = client.post("/api/v1/templates/preview", headers=AUTH, json={"definition": {"components": "x"}})
    assert junk.status_code == 200 and junk.json()["problems"]

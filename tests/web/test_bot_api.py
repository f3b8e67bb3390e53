"""The bot administration API: roles (supervisors and administrators manage, agents label candidates), bad input
answered with the field named and nothing changed, secrets never returned, pages of examples and candidates,
train/activate/rollback, and the desk pages."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from centralino.storage.tables_bot import bot_intents, bot_services
from tests.access_helpers import sign_in
from tests.bot_admin_helpers import INTENTS_YAML, candidate

INTEGRATION = {"Authorization": "Bearer demo-token"}


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"bot_encoder": "tfidf"})


def _imported(client):
    answer = client.post("/api/v1/bot/intents/import", headers=INTEGRATION, content=INTENTS_YAML)
    assert answer.status_code == 200, answer.text
    return {i["name"]: i for i in client.get("/api/v1/bot/intents", headers=INTEGRATION).json()}


def test_roles(client, org, services):
    intents = _imported(client)
    found = candidate(services, "dov'è il pacco", predicted="order_status")
    agent = sign_in(client, "agent_care")
    assert client.post("/api/v1/bot/intents", headers=agent, json={"name": "x"}).status_code == 403
    for path in ("/api/v1/bot/models", "/api/v1/bot/flows", "/api/v1/bot/services", "/api/v1/bot/report",
                 "/api/v1/bot/intents/export", f"/api/v1/bot/intents/{intents['refund']['id']}/examples"):
        assert client.get(path, headers=agent).status_code == 403, path
    assert client.post("/api/v1/bot/models/train", headers=agent).status_code == 403
    assert client.post("/api/v1/bot/intents/import", headers=agent, content=INTENTS_YAML).status_code == 403
    assert client.get("/api/v1/bot/intents", headers=agent).status_code == 200
    assert client.get("/api/v1/bot/candidates", headers=agent).json()["items"][0]["id"] == found
    labelled = client.post(f"/api/v1/bot/candidates/{found}/label", headers=agent, json={"intent_id": None})
    assert labelled.status_code == 200 and labelled.json()["intent"] == "order_status"
    supervisor = sign_in(client, "supervisor")
    created = client.post("/api/v1/bot/intents", headers=supervisor, json={"name": "complaint"})
    assert created.status_code == 201 and created.json()["automation"] == "suggest"
    assert client.post("/api/v1/bot/intents", json={"name": "no_csrf"}).status_code in (401, 403)


def test_bad_input_names_the_field_and_changes_nothing(client):
    intents = _imported(client)
    refund = intents["refund"]["id"]
    for body, field in (({"name": "x", "threshold": 2}, "threshold"), ({"name": "x", "automation": "maybe"},
                                                                        "automation"),
                        ({"name": "x", "colour": "red"}, "colour"), ({"name": "Not A Name"}, "name")):
        answer = client.post("/api/v1/bot/intents", headers=INTEGRATION, json=body)
        assert answer.status_code in (400, 422) and answer.json()["error"]["field"] == field, answer.text
    answer = client.patch(f"/api/v1/bot/intents/{refund}", headers=INTEGRATION, json={"answers": {"it": 5}})
    assert answer.status_code == 422 and answer.json()["error"]["field"].startswith("answers")
    bad_file = "intents:\n  - name: refund\n    automation: auto\n  - name: b\n    examples: ['ok', {text: ''}]\n"
    answer = client.post("/api/v1/bot/intents/import", headers=INTEGRATION, content=bad_file)
    assert answer.status_code == 400 and answer.json()["error"]["field"] == "intents[1].examples[1]"
    after = client.get(f"/api/v1/bot/intents/{refund}", headers=INTEGRATION).json()
    assert after["automation"] == "suggest" and after["threshold"] == 0.5
    assert len(client.get("/api/v1/bot/intents", headers=INTEGRATION).json()) == 4
    assert client.post("/api/v1/bot/flows", headers=INTEGRATION,
                       json={"source": "name: f\nsteps:\n  - {id: a, kind: ask}\n"}).json()["error"]["field"] \
        .startswith("steps[0]")
    assert client.post(f"/api/v1/bot/intents/{refund}/examples", headers=INTEGRATION,
                       json={"text": " "}).json()["error"]["field"] == "text"


def test_service_secrets_are_write_only(client, services):
    secret = "Bearer very-secret-token-123"
    created = client.post("/api/v1/bot/services", headers=INTEGRATION, json={
        "name": "orders", "url": "https://shop.example/orders/{{ number }}", "auth_header": "Authorization",
        "auth_secret": secret, "response_mapping": {"status": "status"}})
    assert created.status_code == 201 and created.json()["has_secret"] is True
    service_id = created.json()["id"]
    answers = [created, client.get("/api/v1/bot/services", headers=INTEGRATION),
               client.get(f"/api/v1/bot/services/{service_id}", headers=INTEGRATION),
               client.patch(f"/api/v1/bot/services/{service_id}", headers=INTEGRATION, json={"timeout_s": 2})]
    for answer in answers:
        assert answer.status_code in (200, 201)
        assert "very-secret" not in answer.text and "auth_secret" not in answer.text
    with services.engine.connect() as conn:
        assert "very-secret" not in conn.execute(select(bot_services.c.auth_secret)).scalar_one()
    assert answers[-1].json()["has_secret"] is True
    bad = client.patch(f"/api/v1/bot/services/{service_id}", headers=INTEGRATION, json={"url": "nope"})
    assert (bad.status_code, bad.json()["error"]["field"]) == (400, "url")


def test_examples_and_candidates_come_in_pages(client, services):
    intents = _imported(client)
    path = f"/api/v1/bot/intents/{intents['greeting']['id']}/examples"
    first = client.get(path, headers=INTEGRATION, params={"limit": 10}).json()
    rest = client.get(path, headers=INTEGRATION, params={"limit": 10, "cursor": first["next"]}).json()
    assert len(first["items"]) == 10 and len(rest["items"]) == 6 and rest["next"] is None
    assert {e["split"] for e in first["items"] + rest["items"]} <= {"train", "eval"}
    for n in range(3):
        candidate(services, f"frase {n}", predicted=None, wa_id=f"39347000000{n}")
    page = client.get("/api/v1/bot/candidates", headers=INTEGRATION, params={"limit": 2}).json()
    assert len(page["items"]) == 2 and page["next"]
    assert len(client.get("/api/v1/bot/candidates", headers=INTEGRATION,
                          params={"limit": 2, "cursor": page["next"]}).json()["items"]) == 1
    assert client.get("/api/v1/bot/candidates", headers=INTEGRATION,
                      params={"cursor": "garbage"}).json()["error"]["field"] == "cursor"


def test_train_activate_rollback_and_report(client):
    _imported(client)
    first = client.post("/api/v1/bot/models/train", headers=INTEGRATION).json()
    assert (first["version"], first["state"]) == (1, "active")
    assert client.post("/api/v1/bot/models/train", headers=INTEGRATION).json()["state"] == "active"
    versions = client.post("/api/v1/bot/models/rollback", headers=INTEGRATION).json()
    assert [(v["version"], v["state"]) for v in versions] == [(2, "retired"), (1, "active")]
    assert "blob" not in versions[0] and "eval" not in versions[0]["metrics"]
    versions = client.post("/api/v1/bot/models/2/activate", headers=INTEGRATION).json()
    assert versions[0]["state"] == "active"
    assert client.post("/api/v1/bot/models/9/activate", headers=INTEGRATION).status_code == 404
    report = client.get("/api/v1/bot/report", headers=INTEGRATION).json()
    assert report["version"] == 2 and set(report["intents"]) == {"order_status", "refund", "opening_hours",
                                                                 "greeting"}
    exported = client.get("/api/v1/bot/intents/export", headers=INTEGRATION, params={"format": "json"})
    assert exported.headers["content-type"].startswith("application/json") and "order_status" in exported.text


def test_desk_pages(client, org, services):
    _imported(client)
    client.post("/api/v1/bot/models/train", headers=INTEGRATION)
    client.post("/api/v1/bot/flows", headers=INTEGRATION, json={"source": (
        "name: saluto\nsteps:\n  - {id: fine, kind: end, answer: {it: 'Ciao <b>{{ nome }}</b>'}}\n")})
    found = candidate(services, "<script>alert(1)</script> ordine?", predicted="order_status")
    sign_in(client, "supervisor")
    for path, wanted in (("/desk/bot/intents", "order_status"), ("/desk/bot/models", "v1"),
                         ("/desk/bot/flows", "saluto"), ("/desk/bot/services", "bot_admin.js"),
                         ("/desk/bot/candidates", "&lt;script&gt;")):
        page = client.get(path)
        assert page.status_code == 200 and wanted in page.text, path
        assert "<script>alert" not in page.text
    with services.engine.connect() as conn:
        intent_id = conn.execute(select(func.min(bot_intents.c.id))).scalar_one()
    assert "Precision" in client.get(f"/desk/bot/intents/{intent_id}").text or \
        "Precisione" in client.get(f"/desk/bot/intents/{intent_id}").text
    flow_page = client.get("/desk/bot/flows/1")
    assert "&lt;b&gt;" in flow_page.text and "<b>{{" not in flow_page.text
    sign_in(client, "agent_care")
    assert client.get("/desk/bot/intents").status_code == 404
    assert str(found) in client.get("/desk/bot/candidates").text
    assert client.get("/desk/bot", follow_redirects=False).headers["location"] == "/desk/bot/candidates"


def test_the_bot_is_turned_on_per_channel(client, org, services):
    listed = client.get("/api/v1/bot/channels", headers=INTEGRATION).json()
    assert {c["channel_id"] for c in listed} == {org.care_channel, org.sales_channel}
    assert all(c["enabled"] is False for c in listed)
    path = f"/api/v1/bot/channels/{org.care_channel}"
    on = client.patch(path, headers=INTEGRATION, json={"enabled": True, "rephrase_limit": 2,
                                                        "texts": {"handoff": {"it": "Arriva un collega."}}})
    assert on.status_code == 200, on.text
    assert (on.json()["enabled"], on.json()["rephrase_limit"]) == (True, 2)
    assert services.bot.channels.get(org.care_channel)["texts"] == {"handoff": {"it": "Arriva un collega."}}
    for body, field in (({"rephrase_limit": 9}, "rephrase_limit"), ({"texts": {"hello": {"it": "x"}}}, "texts.hello"),
                        ({"colour": "red"}, "colour")):
        bad = client.patch(path, headers=INTEGRATION, json=body)
        assert bad.status_code in (400, 422) and bad.json()["error"]["field"] == field, bad.text
    assert services.bot.channels.get(org.care_channel)["rephrase_limit"] == 2
    sign_in(client, "supervisor")
    page = client.get("/desk/bot/channels")
    assert page.status_code == 200 and "Arriva un collega." in page.text
    agent = sign_in(client, "agent_care")
    assert client.patch(path, headers=agent, json={"enabled": False}).status_code == 403
    assert client.get("/api/v1/bot/channels", headers=agent).status_code == 403
    assert services.bot.channels.get(org.care_channel)["enabled"] is True

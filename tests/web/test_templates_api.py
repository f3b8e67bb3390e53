"""The template API over HTTP: drafts with lint problems, list filters and pagination, detail with history
and languages, and the refusals (agents may read but not write; bad input changes nothing)."""

from __future__ import annotations

import copy

import pytest

from centralino.storage.tables_templates import templates
from tests.access_helpers import PASSWORD, cheap_hashing
from tests.helpers import rows

INTEGRATION = {"Authorization": "Bearer demo-token"}
DRAFT = {
    "name": "order_ready", "language": "it", "category": "utility", "account_id": "102290129340398",
    "components": [{"type": "BODY", "text": "Ciao {{1}}, il tuo ordine è pronto nel negozio di via Roma.",
                    "example": {"body_text": [["Giulia"]]}}],
}


@pytest.fixture
def settings(settings):
    return cheap_hashing(settings)


def csrf_of(client, who: str) -> dict[str, str]:
    answer = client.post("/api/v1/auth/sign-in", json={"email": f"{who}@example.com", "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"X-CSRF-Token": answer.json()["csrf_token"]}


@pytest.mark.parametrize("method, path", [
    ("post", "/api/v1/templates"), ("patch", "/api/v1/templates/1"), ("post", "/api/v1/templates/lint"),
    ("post", "/api/v1/templates/1/submit"), ("post", "/api/v1/templates/sync"), ("delete", "/api/v1/templates/1"),
])
def test_agents_may_not_write_templates(client, org, services, method, path):
    created = client.post("/api/v1/templates", headers=INTEGRATION, json=DRAFT)
    assert created.status_code == 201 and created.json()["template"]["id"] == 1
    before = rows(services, templates)
    csrf = csrf_of(client, "agent_care")
    body = {"json": copy.deepcopy(DRAFT) | {"name": "other"}} if method in ("post", "patch") else {}
    refused = getattr(client, method)(path, headers=csrf, **body)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "template.forbidden"
    assert rows(services, templates) == before
    assert client.get("/api/v1/templates", headers=csrf).json()["items"][0]["name"] == "order_ready"


def test_a_supervisor_saves_a_draft_with_its_lint_problems_and_edits_it(client, org):
    csrf = csrf_of(client, "supervisor")
    bad = copy.deepcopy(DRAFT)
    bad["components"][0]["text"] = "{{1}}, il tuo ordine è pronto"
    saved = client.post("/api/v1/templates", headers=csrf, json=bad)
    assert saved.status_code == 201, saved.text
    problems = saved.json()["problems"]
    assert problems and all(p["field"].startswith("components[0]") for p in problems)
    template_id = saved.json()["template"]["id"]
    assert saved.json()["template"]["status"] == "draft"
    linted = client.post("/api/v1/templates/lint", headers=csrf, json=DRAFT)
    assert linted.status_code == 200 and linted.json() == []
    edited = client.patch(f"/api/v1/templates/{template_id}", headers=csrf, json={"components": DRAFT["components"]})
    assert edited.status_code == 200 and edited.json()["problems"] == []
    detail = client.get(f"/api/v1/templates/{template_id}", headers=csrf).json()
    assert [h["kind"] for h in detail["history"]] == ["created", "edited"]
    assert detail["history"][0]["actor"] == f"user:{org.supervisor}"
    assert detail["languages"] == [{"id": template_id, "language": "it", "status": "draft"}]
    refused = client.post(f"/api/v1/templates/{template_id}/submit", headers=csrf)
    # the channel's Graph API is not reachable in this test: nothing changes, a 502 says to retry
    assert refused.status_code == 502 and refused.json()["error"]["code"] == "graph.unavailable"
    assert client.get(f"/api/v1/templates/{template_id}", headers=csrf).json()["status"] == "draft"


def test_bad_input_is_refused_with_the_field_and_changes_nothing(client, org, services):
    for body, field in (({**DRAFT, "name": ""}, "name"), ({**DRAFT, "components": "x"}, "components"),
                        ({**DRAFT, "account_id": "999"}, "account_id"), ([1, 2], None)):
        refused = client.post("/api/v1/templates", headers=INTEGRATION, json=body)
        assert refused.status_code in (400, 404, 422), refused.text
        assert refused.json()["error"].get("field") == field
    assert rows(services, templates) == []
    assert client.post("/api/v1/templates", headers=INTEGRATION, json=DRAFT).status_code == 201
    again = client.post("/api/v1/templates", headers=INTEGRATION, json=DRAFT)
    assert again.status_code == 409 and again.json()["error"]["code"] == "template.exists"


def test_list_filters_and_pages(client, org):
    for index, (category, language) in enumerate([("utility", "it"), ("marketing", "it"), ("utility", "en_US"),
                                                  ("utility", "it"), ("marketing", "en_US")]):
        body = copy.deepcopy(DRAFT) | {"name": f"promo_{index}" if category == "marketing" else f"order_{index}",
                                       "category": category, "language": language}
        assert client.post("/api/v1/templates", headers=INTEGRATION, json=body).status_code == 201
    seen, cursor = [], None
    while True:
        page = client.get("/api/v1/templates", headers=INTEGRATION,
                          params={"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        seen += [t["name"] for t in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ["order_0", "order_2", "order_3", "promo_1", "promo_4"]
    only = client.get("/api/v1/templates", headers=INTEGRATION,
                      params={"category": "marketing", "language": "en_US"}).json()["items"]
    assert [t["name"] for t in only] == ["promo_4"]
    assert [t["name"] for t in client.get("/api/v1/templates", headers=INTEGRATION,
                                          params={"q": "ORDER_3"}).json()["items"]] == ["order_3"]
    assert client.get("/api/v1/templates", headers=INTEGRATION, params={"status": "approved,paused"}).json()[
        "items"] == []
    assert client.get("/api/v1/templates", headers=INTEGRATION, params={"cursor": "nope"}).status_code == 400

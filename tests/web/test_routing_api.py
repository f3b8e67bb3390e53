"""The routing API: queues and rules validated on save (422 naming the field), skills/capacity/presence, queue
items, decline, and who may do what."""

from __future__ import annotations

from starlette.testclient import TestClient

from centralino.demo_access import SETUP
from centralino.domain.access import TokenScope
from centralino.services import Services
from tests.routing_helpers import build_center

ADMIN = {"Authorization": "Bearer demo-token"}


def bearer(services: Services, user_id: int) -> dict[str, str]:
    token = services.admin.do_create_token(SETUP, "t", scopes=[TokenScope.READ, TokenScope.WRITE],
                                           owner_user_id=user_id)
    return {"Authorization": f"Bearer {token.secret}"}


def test_configure_route_and_decline_over_http(client: TestClient, services: Services) -> None:
    center = build_center(services)
    bad = client.post("/api/v1/routing/queues", headers=ADMIN, json={
        "name": "mutui", "department_id": center.department_id,
        "relaxation": [{"after_s": 60, "min_level": 2}, {"after_s": 10, "min_level": 1}]})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "relaxation[1].after_s"
    made = client.post("/api/v1/routing/queues", headers=ADMIN, json={
        "name": "mutui", "department_id": center.department_id, "priority": 3,
        "required_skills": [{"skill": "product:mortgages", "min_level": 3}], "offer_timeout_s": 60})
    assert made.status_code == 201, made.text
    queue_id = made.json()["id"]
    bad_rule = client.post("/api/v1/routing/rules", headers=ADMIN,
                           json={"name": "r", "queue_id": queue_id, "conditions": {"tags_any": "vip"}})
    assert bad_rule.status_code == 422 and bad_rule.json()["error"]["field"] == "conditions.tags_any"
    assert client.get("/api/v1/routing/rules", headers=ADMIN).json() == []
    rule = client.post("/api/v1/routing/rules", headers=ADMIN,
                       json={"name": "r", "queue_id": queue_id, "conditions": {"keywords_any": ["mutuo"]}})
    assert rule.status_code == 201

    agent = center.agent("ugo", {}, online=False)
    me = bearer(services, agent)
    skills = client.put(f"/api/v1/routing/agents/{agent}/skills", headers=ADMIN,
                        json={"skills": [{"skill": "product:mortgages", "level": 9}]})
    assert skills.status_code == 422 and skills.json()["error"]["field"] == "skills[0].level"
    assert client.put(f"/api/v1/routing/agents/{agent}/skills", headers=me,
                      json={"skills": [{"skill": "product:mortgages", "level": 4}]}).status_code == 403
    assert client.put(f"/api/v1/routing/agents/{agent}/skills", headers=ADMIN,
                      json={"skills": [{"skill": "product:mortgages", "level": 4}]}).status_code == 200
    assert client.put(f"/api/v1/routing/agents/{agent}/capacity", headers=ADMIN,
                      json={"capacity": {"whatsapp": 3}}).json()["capacity"] == {"whatsapp": {"max": 3, "active": 0}}
    assert client.post("/api/v1/routing/queues", headers=me, json={"name": "x"}).status_code == 403
    online = client.put(f"/api/v1/routing/agents/{agent}/presence", headers=me, json={"state": "online"})
    assert online.status_code == 200 and online.json()["presence"]["state"] == "online"

    conversation = center.customer_writes("un mutuo per favore")
    waiting = client.get(f"/api/v1/routing/queues/{queue_id}/items?state=waiting", headers=ADMIN).json()
    assert [i["conversation_id"] for i in waiting] == [conversation]
    listed = client.get("/api/v1/routing/queues", headers=ADMIN).json()
    assert [(q["name"], q["waiting"]) for q in listed] == [("mutui", 1)]
    assert center.route() == 1
    assert client.get("/api/v1/routing/agents/me", headers=me).json()["capacity"]["whatsapp"]["active"] == 1
    assert client.post(f"/api/v1/routing/conversations/{conversation}/decline", headers=me).status_code == 204
    assert client.post(f"/api/v1/routing/conversations/{conversation}/decline", headers=me).status_code == 409
    item = client.get(f"/api/v1/routing/queues/{queue_id}/items", headers=ADMIN).json()[0]
    assert (item["state"], item["excluded_user_ids"]) == ("waiting", [agent])
    assert client.delete(f"/api/v1/routing/queues/{queue_id}", headers=ADMIN).status_code == 409

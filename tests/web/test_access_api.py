"""The access API over HTTP: sign-in cookie and CSRF, bearer tokens, visibility on the conversation and
sending routes, administration (admins only) and the audit log."""

from __future__ import annotations

import pytest

from centralino.storage.tables import api_tokens, audit_log, department_channels, sessions, users
from tests.access_helpers import PASSWORD, cheap_hashing
from tests.helpers import rows

INTEGRATION = {"Authorization": "Bearer demo-token"}


@pytest.fixture
def settings(settings):
    return cheap_hashing(settings).model_copy(update={"sign_in_max_failures": 3})


def sign_in(client, who: str, password: str = PASSWORD):
    return client.post("/api/v1/auth/sign-in", json={"email": f"{who}@example.com", "password": password})


def csrf_of(client, who: str) -> dict[str, str]:
    answer = sign_in(client, who)
    assert answer.status_code == 200, answer.text
    return {"X-CSRF-Token": answer.json()["csrf_token"]}


def test_sign_in_sets_a_secure_http_only_lax_cookie_and_me_answers(client, org):
    answer = sign_in(client, "agent_care")
    assert answer.status_code == 200
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("centralino_session=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain http and no setting: a Secure cookie would never come back
    assert answer.json()["user"]["email"] == "agent_care@example.com" and answer.json()["csrf_token"]
    me = client.get("/api/v1/auth/me").json()
    assert (me["user"]["id"], me["role"], me["via"], me["department_ids"]) == (
        org.agent_care, "agent", "session", [org.care])
    assert me["csrf_token"] == answer.json()["csrf_token"]


def test_the_cookie_is_secure_over_https_or_when_configured(client, org, services):
    https = client.post("https://testserver/api/v1/auth/sign-in",
                        json={"email": "agent_care@example.com", "password": PASSWORD})
    assert "Secure" in https.headers["set-cookie"]
    services.settings = services.settings.model_copy(update={"session_cookie_secure": True})
    client.app.state.services.settings = services.settings
    assert "Secure" in sign_in(client, "agent_care").headers["set-cookie"]


def test_wrong_password_and_unknown_email_look_the_same_and_failures_are_throttled(client, org, services):
    wrong = sign_in(client, "agent_care", "not the password")
    unknown = sign_in(client, "nobody", PASSWORD)
    assert wrong.status_code == unknown.status_code == 401 and wrong.json() == unknown.json()
    assert "set-cookie" not in wrong.headers
    sign_in(client, "agent_care", "still not it")
    sign_in(client, "agent_care", "nor this")
    throttled = sign_in(client, "agent_care")  # right password, too late
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) > 0
    assert throttled.json()["error"]["code"] == "auth.too_many_attempts"
    assert rows(services, sessions) == []
    actions = [r["action"] for r in rows(services, audit_log, audit_log.c.action.like("auth.%"), order_by=audit_log.c.id)]
    assert actions == ["auth.sign_in_failed"] * 4 + ["auth.sign_in_throttled"]
    assert all(r["ip"] == "testclient" for r in rows(services, audit_log, audit_log.c.action.like("auth.%")))


def test_cookie_requests_need_the_csrf_header_for_unsafe_methods_bearer_requests_do_not(client, org, services):
    csrf = csrf_of(client, "admin")
    assert client.get("/api/v1/users").status_code == 200  # safe method: no token needed
    body = {"name": "Resi"}
    missing = client.post("/api/v1/departments", json=body)
    assert missing.status_code == 403 and missing.json()["error"]["code"] == "auth.csrf"
    wrong = client.post("/api/v1/departments", json=body, headers={"X-CSRF-Token": "guess"})
    assert wrong.status_code == 403
    assert [d["name"] for d in client.get("/api/v1/departments").json()] == ["Care", "Sales"]
    assert client.post("/api/v1/departments", json=body, headers=csrf).status_code == 201
    client.cookies.clear()
    assert client.post("/api/v1/departments", json={"name": "Bearer"}, headers=INTEGRATION).status_code == 201


def test_sign_out_ends_the_session(client, org, services):
    csrf = csrf_of(client, "agent_care")
    assert client.post("/api/v1/auth/sign-out").status_code == 403  # CSRF applies here too
    assert client.post("/api/v1/auth/sign-out", headers=csrf).status_code == 204
    assert rows(services, sessions) == []
    assert client.get("/api/v1/auth/me").status_code == 401


def test_an_agent_sees_only_their_departments_and_assigned_conversations(client, org):
    csrf = csrf_of(client, "agent_care")
    listed = {c["id"] for c in client.get("/api/v1/conversations").json()["items"]}
    assert listed == {org.care_conversation, org.assigned_conversation}
    outside = client.get(f"/api/v1/conversations/{org.sales_conversation}")
    missing = client.get("/api/v1/conversations/999999")
    assert outside.status_code == missing.status_code == 404
    assert outside.json()["error"]["code"] == missing.json()["error"]["code"] == "not_found"
    assert client.get(f"/api/v1/conversations/{org.sales_conversation}/messages").status_code == 404
    assert client.get(f"/api/v1/conversations/{org.assigned_conversation}/messages").status_code == 200
    send = {"type": "text", "text": {"body": "ciao"}}
    assert client.post(f"/api/v1/conversations/{org.sales_conversation}/messages", json=send,
                       headers=csrf).status_code == 404
    assert client.post(f"/api/v1/conversations/{org.sales_conversation}/read", headers=csrf).status_code == 404
    sent = client.post(f"/api/v1/conversations/{org.care_conversation}/messages", json=send, headers=csrf)
    assert sent.status_code == 202 and sent.json()["origin"] == f"agent:{org.agent_care}"
    contacts = client.get("/api/v1/contacts").json()["items"]
    assert len(contacts) == 2  # the customers of the conversations they see
    other = client.get(f"/api/v1/conversations/{org.sales_conversation}", headers=INTEGRATION).json()
    assert client.get(f"/api/v1/contacts/{other['contact_id']}").status_code == 404


def test_a_supervisor_sees_their_departments_and_an_admin_sees_all(client, org):
    sign_in(client, "supervisor")
    assert {c["id"] for c in client.get("/api/v1/conversations").json()["items"]} == {
        org.care_conversation, org.assigned_conversation}
    sign_in(client, "admin")
    assert len(client.get("/api/v1/conversations").json()["items"]) == 3


@pytest.mark.parametrize("method, path", [
    ("get", "/api/v1/users"), ("post", "/api/v1/users"), ("patch", "/api/v1/users/1"),
    ("get", "/api/v1/departments"), ("post", "/api/v1/departments"), ("patch", "/api/v1/departments/1"),
    ("get", "/api/v1/api-tokens"), ("post", "/api/v1/api-tokens"), ("delete", "/api/v1/api-tokens/1"),
    ("get", "/api/v1/audit"),
])
def test_administration_is_forbidden_to_agents(client, org, method, path):
    csrf = csrf_of(client, "agent_care")
    body = {"json": {"name": "x", "email": "x@example.com", "display_name": "x", "role": "agent"}} \
        if method in ("post", "patch") else {}
    refused = getattr(client, method)(path, headers=csrf, **body)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"


def test_admins_manage_users_and_departments_and_every_change_is_audited(client, org, services):
    csrf = csrf_of(client, "admin")
    created = client.post("/api/v1/users", headers=csrf, json={
        "email": "Luca@Example.com", "display_name": "Luca", "role": "agent", "password": "a long password",
        "language": "en", "department_ids": [org.sales]})
    assert created.status_code == 201, created.text
    luca = created.json()
    assert (luca["email"], luca["department_ids"], luca["language"]) == ("luca@example.com", [org.sales], "en")
    assert "password" not in created.text and "argon2" not in created.text
    short = client.post("/api/v1/users", headers=csrf, json={
        "email": "x@example.com", "display_name": "X", "role": "agent", "password": "short"})
    assert short.status_code == 400 and short.json()["error"]["field"] == "password"
    patched = client.patch(f"/api/v1/users/{luca['id']}", headers=csrf, json={"role": "supervisor", "active": False})
    assert patched.status_code == 200 and (patched.json()["role"], patched.json()["active"]) == ("supervisor", False)
    department = client.patch(f"/api/v1/departments/{org.sales}", headers=csrf,
                              json={"member_ids": [org.agent_sales, luca["id"]], "channel_ids": [org.care_channel]})
    assert department.status_code == 200 and department.json()["channel_ids"] == [org.care_channel]
    assert {r["channel_id"] for r in rows(services, department_channels,
                                          department_channels.c.department_id == org.sales,
                                          order_by=department_channels.c.channel_id)} == {org.care_channel}
    assert rows(services, users, users.c.email == "luca@example.com")[0]["role"] == "supervisor"
    audit = client.get("/api/v1/audit", params={"limit": 3}).json()
    assert [e["action"] for e in audit["items"]] == ["department.updated", "user.updated", "user.created"]
    assert audit["items"][2]["actor"] == f"user:{org.admin}" and audit["next_cursor"]
    assert audit["items"][1]["details"] == {"role": "supervisor", "active": False}


def test_api_tokens_are_shown_once_scoped_and_revocable(client, org, services):
    csrf = csrf_of(client, "admin")
    created = client.post("/api/v1/api-tokens", headers=csrf,
                          json={"name": "CRM", "scopes": ["read"], "owner_user_id": org.agent_sales})
    assert created.status_code == 201
    token = created.json()["token"]
    assert token.startswith("cnt_") and token not in client.get("/api/v1/api-tokens").text
    assert token not in str(rows(services, api_tokens))
    client.cookies.clear()
    bearer = {"Authorization": f"Bearer {token}"}
    assert {c["id"] for c in client.get("/api/v1/conversations", headers=bearer).json()["items"]} == {
        org.sales_conversation, org.assigned_conversation}
    read_only = client.post(f"/api/v1/conversations/{org.sales_conversation}/read", headers=bearer)
    assert read_only.status_code == 403 and read_only.json()["error"]["code"] == "auth.scope"
    assert client.get("/api/v1/users", headers=bearer).status_code == 403  # the owner is an agent
    token_id = created.json()["id"]
    assert client.delete(f"/api/v1/api-tokens/{token_id}", headers=INTEGRATION).status_code == 204
    assert client.get("/api/v1/conversations", headers=bearer).status_code == 401


def test_the_configured_integration_token_is_an_administrator(client, org):
    me = client.get("/api/v1/auth/me", headers=INTEGRATION).json()
    assert (me["user"], me["role"], me["via"]) == (None, "admin", "integration")
    assert len(client.get("/api/v1/conversations", headers=INTEGRATION).json()["items"]) == 3

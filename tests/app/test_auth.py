"""Sign-in, password hashing, rate limiting, sessions, API tokens and visibility filters (use cases)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from centralino.app.auth import AccessPolicy, AuthService, SignInThrottled, secret_digest
from centralino.app.passwords import Passwords
from centralino.app.visibility import check_conversation_visible
from centralino.demo_access import SETUP
from centralino.domain.access import Principal, Role, TokenScope, may_see_conversation
from centralino.errors import Conflict, Forbidden, NotFound, Unauthenticated
from centralino.storage import queries
from centralino.storage.tables import api_tokens, audit_log, conversations, sessions, sign_in_attempts, users
from centralino.storage.visibility import conversation_scope, visible_conversations
from tests.access_helpers import PASSWORD, build_org, cheap_hashing
from tests.helpers import rows

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.fixture
def settings(settings):
    return cheap_hashing(settings)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def auth(services, clock):
    policy = AccessPolicy(session_lifetime=timedelta(hours=12), session_idle_timeout=timedelta(hours=2),
                          sign_in_max_failures=3, sign_in_window=timedelta(minutes=15))
    return AuthService(services.engine, services.auth.passwords, services.bus, policy=policy,
                       integration_token="integration-token-for-tests", clock=clock)


@pytest.fixture
def org(services):
    return build_org(services)


def test_passwords_are_argon2id_and_rehashed_at_sign_in_when_the_parameters_change(services, org, auth):
    stored = rows(services, users, users.c.id == org.agent_care)[0]["password_hash"]
    assert stored.startswith("$argon2id$") and "m=1024,t=1" in stored and PASSWORD not in stored
    stronger = AuthService(services.engine, Passwords(time_cost=2, memory_kib=2048), services.bus)
    stronger.do_sign_in("agent_care@example.com", PASSWORD, ip="10.0.0.1", user_agent=None)
    rehashed = rows(services, users, users.c.id == org.agent_care)[0]["password_hash"]
    assert "m=2048,t=2" in rehashed and rehashed != stored
    assert rows(services, audit_log, audit_log.c.action == "auth.sign_in")[-1]["details"] == {"rehashed": True}
    auth.do_sign_in("agent_care@example.com", PASSWORD, ip="10.0.0.1", user_agent=None)  # old cost still verifies


def test_unknown_email_wrong_password_and_inactive_user_get_the_same_answer(services, org, auth):
    answers = []
    for email, password in (("agent_care@example.com", "wrong password"), ("nobody@example.com", PASSWORD)):
        with pytest.raises(Unauthenticated) as refused:
            auth.do_sign_in(email, password, ip="10.0.0.1", user_agent=None)
        answers.append(refused.value.to_dict())
    services.admin.do_update_user(SETUP, org.agent_sales, {"active": False})
    with pytest.raises(Unauthenticated) as refused:
        auth.do_sign_in("agent_sales@example.com", PASSWORD, ip="10.0.0.1", user_agent=None)
    answers.append(refused.value.to_dict())
    assert answers[0] == answers[1] == answers[2]
    failed = rows(services, audit_log, audit_log.c.action == "auth.sign_in_failed", order_by=audit_log.c.id)
    assert [f["details"]["email"] for f in failed] == ["agent_care@example.com", "nobody@example.com",
                                                       "agent_sales@example.com"]
    assert rows(services, sessions) == []


def test_sign_in_is_case_insensitive_and_stores_only_the_session_hash(services, org, auth):
    signed_in = auth.do_sign_in("  Agent_Care@Example.COM", PASSWORD, ip="10.0.0.1", user_agent="pytest")
    assert signed_in.user["id"] == org.agent_care and signed_in.user["department_ids"] == [org.care]
    (row,) = rows(services, sessions)
    assert row["id"] == secret_digest(signed_in.session_cookie) and row["id"] != signed_in.session_cookie
    assert (row["user_id"], row["csrf_token"], row["ip"], row["user_agent"]) == (
        org.agent_care, signed_in.csrf_token, "10.0.0.1", "pytest")
    assert row["expires_at"] == T0 + timedelta(hours=12)


def test_too_many_failures_per_email_and_ip_are_throttled_with_retry_after_and_audited(services, org, auth, clock):
    for minute in range(3):
        clock.now = T0 + timedelta(minutes=minute)
        with pytest.raises(Unauthenticated):
            auth.do_sign_in("agent_care@example.com", "wrong", ip="10.0.0.1", user_agent=None)
    clock.now = T0 + timedelta(minutes=5)
    with pytest.raises(SignInThrottled) as throttled:  # even with the right password
        auth.do_sign_in("agent_care@example.com", PASSWORD, ip="10.0.0.1", user_agent=None)
    assert throttled.value.status == 429 and throttled.value.retry_after_s == 10 * 60  # the first failure + 15 min
    auth.do_sign_in("agent_care@example.com", PASSWORD, ip="10.0.0.2", user_agent=None)  # another address is fine
    clock.now = T0 + timedelta(minutes=15, seconds=1)  # the first failure left the window
    auth.do_sign_in("agent_care@example.com", PASSWORD, ip="10.0.0.1", user_agent=None)
    actions = [r["action"] for r in rows(services, audit_log, audit_log.c.action.like("auth.%"), order_by=audit_log.c.id)]
    assert actions == ["auth.sign_in_failed"] * 3 + ["auth.sign_in_throttled", "auth.sign_in", "auth.sign_in"]
    assert len(rows(services, sign_in_attempts, sign_in_attempts.c.succeeded.is_(False))) >= 1


def test_sessions_slide_with_use_end_when_idle_or_at_their_lifetime(services, org, auth, clock):
    cookie = auth.do_sign_in("agent_care@example.com", PASSWORD, ip="10.0.0.1", user_agent=None).session_cookie
    for hours in (1.5, 3, 4.5, 6, 7.5, 9, 10.5):  # used every 1.5 h: idle never reaches 2 h
        clock.now = T0 + timedelta(hours=hours)
        principal = auth.principal_for_session(cookie)
        assert principal is not None and principal.user_id == org.agent_care
        assert principal.department_ids == {org.care} and principal.role is Role.AGENT
    clock.now = T0 + timedelta(hours=12)  # the absolute lifetime does not slide
    assert auth.principal_for_session(cookie) is None and rows(services, sessions) == []
    clock.now = T0
    idle = auth.do_sign_in("agent_care@example.com", PASSWORD, ip="10.0.0.1", user_agent=None).session_cookie
    clock.now = T0 + timedelta(hours=2)
    assert auth.principal_for_session(idle) is None
    assert auth.principal_for_session("made-up") is None


def test_deactivating_or_changing_the_password_ends_sessions(services, org, auth):
    cookie = auth.do_sign_in("agent_care@example.com", PASSWORD, ip="10.0.0.1", user_agent=None).session_cookie
    services.admin.do_update_user(SETUP, org.agent_care, {"password": "another long password"})
    assert auth.principal_for_session(cookie) is None


def test_api_tokens_are_hashed_at_rest_act_as_their_owner_and_stop_when_revoked(services, org, auth):
    admin = Principal(Role.ADMIN, user_id=org.admin)
    created = services.admin.do_create_token(admin, "CRM", scopes=[TokenScope.READ], owner_user_id=org.agent_sales)
    (row,) = rows(services, api_tokens)
    assert row["token_hash"] == secret_digest(created.secret) and created.secret not in str(row)
    assert row["prefix"] == created.secret[:12] and row["scopes"] == ["read"]
    principal = auth.principal_for_token(created.secret)
    assert principal is not None and (principal.user_id, principal.role, principal.via) == (
        org.agent_sales, Role.AGENT, "api_token")
    assert principal.department_ids == {org.sales} and principal.scopes == {TokenScope.READ}
    assert rows(services, api_tokens)[0]["last_used_at"] == T0
    services.admin.do_revoke_token(admin, int(row["id"]))
    assert auth.principal_for_token(created.secret) is None
    assert auth.principal_for_token("cnt_made-up") is None
    integration = auth.principal_for_token("integration-token-for-tests")
    assert integration is not None and integration.is_admin and integration.user_id is None
    actions = [r["action"] for r in rows(services, audit_log, audit_log.c.action.like("api_token.%"))]
    assert actions == ["api_token.created", "api_token.revoked"]


def test_only_admins_administer_and_they_cannot_lock_themselves_out(services, org):
    supervisor = Principal(Role.SUPERVISOR, user_id=org.supervisor, department_ids=frozenset({org.care}))
    with pytest.raises(Forbidden):
        services.admin.do_create_department(supervisor, "Shadow IT")
    with pytest.raises(Forbidden):
        services.admin.do_update_user(supervisor, org.supervisor, {"role": Role.ADMIN})
    admin = Principal(Role.ADMIN, user_id=org.admin)
    with pytest.raises(Conflict):
        services.admin.do_update_user(admin, org.admin, {"active": False})
    with pytest.raises(Conflict):
        services.admin.do_create_user(admin, email="AGENT_CARE@example.com", display_name="dup", role=Role.AGENT,
                                      password=PASSWORD)
    assert rows(services, users, users.c.role == Role.ADMIN.value)[0]["active"] is True


def _principal(org, who: str) -> Principal:
    return {
        "admin": Principal(Role.ADMIN, user_id=org.admin),
        "supervisor": Principal(Role.SUPERVISOR, user_id=org.supervisor, department_ids=frozenset({org.care})),
        "agent_care": Principal(Role.AGENT, user_id=org.agent_care, department_ids=frozenset({org.care})),
        "agent_sales": Principal(Role.AGENT, user_id=org.agent_sales, department_ids=frozenset({org.sales})),
        "nobody": Principal(Role.AGENT, user_id=999_999),
    }[who]


@pytest.mark.parametrize("who, expected", [
    ("admin", {"care", "sales", "assigned"}),
    ("supervisor", {"care", "assigned"}),  # assigned to a member of their department
    ("agent_care", {"care", "assigned"}),  # assigned to them, on another department's channel
    ("agent_sales", {"sales", "assigned"}),
    ("nobody", set()),
])
def test_the_sql_filter_and_the_domain_rule_agree(services, org, who, expected):
    principal = _principal(org, who)
    names = {org.care_conversation: "care", org.sales_conversation: "sales", org.assigned_conversation: "assigned"}
    with services.engine.connect() as conn:
        listed, _ = queries.list_conversations(conn, channel_id=None, status=None, contact_id=None, limit=50,
                                               cursor=None, visible=visible_conversations(principal))
        by_rule = {names[int(cid)] for cid in conn.execute(select(conversations.c.id)).scalars()
                   if may_see_conversation(principal, conversation_scope(conn, int(cid)))}
        for cid, name in names.items():
            if name in expected:
                check_conversation_visible(conn, principal, cid)
            else:
                with pytest.raises(NotFound):
                    check_conversation_visible(conn, principal, cid)
    assert {names[int(c["id"])] for c in listed} == by_rule == expected


def test_a_conversation_routed_to_a_department_leaves_the_channels_department(services, org):
    from sqlalchemy import update
    with services.engine.begin() as conn:
        conn.execute(update(conversations).where(conversations.c.id == org.care_conversation)
                     .values(department_id=org.sales))
        sales_sees = {int(c["id"]) for c in queries.list_conversations(
            conn, channel_id=None, status=None, contact_id=None, limit=50, cursor=None,
            visible=visible_conversations(_principal(org, "agent_sales")))[0]}
        care_sees = {int(c["id"]) for c in queries.list_conversations(
            conn, channel_id=None, status=None, contact_id=None, limit=50, cursor=None,
            visible=visible_conversations(_principal(org, "agent_care")))[0]}
    assert org.care_conversation in sales_sees and org.care_conversation not in care_sees

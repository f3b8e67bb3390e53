"""The demo's users and departments: created once, able to sign in, never in production."""

from __future__ import annotations

import pytest

from centralino.config import Mode
from centralino.demo import ensure_demo_channel
from centralino.demo_access import DEMO_USERS, ensure_demo_users
from centralino.storage import users as user_repo
from centralino.storage.tables import audit_log, users
from tests.access_helpers import cheap_hashing
from tests.helpers import count


@pytest.fixture
def settings(settings):
    return cheap_hashing(settings)


def test_demo_users_and_departments_are_created_once_and_sign_in(services):
    ensure_demo_channel(services.engine, services.box, "http://127.0.0.1:8000/simulator")
    assert ensure_demo_users(services) is True
    assert ensure_demo_users(services) is False
    assert count(services, users) == 4 and count(services, audit_log, audit_log.c.action == "user.created") == 4
    with services.engine.connect() as conn:
        departments = {d["name"]: d for d in user_repo.list_departments(conn)}
        giulia = user_repo.user_by_email(conn, "giulia.agent@demo.centralino.dev")
    assert len(departments["Assistenza clienti"]["channel_ids"]) == 1 and departments["Vendite"]["channel_ids"] == []
    assert giulia is not None and giulia["id"] in departments["Assistenza clienti"]["member_ids"]
    for user in DEMO_USERS:
        signed_in = services.auth.do_sign_in(user.email, user.password, ip="127.0.0.1", user_agent=None)
        assert signed_in.user["role"] == user.role.value


def test_demo_users_are_never_created_in_production(services):
    services.settings = services.settings.model_copy(update={"mode": Mode.PRODUCTION})
    with pytest.raises(RuntimeError):
        ensure_demo_users(services)
    assert count(services, users) == 0

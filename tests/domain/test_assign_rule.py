"""Who may assign a conversation to whom (domain.access.may_assign)."""

from __future__ import annotations

import pytest

from centralino.domain.access import Principal, Role, may_assign

AGENT = Principal(Role.AGENT, 1)
SUPERVISOR = Principal(Role.SUPERVISOR, 2)
INTEGRATION = Principal(Role.ADMIN, None, via="integration")


@pytest.mark.parametrize(("principal", "to", "current", "allowed"), [
    (AGENT, 1, None, True),  # take an unassigned one
    (AGENT, 1, 1, True),  # already mine
    (AGENT, None, 1, True),  # give mine back
    (AGENT, 1, 7, False),  # take someone else's
    (AGENT, 7, None, False),  # give to someone else
    (AGENT, None, 7, False),  # unassign someone else's
    (SUPERVISOR, 7, 9, True),  # transfer
    (SUPERVISOR, None, 9, True),
    (INTEGRATION, 7, None, True),
])
def test_may_assign(principal, to, current, allowed):
    assert may_assign(principal, to, current) is allowed

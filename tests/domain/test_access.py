"""Visibility and token scopes as pure rules."""

from __future__ import annotations

from centralino.domain.access import (
    ConversationScope,
    Principal,
    Role,
    TokenScope,
    may_see_conversation,
    may_use_method,
    normalise_email,
)

AGENT_A = Principal(Role.AGENT, user_id=1, department_ids=frozenset({10}))
SUPERVISOR_A = Principal(Role.SUPERVISOR, user_id=2, department_ids=frozenset({10}))
ADMIN = Principal(Role.ADMIN, user_id=3)


def test_agents_see_their_departments_channels_and_what_is_assigned_to_them():
    on_a = ConversationScope(None, frozenset({10}), None)
    on_b = ConversationScope(None, frozenset({20}), None)
    on_b_assigned_to_me = ConversationScope(None, frozenset({20}), 1)
    on_a_routed_to_b = ConversationScope(20, frozenset({10}), None)
    on_b_routed_to_a = ConversationScope(10, frozenset({20}), None)
    assert may_see_conversation(AGENT_A, on_a)
    assert not may_see_conversation(AGENT_A, on_b)
    assert may_see_conversation(AGENT_A, on_b_assigned_to_me)
    assert not may_see_conversation(AGENT_A, on_a_routed_to_b)  # the explicit department wins
    assert may_see_conversation(AGENT_A, on_b_routed_to_a)


def test_supervisors_also_see_what_their_departments_members_hold_and_admins_see_all():
    held_elsewhere_by_a_member = ConversationScope(None, frozenset({20}), 99, frozenset({10}))
    assert may_see_conversation(SUPERVISOR_A, held_elsewhere_by_a_member)
    assert not may_see_conversation(AGENT_A, held_elsewhere_by_a_member)
    nobody = ConversationScope(None, frozenset(), None)
    assert may_see_conversation(ADMIN, nobody) and not may_see_conversation(SUPERVISOR_A, nobody)


def test_read_only_tokens_may_only_use_safe_methods():
    reader = Principal(Role.ADMIN, user_id=1, via="api_token", scopes=frozenset({TokenScope.READ}))
    assert may_use_method(reader, "GET") and not may_use_method(reader, "POST")
    assert may_use_method(ADMIN, "DELETE")


def test_emails_compare_case_insensitively():
    assert normalise_email("  Giulia.Agent@Demo.Centralino.DEV ") == "giulia.agent@demo.centralino.dev"

"""Which events become timeline entries and what an entry keeps: ids, statuses, from/to — never free text."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from centralino.domain.timeline import CASE_EVENTS, EVENT_TYPES, GROUPS, KINDS, draft_for

AT = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def test_every_kind_is_in_exactly_one_group_and_every_case_kind_has_its_event():
    grouped = [k for kinds in GROUPS.values() for k in kinds]
    assert sorted(grouped) == sorted(KINDS) and len(set(grouped)) == len(grouped)
    assert set(CASE_EVENTS.values()) == {k for k in KINDS if k.startswith(("case_", "task_"))}
    assert set(CASE_EVENTS) <= EVENT_TYPES


@pytest.mark.parametrize(("status", "kind"), [("resolved", "conversation_resolved"), ("open", "conversation_reopened"),
                                              ("snoozed", "conversation_snoozed"), ("pending", None)])
def test_conversation_status_changes(status, kind):
    draft = draft_for("conversation.status_changed", {"conversation_id": 3, "status": status, "previous": "open",
                                                      "actor": "user:1"}, AT)
    assert (draft.kind if draft else None) == kind


def test_only_a_failure_among_the_ticks_is_shown():
    for status in ("accepted", "sent", "delivered", "read"):
        assert draft_for("message.status_changed", {"message_id": 1, "status": status}, AT) is None
    failed = draft_for("message.status_changed", {"message_id": 1, "channel_id": 2, "status": "failed",
                                                  "previous": "sent", "error_code": 131026}, AT)
    assert (failed.kind, failed.message_id, failed.summary) == ("delivery_failed", 1,
                                                                {"previous": "sent", "error_code": 131026})


def test_case_events_keep_ids_and_statuses_never_free_text():
    draft = draft_for("case.status_changed", {
        "case_id": 7, "contact_id": 3, "number": "C-2026-000007", "from": "new", "to": "in_progress",
        "note": "il cliente ha chiamato arrabbiato", "actor": "user:2"}, AT)
    assert draft.kind == "case_status_changed" and draft.case_id == 7 and draft.contact_id == 3
    assert draft.summary == {"case_id": 7, "number": "C-2026-000007", "from": "new", "to": "in_progress"}
    updated = draft_for("case.updated", {"case_id": 7, "contact_id": 3, "changes": {"title": "Segreto", "due_at": "x"},
                                         "actor": "user:2"}, AT)
    assert updated.summary == {"case_id": 7, "fields": ["due_at", "title"]}
    created = draft_for("task.created", {"case_id": 7, "contact_id": 3, "task_id": 9, "title": "Chiamare Anna",
                                         "status": "open", "actor": "user:2"}, AT)
    assert created.summary == {"case_id": 7, "task_id": 9, "status": "open"} and created.ref == "task:9"
    long_value = draft_for("case.assigned", {"case_id": 7, "contact_id": 3, "kind": "x" * 65}, AT)
    assert "kind" not in long_value.summary  # a long string is not an id or a status


def test_events_the_timeline_does_not_show():
    for event_type in ("agent.presence_changed", "template.updated", "desk.presence", "case_type.saved"):
        assert draft_for(event_type, {"actor": "user:1"}, AT) is None

"""The one-off backfill: what happened before the timeline existed becomes entries (from the messages and the
event log), in order, without doubling what the live writer already recorded; running it again adds nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from centralino.app.timeline_backfill import TimelineBackfill
from centralino.domain.access import Role
from centralino.domain.consent import Action, Purpose, Source
from centralino.domain.enums import ConversationStatus
from centralino.domain.outbound import Text
from centralino.storage.tables import conversations
from tests.factories import whatsapp_channel
from tests.helpers import rows
from tests.timeline_helpers import ADMIN, contact_of, customer_writes, entries, story


def test_backfill_builds_the_story_that_predates_the_timeline_once(services):
    channel_id = whatsapp_channel(services)
    user = services.admin.do_create_user(ADMIN, email="anna@example.com", display_name="Anna", role=Role.AGENT,
                                         password="correct horse battery", department_ids=[])
    writer = services.timeline.on_commit
    services.bus.before_commit_listeners.remove(writer)  # as before the timeline existed
    customer_writes(services, "ciao", "ci siete?")
    contact_id = contact_of(services)
    [conversation] = rows(services, conversations)
    conversation_id = int(conversation["id"])
    services.desk.do_add_note(ADMIN, conversation_id, "nota")
    services.desk.do_assign(ADMIN, conversation_id, int(user["id"]))
    services.outbound.do_send(conversation_id, Text("eccomi"), origin="api")
    services.consent.do_record(ADMIN, contact_id, purpose=Purpose.MARKETING, action=Action.OPT_IN,
                               source=Source.API, channel_id=channel_id)
    services.desk.do_set_status(ADMIN, conversation_id, ConversationStatus.RESOLVED)
    assert entries(services) == []
    services.bus.before_commit_listeners.append(writer)  # the timeline is live from here on
    customer_writes(services, "di nuovo io")  # a live message (and the reopen) already have their entries
    assert [e["kind"] for e in entries(services)] == ["conversation_reopened", "message_in"]

    backfill = TimelineBackfill(services.engine, lambda: datetime.now(UTC))
    report = backfill.run(chunk=2)  # small chunks: the loop's edges are crossed many times
    assert (report.messages, report.events) == (4, 3)
    assert report.skipped_events == 1  # the live reopen, found in the event log too

    told = [(e["kind"], e["message"]["text"] if e["message"] else None) for e in reversed(story(services, contact_id))]
    assert told == [("message_in", "ciao"), ("message_in", "ci siete?"), ("note", "nota"),
                    ("conversation_assigned", None), ("message_out", "eccomi"), ("consent", None),
                    ("conversation_resolved", None), ("conversation_reopened", None), ("message_in", "di nuovo io")]
    assert {e["contact_id"] for e in entries(services)} == {contact_id}
    assert {e["channel_kind"] for e in entries(services) if e["kind"] != "consent"} == {"whatsapp"}

    again = backfill.run()
    assert (again.messages, again.events) == (0, 0) and len(entries(services)) == 9

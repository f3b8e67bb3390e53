"""`centralino timeline-backfill`: entries for messages that predate the timeline, once."""

from __future__ import annotations

from tests.factories import whatsapp_channel
from tests.test_cli import run
from tests.timeline_helpers import customer_writes, entries


def test_the_backfill_command_adds_what_is_missing_and_nothing_twice(services, db_url, tmp_path):
    whatsapp_channel(services)
    writer = services.timeline.on_commit
    services.bus.before_commit_listeners.remove(writer)  # messages from before the timeline
    customer_writes(services, "uno", "due", "tre")
    services.bus.before_commit_listeners.append(writer)
    assert entries(services) == []

    first = run(["timeline-backfill", "--chunk", "2"], db_url, tmp_path)
    assert first.returncode == 0, first.stderr
    assert "3 message entries" in first.stdout
    assert [e["kind"] for e in entries(services)] == ["message_in"] * 3
    again = run(["timeline-backfill"], db_url, tmp_path)
    assert again.returncode == 0 and "0 message entries, 0 event entries" in again.stdout
    assert len(entries(services)) == 3

"""Same end state whatever the delivery order and however often each delivery repeats."""

from __future__ import annotations

import importlib.util
import random
import threading
from pathlib import Path
from types import ModuleType

from sqlalchemy import delete, text

import centralino.storage
from centralino.simulator import payloads
from centralino.storage.tables import messages, metadata, status_history, webhook_deliveries
from tests.factories import PNID, WABA, both_channels, fixture_bytes, outbound_message
from tests.helpers import count, snapshot, store

# Deliveries whose relative order matters if the pipeline were naive: statuses read before
# delivered, a reaction and its removal, a reply before the message it quotes is known, a BSUID-only
# contact before the message that reveals its phone, the same messages re-batched differently.
DELIVERIES = [
    "statuses_sent.json", "statuses_delivered.json", "statuses_read.json", "statuses_failed.json",
    "statuses_played.json", "statuses_unknown_status.json", "messages_reaction.json",
    "messages_reaction_removed.json", "messages_text_reply.json", "messages_bsuid_only.json",
    "messages_bsuid_and_wa_id.json", "messages_text.json", "messages_batch_many_senders.json",
    "messages_system_number_changed.json", "messages_image.json", "user_preferences_stop.json",
]


def rebatched() -> bytes:
    """Two messages of the batch file delivered again, re-batched into a different POST."""
    batch = payloads.loads(fixture_bytes("messages_batch_many_senders.json"))
    value = batch["entry"][0]["changes"][0]["value"]
    again = payloads.envelope(WABA, PNID, "15550783881", contacts=value["contacts"], messages=value["messages"][1:])
    return payloads.encode(again)


def reset(services) -> None:
    """Every table empty but channels. The append-only tables (timeline, audit log) refuse DELETE by trigger:
    PostgreSQL's TRUNCATE does not fire row triggers; on SQLite the triggers are lifted for the reset."""
    tables = [t for t in reversed(metadata.sorted_tables) if t.name != "channels"]
    with services.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(t.name for t in tables)))
            return
        guards = _append_only_guards()
        for sql in guards.SQLITE_DOWN:
            conn.exec_driver_sql(sql)
        for table in tables:
            conn.execute(delete(table))
        for sql in guards.SQLITE_UP:
            conn.exec_driver_sql(sql)


def _append_only_guards() -> ModuleType:
    """The migration that installs the append-only triggers (its SQLITE_UP / SQLITE_DOWN)."""
    path = Path(centralino.storage.__file__).parent / "migrations" / "versions" / "0014_timeline.py"
    spec = importlib.util.spec_from_file_location("migration_0014_timeline", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_once(services, order: list[bytes], batch: int = 100, batched: bool = True) -> dict:
    reset(services)
    services.delivery_worker.batch = batch  # how many deliveries share one transaction
    services.delivery_worker.batched = batched  # set-based path, or event by event
    for name in ("wamid.OUTBOUND0001", "wamid.OUTBOUND0002", "wamid.OUTBOUND0003"):
        outbound_message(services, name)
    for body in order:
        store(services, body)
    services.delivery_worker.drain()
    return snapshot(services)


def test_end_state_is_independent_of_order_and_repetition(services):
    both_channels(services)
    bodies = [fixture_bytes(n) for n in DELIVERIES] + [rebatched()]
    expected = run_once(services, bodies, batched=False)
    assert len(expected["messages"]) == 17  # 3 outbound + 14 distinct inbound
    assert expected["deliveries_pending"] == 0
    rng = random.Random(20261125)
    for batch, batched in [(100, True), (1, True), (3, True), (7, True), (100, True), (2, False), (5, True)]:
        order = bodies + rng.sample(bodies, k=len(bodies) // 2)  # some delivered twice
        rng.shuffle(order)
        assert run_once(services, order, batch, batched) == expected, (batch, batched)


def test_a_thousand_updates_in_one_delivery(services, recorder):
    both_channels(services)
    senders = [f"3934700{i:05d}" for i in range(100)]
    for i in range(100):
        outbound_message(services, f"wamid.OUT{i:04d}", wa_id=senders[i])
    contacts_ = [payloads.contact(wa, f"Customer {n}") for n, wa in enumerate(senders)]
    msgs = [payloads.text(senders[i % 100], f"message {i}", 1790000000 + i, f"wamid.IN{i:05d}") for i in range(700)]
    statuses = [payloads.status(f"wamid.OUT{i % 100:04d}", ("sent", "delivered", "read")[i // 100], senders[i % 100],
                                1790000000 + i) for i in range(300)]
    body = payloads.encode(payloads.envelope(WABA, PNID, "15550783881", contacts=contacts_, messages=msgs,
                                             statuses=statuses))
    store(services, body)
    services.delivery_worker.drain()
    assert count(services, messages, messages.c.direction == "in") == 700
    assert count(services, messages, messages.c.status == "read") == 100
    assert count(services, status_history) == 300
    assert recorder.types().count("message.received") == 700
    assert count(services, webhook_deliveries, webhook_deliveries.c.state == "processed") == 1


def test_a_failing_delivery_is_retried_later_not_lost(services, monkeypatch):
    both_channels(services)
    store(services, fixture_bytes("messages_text.json"))
    real = services.processor.do_apply
    calls = {"n": 0}

    def flaky(event, delivery_id=None):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database went away")
        return real(event, delivery_id)

    def broken_batch(items, delivery_ids):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services.processor, "do_apply", flaky)
    monkeypatch.setattr(services.delivery_worker.applier, "do_apply", broken_batch)
    # the claim-and-apply round fails the same way (and falls back to the careful path)
    monkeypatch.setattr(services.delivery_worker.applier, "apply_in",
                        lambda uow, items, delivery_ids: broken_batch(items, delivery_ids))
    assert services.delivery_worker.run_once() == 1
    [delivery] = __import__("tests.helpers", fromlist=["rows"]).rows(services, webhook_deliveries)
    assert delivery["state"] == "pending" and "database went away" in delivery["error"]
    assert services.delivery_worker.run_once() == 0  # backing off: not due yet
    from sqlalchemy import update

    with services.engine.begin() as conn:  # time passes
        conn.execute(update(webhook_deliveries).values(claimed_until=None))
    services.delivery_worker.drain()
    assert count(services, messages) == 1
    assert count(services, webhook_deliveries, webhook_deliveries.c.state == "processed") == 1


def test_concurrent_workers_never_double_or_lose(services):
    both_channels(services)
    senders = [f"3934711{i:05d}" for i in range(20)]
    bodies = []
    for d in range(60):
        # Every delivery touches several of the same 20 senders, some new and some repeated messages.
        msgs = [payloads.text(senders[(d + k) % 20], f"d{d} k{k}", 1790000000 + d * 10 + k, f"wamid.C{(d * 3 + k) % 150}")
                for k in range(5)]
        bodies.append(payloads.encode(payloads.envelope(
            WABA, PNID, "15550783881", contacts=[payloads.contact(s, s) for s in senders], messages=msgs)))
    store(services, *bodies)
    worker = services.delivery_worker
    worker.batch = 3
    errors: list[BaseException] = []

    def drain() -> None:
        try:
            worker.drain()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=drain) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert count(services, messages) == 150
    from centralino.storage.tables import contacts, conversations

    assert count(services, contacts) == 20 and count(services, conversations) == 20
    assert count(services, webhook_deliveries, webhook_deliveries.c.state == "processed") == 60


def _racing_round(uow, items, delivery_ids):
    """The claim-and-apply round meets a race: it rolls back and the careful path takes the deliveries."""
    from centralino.app.inbound_batch import ConcurrentChange

    raise ConcurrentChange("contact created by another worker")


def test_a_failed_claim_and_apply_round_rolls_its_claim_back(services, monkeypatch):
    both_channels(services)
    store(services, fixture_bytes("messages_text.json"))
    monkeypatch.setattr(services.delivery_worker.applier, "apply_in", _racing_round)
    assert services.delivery_worker.run_once() == 1  # taken again by the careful path, and applied
    [delivery] = __import__("tests.helpers", fromlist=["rows"]).rows(services, webhook_deliveries)
    assert delivery["state"] == "processed"
    assert delivery["attempts"] == 1  # the failed round's claim left no trace
    assert count(services, messages) == 1


def test_a_common_round_claims_applies_and_commits_once(services):
    from sqlalchemy import event

    both_channels(services)
    store(services, fixture_bytes("messages_batch_many_senders.json"), fixture_bytes("messages_text.json"))
    commits = []
    event.listen(services.engine, "commit", lambda conn: commits.append(1))
    assert services.delivery_worker.run_once() == 2
    assert len(commits) == 1
    assert count(services, webhook_deliveries, webhook_deliveries.c.state == "processed") == 2


def test_the_round_commits_without_waiting_for_the_wal_flush_on_postgresql(services, monkeypatch):
    both_channels(services)
    store(services, fixture_bytes("messages_text.json"))
    real_round = services.delivery_worker.applier.apply_in
    seen = []

    def watched(uow, items, delivery_ids):
        if uow.conn.dialect.name == "postgresql":
            seen.append(uow.conn.exec_driver_sql("SHOW synchronous_commit").scalar())
        else:
            seen.append("n/a")
        return real_round(uow, items, delivery_ids)

    monkeypatch.setattr(services.delivery_worker.applier, "apply_in", watched)
    assert services.delivery_worker.run_once() == 1
    assert seen == (["off"] if services.engine.dialect.name == "postgresql" else ["n/a"])
    with services.engine.connect() as conn:  # only that transaction: the setting was LOCAL
        if conn.dialect.name == "postgresql":
            assert conn.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"
    assert count(services, webhook_deliveries, webhook_deliveries.c.state == "processed") == 1


def test_a_batch_that_raced_another_worker_is_applied_again_set_based(services, monkeypatch):
    from centralino.app.inbound_batch import ConcurrentChange

    both_channels(services)
    store(services, fixture_bytes("messages_batch_many_senders.json"), fixture_bytes("messages_text.json"))
    real = services.delivery_worker.applier.do_apply
    calls = {"batch": 0, "single": 0}

    def races_once(items, delivery_ids):
        calls["batch"] += 1
        if calls["batch"] == 1:
            raise ConcurrentChange("contact created by another worker")
        return real(items, delivery_ids)

    def counted_single(event, delivery_id=None):
        calls["single"] += 1
        raise AssertionError("must not fall back to event by event after one race")

    real_round = services.delivery_worker.applier.apply_in
    rounds = {"n": 0}

    def round_races_first(uow, items, delivery_ids):  # the claim-and-apply round races; do_apply's own doesn't
        rounds["n"] += 1
        if rounds["n"] == 1:
            _racing_round(uow, items, delivery_ids)
        return real_round(uow, items, delivery_ids)

    monkeypatch.setattr(services.delivery_worker.applier, "do_apply", races_once)
    monkeypatch.setattr(services.delivery_worker.applier, "apply_in", round_races_first)
    monkeypatch.setattr(services.processor, "do_apply", counted_single)
    assert services.delivery_worker.run_once() == 2
    assert calls == {"batch": 2, "single": 0}
    assert count(services, webhook_deliveries, webhook_deliveries.c.state == "processed") == 2
    assert count(services, messages) > 1


def test_a_batch_that_keeps_racing_falls_back_to_event_by_event(services, monkeypatch):
    from centralino.app.inbound_batch import ConcurrentChange

    both_channels(services)
    store(services, fixture_bytes("messages_text.json"))

    def always_races(items, delivery_ids):
        raise ConcurrentChange("contact created by another worker")

    monkeypatch.setattr(services.delivery_worker.applier, "do_apply", always_races)
    monkeypatch.setattr(services.delivery_worker.applier, "apply_in", _racing_round)
    assert services.delivery_worker.run_once() == 1
    assert count(services, messages) == 1
    assert count(services, webhook_deliveries, webhook_deliveries.c.state == "processed") == 1

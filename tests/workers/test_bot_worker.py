"""The bot worker (SQLite and PostgreSQL): turns are taken with a lease, never by two workers at once and one at
a time per conversation; a worker that dies lets its lease lapse and the turn is answered once by another; a
pending turn survives a restart; failures are retried, then handed off; the loop is woken by the commit."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import timedelta

import pytest

from centralino.app.bot import LeaseLost
from centralino.services import build_services
from centralino.storage.tables_bot import bot_sessions
from centralino.storage.tables_routing import routing_items
from centralino.workers.bot import BotLoop
from tests.bot_runtime_helpers import BotCenter, build_bot_center
from tests.helpers import rows


@pytest.fixture
def bc(services) -> BotCenter:
    return build_bot_center(services)


def test_a_turn_is_taken_by_one_worker_and_a_conversation_one_turn_at_a_time(bc):
    wa_id = "393472220001"
    first = bc.writes("a che ora aprite?", wa_id=wa_id)
    bc.writes("e la domenica?", wa_id=wa_id)
    second = bc.writes("what time do you open?")
    runtime = bc.bot.runtime
    taken = runtime.claim("A")
    assert len(taken) == 2  # the oldest turn of each conversation
    assert {t["conversation_id"] for t in bc.turns(first) + bc.turns(second) if t["id"] in taken} == {first, second}
    assert runtime.claim("B") == []  # leased to A; the later turn waits for the earlier one
    for turn_id in taken:
        runtime.process(turn_id, "A")
    later = runtime.claim("B")
    assert [t["id"] for t in bc.turns(first)][1:] == later
    runtime.process(later[0], "B")
    assert bc.decisions(first)[0] == "answered" and [t["state"] for t in bc.turns(first)] == ["done", "done"]


def test_concurrent_claims_never_share_a_turn(bc):
    for n in range(12):
        bc.writes("a che ora aprite?", wa_id=f"3934722201{n:02d}")
    results: dict[str, list[int]] = {}
    barrier = threading.Barrier(3)

    def claim(holder: str) -> None:
        barrier.wait()
        results[holder] = bc.bot.runtime.claim(holder, 5)

    threads = [threading.Thread(target=claim, args=(h,)) for h in "ABC"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [i for ids in results.values() for i in ids]
    assert len(everything) == len(set(everything)) == 12


def test_a_dead_workers_turn_is_answered_once_by_another_after_its_lease(bc, monkeypatch):
    conversation = bc.writes("a che ora aprite?")
    runtime = bc.bot.runtime
    [turn_id] = runtime.claim("slow")
    assert runtime.claim("other") == []  # leased
    real_clock, real_decide = runtime.clock, runtime.decide

    def stalls(*args, **kwargs):
        # the "slow" worker hangs past its lease: another worker takes the turn over and answers it
        monkeypatch.setattr(runtime, "decide", real_decide)
        runtime.clock = lambda: real_clock() + runtime.settings.lease + timedelta(seconds=1)
        assert runtime.claim("other") == [turn_id]
        runtime.process(turn_id, "other")
        return real_decide(*args, **kwargs)

    monkeypatch.setattr(runtime, "decide", stalls)
    with pytest.raises(LeaseLost):  # the slow worker's decision is dropped: only the lease holder records
        runtime._process(turn_id, "slow")
    [turn] = bc.turns(conversation)
    assert (turn["decision"], turn["attempts"], turn["claimed_by"]) == ("answered", 2, "other")
    assert len(bc.said(conversation)) == 1
    runtime.process(turn_id, "slow")  # and once more, the way the worker calls it: nothing happens
    assert len(bc.said(conversation)) == 1


def test_a_pending_turn_survives_a_restart(bc, settings):
    conversation = bc.writes("a che ora aprite?")  # stored with its turn; nobody answered before the "crash"
    bc.services.dispose()
    restarted = build_services(settings, migrate=False)
    try:
        assert restarted.bot is not None
        restarted.bot.models.encoder = "tfidf"
        assert restarted.bot.runtime.run_once("after-restart") == 1
        assert restarted.bot.runtime.run_once("after-restart") == 0
    finally:
        restarted.dispose()
    assert bc.decisions(conversation) == ["answered"] and len(bc.said(conversation)) == 1


def test_a_failing_turn_is_retried_then_failed_and_handed_off(bc, monkeypatch):
    conversation = bc.writes("a che ora aprite?")
    runtime = bc.bot.runtime

    def broken(*_args, **_kwargs):
        raise RuntimeError("the model exploded")

    monkeypatch.setattr(runtime, "decide", broken)
    real_clock = runtime.clock
    for attempt in range(1, runtime.settings.max_attempts + 1):
        runtime.clock = lambda attempt=attempt: real_clock() + timedelta(seconds=10 * attempt)  # past the pause
        [turn_id] = runtime.claim("W")
        runtime.process(turn_id, "W")
        [turn] = bc.turns(conversation)
        assert turn["attempts"] == attempt and "the model exploded" in turn["error"]
    assert (turn["state"], turn["decision"]) == ("failed", "handoff")
    [held] = rows(bc.services, bot_sessions, order_by=bot_sessions.c.conversation_id)
    assert (held["state"], held["summary"]["reason"]) == ("handed_off", "failed")
    assert [i["state"] for i in rows(bc.services, routing_items)] == ["waiting"]
    runtime.clock = lambda: real_clock() + timedelta(hours=1)
    assert runtime.claim("W") == []


def test_the_loop_is_woken_by_the_commit_and_answers(bc):
    async def scenario() -> list[str | None]:
        loop = BotLoop(bc.bot.runtime, bc.services.bus, poll_s=30.0)  # the sweep would be too late: the wake-up
        task = asyncio.create_task(loop.run_forever())
        await asyncio.sleep(0.1)
        conversation = await asyncio.to_thread(bc.writes, "a che ora aprite?")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and bc.decisions(conversation) != ["answered"]:
            await asyncio.sleep(0.05)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return bc.decisions(conversation)

    assert asyncio.run(scenario()) == ["answered"]


def test_the_sweep_hands_over_held_conversations_whose_queue_opened(bc):
    """Out of hours (tests/app/test_bot_out_of_hours.py): the loop's sweep calls release_held, at most every
    poll_s."""
    conversation = bc.writes("a che ora aprite?")
    bc.answer()
    with bc.services.engine.begin() as conn:  # as if a closed queue had handed it over until a moment ago
        conn.execute(bot_sessions.update().where(bot_sessions.c.conversation_id == conversation)
                     .values(held_until=bc.bot.runtime.clock() - timedelta(seconds=1)))
    loop = BotLoop(bc.bot.runtime, bc.services.bus, poll_s=3600)
    assert asyncio.run(loop.release_due()) == 1
    [session] = rows(bc.services, bot_sessions, bot_sessions.c.conversation_id == conversation,
                     order_by=bot_sessions.c.conversation_id)
    assert (session["state"], session["summary"]["reason"]) == ("handed_off", "queue_open")
    assert [i["state"] for i in rows(bc.services, routing_items, routing_items.c.conversation_id == conversation)] == [
        "waiting"]  # no item was waiting for it: the sweep queued it through routing
    assert asyncio.run(loop.release_due()) == 0  # not again before poll_s

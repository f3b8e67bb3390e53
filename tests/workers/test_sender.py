"""The sender against Meta's side over HTTP (the Graph API simulator on a 127.0.0.1 port, its signed
status webhooks arriving at our service): every type accepted, statuses moving the message to read,
permanent and transient errors, pacing (injected clock), and a crash mid-call reconciled, not resent.
Nothing here asserts on timing: waits are bounded polls on the expected state."""

from __future__ import annotations

import asyncio
import copy
import itertools
from collections.abc import Iterator

import pytest

from centralino.domain.outbound import Text
from centralino.domain.outbound_codec import parse_request
from centralino.domain.sending import callback_data
from centralino.storage.tables import messages, outbound_media_uploads, outbox, status_history
from tests.helpers import count, rows
from tests.meta_simulator import MetaSide
from tests.outbound_samples import VALID

GIULIA = "393471234567"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489")
PDF = b"%PDF-1.4\n% invoice 4711\n"
OGG = b"OggS\x00\x02" + b"\x00" * 40


@pytest.fixture
def meta_side(services) -> Iterator:
    made: list[MetaSide] = []

    def make(**options) -> MetaSide:
        side = MetaSide(services, **options)
        made.append(side)
        return side

    yield make
    for side in made:
        side.close()


def message(services, message_id: int) -> dict:
    return rows(services, messages, messages.c.id == message_id)[0]


def outbox_of(services, message_id: int) -> dict:
    return rows(services, outbox, outbox.c.message_id == message_id)[0]


def test_a_text_is_accepted_and_statuses_move_it_to_read(services, meta_side):
    meta = meta_side()
    conversation_id = meta.customer_writes(GIULIA)
    queued = services.outbound.do_send(conversation_id, Text("Your order ships today"))
    assert meta.run(meta.sender().drain()) == 1
    msg = message(services, queued.message_id)
    assert msg["external_id"].startswith("wamid.") and msg["status"] in ("accepted", "sent", "delivered", "read")
    assert outbox_of(services, queued.message_id)["state"] == "done"
    at_meta = meta.sim.state.messages[msg["external_id"]]
    assert at_meta.callback_data == callback_data(queued.message_id)  # on every send
    assert at_meta.payload["to"] == f"+{GIULIA}"
    meta.settle(lambda: message(services, queued.message_id)["status"] == "read", "the read receipt")
    history = [h["status"] for h in rows(services, status_history)]
    assert sorted(history) == ["delivered", "read", "sent"]


def test_every_content_type_is_accepted_by_the_graph_api(services, meta_side):
    meta = meta_side()
    conversation_id = meta.customer_writes(GIULIA)
    [inbound] = rows(services, messages, messages.c.direction == "in")
    uploads = {name: meta.api.post("/api/v1/media", files={"file": (name, data, mime)}).json()["id"]
               for name, data, mime in (("p.png", PNG, "image/png"), ("i.pdf", PDF, "application/pdf"),
                                        ("a.ogg", OGG, "audio/ogg"))}
    bodies = copy.deepcopy(VALID)
    bodies["image"]["image"]["media_id"] = uploads["p.png"]
    bodies["buttons"]["interactive"]["header"]["image"]["media_id"] = uploads["p.png"]
    bodies["document"]["document"]["media_id"] = uploads["i.pdf"]
    bodies["audio"]["audio"]["media_id"] = uploads["a.ogg"]
    bodies["reaction"]["reaction"]["message_id"] = inbound["id"]
    bodies["reply"] = {**VALID["text"], "reply_to": inbound["id"]}
    queued = {}
    for name, body in bodies.items():
        request = parse_request(body)
        queued[name] = services.outbound.do_send(conversation_id, request.content, reply_to=request.reply_to).message_id
    sent = meta.run(meta.sender(sender_pair_interval_s=0).drain())
    assert sent == len(bodies)
    for name, message_id in queued.items():
        msg = message(services, message_id)
        assert msg["external_id"], (name, outbox_of(services, message_id))
        assert msg["status"] != "failed", (name, msg["error_title"])
    # One upload per file and channel, reused by the two messages that show the PNG.
    assert count(services, outbound_media_uploads) == 3
    at_meta = {r.callback_data: r for r in meta.sim.state.messages.values()}
    reply = at_meta[callback_data(queued["reply"])]
    assert reply.context_id == inbound["external_id"]
    assert at_meta[callback_data(queued["reaction"])].payload["reaction"]["message_id"] == inbound["external_id"]
    assert meta.stats()["duplicates"] == {"callback_data": 0, "bodies": 0}
    # The files reached Meta byte for byte, sent by the media id Meta gave the upload.
    for name, data in (("image", PNG), ("document", PDF), ("audio", OGG)):
        media_id = at_meta[callback_data(queued[name])].payload[name]["id"]
        assert meta.sim.state.media[media_id].content == data, name


def test_a_permanent_refusal_fails_the_message_with_metas_code(services, meta_side):
    meta = meta_side()
    conversation_id = meta.customer_writes(GIULIA)
    queued = services.outbound.do_send(conversation_id, Text("hello"))
    meta.fault(131026)
    meta.run(meta.sender().drain())
    shown = meta.api.get(f"/api/v1/messages/{queued.message_id}").json()
    assert (shown["status"], shown["error_code"]) == ("failed", 131026)
    assert "131026" in shown["error_title"] and shown["delivery"]["state"] == "failed"
    assert meta.stats()["accepted"] == 0


def test_a_failure_reported_later_by_webhook_fails_the_accepted_message(services, meta_side):
    meta = meta_side()
    conversation_id = meta.customer_writes(GIULIA)
    queued = services.outbound.do_send(conversation_id, Text("hello"))
    meta.fault(131049, mode="async")
    meta.run(meta.sender().drain())
    assert outbox_of(services, queued.message_id)["state"] == "done"  # Meta accepted it
    meta.settle(lambda: message(services, queued.message_id)["status"] == "failed", "the failed status")
    assert message(services, queued.message_id)["error_code"] == 131049


def test_transient_refusals_are_retried_after_backoff_and_sent_once(services, meta_side):
    meta = meta_side()
    conversation_id = meta.customer_writes(GIULIA)
    queued = services.outbound.do_send(conversation_id, Text("hello"))
    clock = meta.clock
    sender = meta.sender(clock, sender_backoff_base_s=2.0, sender_pair_interval_s=0)
    meta.fault(130429)
    meta.run(sender.drain())
    row = outbox_of(services, queued.message_id)
    assert (row["state"], row["attempts"], row["last_error_code"]) == ("queued", 1, 130429)
    assert message(services, queued.message_id)["status"] == "queued"
    assert meta.run(sender.drain()) == 0  # waiting for its backoff
    meta.sim.state.fail_next = 1  # then a 500 from the Graph API
    clock.advance(2.0)
    meta.run(sender.drain())
    assert outbox_of(services, queued.message_id)["attempts"] == 2
    clock.advance(4.0)
    meta.run(sender.drain())
    assert outbox_of(services, queued.message_id)["state"] == "done"
    assert meta.stats()["accepted"] == 1


def test_the_rate_gives_slots_exactly_one_interval_apart(services, meta_side):
    meta = meta_side(config={"messages_per_second": 4})
    customers = [f"3934712300{i:02d}" for i in range(6)]
    conversations = [meta.customer_writes(wa) for wa in customers]
    for conversation_id in conversations:
        services.outbound.do_send(conversation_id, Text("hello"))
    clock = meta.clock
    start = clock.now
    sender = meta.sender(clock, sender_rate_margin=0.0)
    meta.run(sender.drain())  # at most rate * horizon (+1) slots fit this round
    started = sorted(r["attempt_started_at"].timestamp() - start for r in rows(services, outbox)
                     if r["attempt_started_at"] is not None)
    # The first now, then one every 1/rate s for as far as this round looks ahead (about a second).
    assert started[0] == pytest.approx(0.0, abs=1e-3) and len(started) >= 4
    assert [b - a for a, b in itertools.pairwise(started)] == pytest.approx([0.25] * (len(started) - 1), abs=1e-3)
    clock.advance(1.0)
    meta.run(sender.drain())
    assert count(services, outbox, outbox.c.state == "done") == 6
    assert meta.stats()["rate_violations"] == 0


def test_the_rate_keeps_its_margin_below_the_numbers_limit(services, meta_side):
    meta = meta_side(config={"messages_per_second": 4})
    for i in range(3):
        services.outbound.do_send(meta.customer_writes(f"3934712400{i:02d}"), Text("hello"))
    start = meta.clock.now
    meta.run(meta.sender(meta.clock, sender_rate_margin=0.2).drain())
    started = sorted(r["attempt_started_at"].timestamp() - start for r in rows(services, outbox))
    # 4/s less 20%: one every 1/3.2 s.
    assert [b - a for a, b in itertools.pairwise(started)] == pytest.approx([0.3125, 0.3125], abs=1e-3)


def test_a_number_meta_holds_below_its_configured_rate_is_slowed_down_and_everything_still_goes(
        services, meta_side):
    # Configured 20/s, but Meta holds the number at 4/s: most of the first second's sends are refused (130429).
    meta = meta_side(config={"messages_per_second": 20}, mps=4)
    ids = [services.outbound.do_send(meta.customer_writes(f"3934712500{i:02d}"), Text("hello")).message_id
           for i in range(20)]
    clock = meta.clock
    sender = meta.sender(clock, sender_rate_margin=0.0, sender_pair_interval_s=0, sender_backoff_base_s=1.0)
    meta.run(sender.drain())
    assert meta.stats()["accepted"] == 4
    assert sender.pacers[meta.channel_id].rate < 10  # paced at about what Meta accepted, not 20/s
    refused_first = meta.stats()["refused"]["130429"]
    for _ in range(40):
        clock.advance(1.0)
        meta.run(sender.drain())
    assert [outbox_of(services, i)["state"] for i in ids] == ["done"] * 20  # retried, none failed
    assert meta.stats()["accepted"] == 20
    # Once slowed, far fewer refusals than the first second's 16 per 20 sends.
    assert meta.stats()["refused"]["130429"] - refused_first < refused_first


def test_the_same_customer_gets_one_message_per_interval_the_rest_wait(services, meta_side):
    meta = meta_side()
    conversation_id = meta.customer_writes(GIULIA)
    ids = [services.outbound.do_send(conversation_id, Text(f"part {i}")).message_id for i in range(3)]
    clock = meta.clock
    start = clock.now
    sender = meta.sender(clock, sender_pair_interval_s=6.0)
    assert meta.run(sender.drain()) == 1
    waiting = [outbox_of(services, i) for i in ids[1:]]
    assert [w["state"] for w in waiting] == ["queued", "queued"]  # waiting, not failed
    assert [w["next_attempt_at"].timestamp() - start for w in waiting] == pytest.approx([6.0, 12.0], abs=1e-3)
    clock.advance(6.0)
    assert meta.run(sender.drain()) == 1
    clock.advance(6.0)
    assert meta.run(sender.drain()) == 1
    assert [message(services, i)["external_id"] is not None for i in ids] == [True, True, True]
    assert meta.stats()["pair_violations"] == 0


def test_a_crash_after_the_call_is_reconciled_from_the_webhook_and_never_resent(services, meta_side):
    meta = meta_side()
    conversation_id = meta.customer_writes(GIULIA)
    queued = services.outbound.do_send(conversation_id, Text("exactly once"))
    clock = meta.clock
    crashed = meta.sender(clock)

    async def send_then_die() -> None:
        # Claim (the attempt is committed in flight), make the call, die before recording the answer.
        [claim] = crashed._claim(crashed.directory.by_id(meta.channel_id).id, clock())
        outcome = await crashed._attempt(claim)
        assert outcome.external_id  # Meta accepted it

    meta.run(send_then_die())
    assert outbox_of(services, queued.message_id)["state"] == "sending"
    # Meta's `sent` webhook names our message in biz_opaque_callback_data: the send is recognised.
    meta.settle(lambda: message(services, queued.message_id)["external_id"], "the status webhook")
    assert outbox_of(services, queued.message_id)["state"] == "done"
    # A new sender after the lease and the reconciliation window: nothing to resend.
    clock.advance(services.settings.outbox_lease_s + services.settings.sender_reconcile_window_s + 1)
    assert meta.run(meta.sender(clock).drain()) == 0
    assert meta.stats()["accepted"] == 1 and meta.stats()["duplicates"]["callback_data"] == 0


def test_a_crash_before_the_call_is_resent_after_the_reconciliation_window(services, meta_side):
    meta = meta_side()
    conversation_id = meta.customer_writes(GIULIA)
    queued = services.outbound.do_send(conversation_id, Text("exactly once"))
    clock = meta.clock
    crashed = meta.sender(clock)
    crashed._claim(meta.channel_id, clock())  # in flight, then the process dies before calling Meta
    survivor = meta.sender(clock)
    clock.advance(services.settings.outbox_lease_s + 1)
    assert meta.run(survivor.drain()) == 0  # lapsed: waiting for a webhook that could name it
    assert outbox_of(services, queued.message_id)["state"] == "unconfirmed"
    clock.advance(services.settings.sender_reconcile_window_s)
    assert meta.run(survivor.drain()) == 1
    msg = message(services, queued.message_id)
    assert msg["external_id"] and outbox_of(services, queued.message_id)["attempts"] == 2
    assert meta.stats()["accepted"] == 1 and meta.stats()["duplicates"]["callback_data"] == 0


def test_read_receipts_reach_meta(services, meta_side):
    meta = meta_side()
    conversation_id = meta.customer_writes(GIULIA)
    services.outbound.do_mark_read(conversation_id)
    assert meta.run(meta.sender().drain()) == 1
    assert meta.stats()["marked_read"] == 1
    assert rows(services, outbox)[0]["state"] == "done"


def test_many_messages_each_sent_exactly_once(services, meta_side):
    meta = meta_side(config={"messages_per_second": 1000})
    customers = [f"44770090{i:04d}" for i in range(40)]
    conversations = [meta.customer_writes(wa) for wa in customers]
    for conversation_id in conversations:
        for i in range(3):
            services.outbound.do_send(conversation_id, Text(f"update {i}"))
    clock = meta.clock
    sender = meta.sender(clock, sender_pair_interval_s=6.0)
    for _ in range(3):
        meta.run(sender.drain())
        clock.advance(6.0)
    assert count(services, outbox, outbox.c.state == "done") == 120
    stats = meta.stats()
    assert stats["accepted"] == 120 and stats["duplicates"]["callback_data"] == 0
    assert stats["pair_violations"] == 0 and stats["rate_violations"] == 0
    assert len({m["external_id"] for m in rows(services, messages, messages.c.direction == "out")}) == 120


def test_nothing_more_is_claimed_while_sends_whose_slot_has_come_wait_for_a_connection(services, meta_side):
    """Backpressure: claims piling up behind a slow provider would outlive their attempt lease."""
    meta = meta_side(config={"messages_per_second": 10})
    conversation_id = meta.customer_writes(GIULIA)
    for n in range(25):
        services.outbound.do_send(conversation_id, Text(f"update {n}"))
    sender = meta.sender(meta.clock, sender_concurrency=1, sender_pair_interval_s=0, sender_rate_margin=0.0)
    provider_answers = asyncio.Event()
    attempt = sender._attempt

    async def slow_attempt(claim):
        await provider_answers.wait()
        return await attempt(claim)

    sender._attempt = slow_attempt
    first = meta.run(sender.run_once())
    assert first == 11  # rate x horizon (+1)
    meta.run(asyncio.sleep(0.05))  # one send holds the only connection, the other ten wait for it
    meta.clock.advance(1.1)  # the next second's slots are free, but ten sends are already late
    assert meta.run(sender.run_once()) == 0
    assert count(services, outbox, outbox.c.state == "sending") == 11
    provider_answers.set()
    meta.run(sender.settle())
    assert count(services, outbox, outbox.c.state == "done") == 11
    assert meta.run(sender.run_once()) == 11  # connections free again: claiming resumes
    meta.run(sender.settle())
    assert meta.stats()["accepted"] == 22

"""The webhook dispatcher: order within a lane, retries with backoff, bounded give-up that is counted."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json

import httpx

from centralino.simulator.config import WebhookRetry
from centralino.simulator.dispatcher import WebhookDispatcher, WebhookTarget
from centralino.simulator.signing import sign, verify

TARGET = WebhookTarget("http://product.test/webhooks/whatsapp", "secret")


def run(dispatcher: WebhookDispatcher, until, timeout: float = 5.0) -> None:
    async def scenario() -> None:
        dispatcher.start()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not until() and loop.time() < deadline:
            await asyncio.sleep(0.005)
        await dispatcher.stop()
    asyncio.run(scenario())


def test_posts_of_one_lane_arrive_in_order_signed():
    seen: list[tuple[str, bool]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = request.content
        seen.append((json.loads(body)["n"], verify(body, request.headers["x-hub-signature-256"], "secret")))
        return httpx.Response(200)

    dispatcher = WebhookDispatcher(WebhookRetry(), transport=httpx.MockTransport(handler))
    for n in range(50):
        dispatcher.post(TARGET, json.dumps({"n": str(n)}).encode(), lane="pnid:customer")
    run(dispatcher, lambda: len(seen) == 50)
    assert seen == [(str(n), True) for n in range(50)]
    assert dispatcher.summary()["delivered"] == 50


def test_failures_are_retried_then_given_up_after_the_bound_and_counted():
    attempts: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        attempts.append(request.content)
        return httpx.Response(503)

    dispatcher = WebhookDispatcher(WebhookRetry(first_delay=0.01, max_delay=0.04, give_up_after=0.2),
                                   transport=httpx.MockTransport(handler))
    dispatcher.post(TARGET, b"{}", lane="l")
    run(dispatcher, lambda: dispatcher.dropped == 1)
    assert dispatcher.dropped == 1 and dispatcher.delivered == 0 and len(attempts) >= 3
    assert set(attempts) == {b"{}"}  # the same bytes every time
    assert [entry.outcome for entry in dispatcher.log][-1] == "dropped"


def test_backoff_doubles_and_is_capped():
    retry = WebhookRetry(first_delay=1, max_delay=60)
    assert [retry.delay_after(n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]


def test_timed_actions_run_in_due_order_and_stop_leaves_pending_work_counted():
    order: list[str] = []
    dispatcher = WebhookDispatcher(WebhookRetry())
    dispatcher.later(0.02, lambda: order.append("second"))
    dispatcher.later(0.0, lambda: order.append("first"))
    dispatcher.later(3600, lambda: order.append("never"))
    run(dispatcher, lambda: len(order) == 2)
    assert order == ["first", "second"] and dispatcher.pending == 1


def test_signature_is_hmac_sha256_of_the_raw_body():
    assert sign(b"{}", "s") == "sha256=" + hmac.new(b"s", b"{}", hashlib.sha256).hexdigest()
    assert verify(b"{}", sign(b"{}", "s"), "s") and not verify(b"{} ", sign(b"{}", "s"), "s")
    assert not verify(b"{}", None, "s")


def test_updates_that_queue_up_behind_a_post_are_merged_into_batches_in_order():
    from centralino.simulator import payloads

    posts: list[dict] = []
    release = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        assert verify(request.content, request.headers["x-hub-signature-256"], "secret")
        posts.append(json.loads(request.content))
        if len(posts) == 1:
            await release.wait()  # the product is slow: everything else queues meanwhile
        return httpx.Response(200)

    def status_update(n: int, pnid: str = "1") -> dict:
        return payloads.envelope("10", pnid, "15550001", statuses=[payloads.status(f"wamid.{n}", "sent", "39", n)])

    async def scenario() -> None:
        dispatcher = WebhookDispatcher(WebhookRetry(), batch_max=40, transport=httpx.MockTransport(handler))
        dispatcher.start()
        first = status_update(0)
        dispatcher.post(TARGET, payloads.encode(first), lane="1:39", payload=first)
        while not posts:
            await asyncio.sleep(0.001)
        for n in range(1, 101):
            update = status_update(n, pnid="1" if n <= 60 else "2")
            dispatcher.post(TARGET, payloads.encode(update), lane=f"1:{n}", payload=update)
        for _ in range(20):  # let the dispatcher's loop move them from its timers into the queue
            await asyncio.sleep(0)
        release.set()
        while sum(len(v["statuses"]) for p in posts for e in p["entry"] for c in e["changes"]
                  for v in [c["value"]]) < 101:
            await asyncio.sleep(0.001)
        await dispatcher.stop()

    asyncio.run(scenario())
    ids = [s["id"] for p in posts for e in p["entry"] for c in e["changes"] for s in c["value"]["statuses"]]
    assert ids == [f"wamid.{n}" for n in range(101)]
    assert len(posts) < 101 and all(sum(len(c["value"]["statuses"]) for e in p["entry"] for c in e["changes"]) <= 40
                                    for p in posts)
    numbers = [[c["value"]["metadata"]["phone_number_id"] for e in p["entry"] for c in e["changes"]] for p in posts]
    assert ["1", "2"] in numbers  # one POST may carry two numbers' values, each in its own entry

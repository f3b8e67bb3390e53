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

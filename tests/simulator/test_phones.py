"""The phones page (escaped, with its script) and embedding the simulator in another app."""

from __future__ import annotations

import asyncio

import httpx
from starlette.applications import Starlette
from starlette.routing import Mount

from centralino.simulator import defaults
from centralino.simulator.app import Simulator
from centralino.simulator.config import SimulatorConfig, StatusDelays
from tests.simulator.harness import CUSTOMER, message


def test_page_renders_customer_and_business_text_escaped(sim):
    evil = "<script>alert('x')</script>"
    sim.control("POST", "/customers", {"wa_id": CUSTOMER, "name": evil})
    sim.customer_says(f"{evil} & <b>bold</b>")
    sim.send(message(body=f"{evil} from the business"))
    page = sim.http.get("/", params={"customer": CUSTOMER})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<script>alert" not in page.text and "<b>bold" not in page.text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page.text
    assert "&lt;b&gt;bold&lt;/b&gt;" in page.text
    assert page.text.count("<script") == 1 and '<script src="/_sim/static/phones.js">' in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    script = sim.http.get("/_sim/static/phones.js")
    assert script.status_code == 200 and "textContent" in script.text and "innerHTML" not in script.text
    state = sim.http.get("/_sim/ui/state", params={"wa_id": CUSTOMER}).json()
    assert [m["direction"] for m in state["messages"]] == ["in", "out"]
    assert state["customers"][0]["name"] == evil  # JSON is data; the page draws it with textContent


def test_page_works_with_no_customers(sim):
    page = sim.http.get("/")
    assert page.status_code == 200 and "No customers yet" in page.text
    assert sim.http.get("/", params={"number": "unknown", "customer": "123"}).status_code == 200


def test_embedded_under_a_mount_with_explicit_start_and_stop():
    received: list[bytes] = []

    async def scenario() -> None:
        def webhook(request: httpx.Request) -> httpx.Response:
            received.append(request.content)
            return httpx.Response(200)

        sim = Simulator(SimulatorConfig.demo(webhook_url="http://product.test/webhooks/whatsapp",
                                             delays=StatusDelays(0, 0, 0)),
                        public_base="http://product.test/simulator", webhook_transport=httpx.MockTransport(webhook))
        product = Starlette(routes=[Mount("/simulator", sim.app)])  # a mounted app's lifespan does not run
        sim.start()
        assert sim.dispatcher.running
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=product),
                                     base_url="http://product.test") as client:
            page = await client.get("/simulator/")
            assert page.status_code == 200 and '<script src="/simulator/_sim/static/phones.js">' in page.text
            said = await client.post(f"/simulator/_sim/customers/{CUSTOMER}/messages",
                                     json={"type": "image"})
            assert said.status_code == 201
            media_id = said.json()["message"]["image"]["id"]
            meta = await client.get(f"/simulator/v23.0/{media_id}",
                                    headers={"Authorization": f"Bearer {defaults.DEMO_ACCESS_TOKEN}"})
            assert meta.json()["url"].startswith("http://product.test/simulator/media-download/")
            for _ in range(200):
                if received:
                    break
                await asyncio.sleep(0.01)
        await sim.stop()
        assert not sim.dispatcher.running

    asyncio.run(scenario())
    assert received and b'"messages"' in received[0]

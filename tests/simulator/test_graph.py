"""The original entry point, `create_graph_app(state, public_base=...)`, keeps its contract."""

from __future__ import annotations

import asyncio
import hashlib

import httpx

from centralino.simulator.graph import SimulatorState, create_graph_app

AUTH = {"Authorization": "Bearer legacy-token"}


def test_media_metadata_download_tokens_and_fault_injection():
    async def scenario() -> None:
        state = SimulatorState(access_tokens={"legacy-token"})
        media_id = state.add_media(b"%PDF-1.4 boarding pass", "application/pdf")
        transport = httpx.ASGITransport(app=create_graph_app(state, public_base="http://host/simulator"))
        async with httpx.AsyncClient(transport=transport, base_url="http://graph.test") as http:
            meta = (await http.get(f"/v23.0/{media_id}", headers=AUTH, params={"phone_number_id": "1"})).json()
            assert meta["url"].startswith("http://host/simulator/media-download/")
            assert meta["sha256"] == hashlib.sha256(b"%PDF-1.4 boarding pass").hexdigest()
            path = meta["url"].removeprefix("http://host/simulator")
            assert (await http.get(path, headers=AUTH)).content == b"%PDF-1.4 boarding pass"
            assert (await http.get(f"/v23.0/{media_id}")).json()["error"]["code"] == 190
            assert (await http.get("/v23.0/404", headers=AUTH)).json()["error"]["code"] == 100
            state.fail_next = 1
            outage = await http.get(f"/v23.0/{media_id}", headers=AUTH)
            assert outage.status_code == 500 and outage.json()["error"]["code"] == 2
            state.corrupt_next = 1
            assert (await http.get(path, headers=AUTH)).content != b"%PDF-1.4 boarding pass"
        assert [r.split()[1] for r in state.requests] == ["meta", "file", "meta", "meta", "meta", "file"]

    asyncio.run(scenario())

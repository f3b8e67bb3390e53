"""The demo's virtual agent as a newcomer meets it: `centralino demo` in a real process; once the scripted
customers have played, a new customer writing from a simulator phone is answered by the bot (the default
encoder, trained at start), in Italian and English, and the order_status flow calls the demo service."""

from __future__ import annotations

from typing import Any

import httpx

from tests.processes import free_port
from tests.test_demo import TOKEN, demo_process, wait_for


def test_a_simulator_customer_is_answered_by_the_bot(tmp_path):
    port = free_port()
    sim = httpx.Client(base_url=f"http://127.0.0.1:{port}/simulator/_sim", timeout=10)
    with demo_process(tmp_path, port):
        wait_for("the bot enabled", lambda: "the virtual agent answers" in (tmp_path / "demo.log").read_text(),
                 tmp_path, timeout=120)

        def answers(wa_id: str, count: int) -> list[str] | None:
            found = sim.get(f"/customers/{wa_id}/conversation")
            if found.status_code != 200:
                return None
            texts = [m.get("text") or "" for m in found.json()["messages"] if m["direction"] == "out"]
            return texts if len(texts) >= count else None

        def says(wa_id: str, body: str) -> None:
            answer = sim.post(f"/customers/{wa_id}/messages", json={"type": "text", "body": body, "name": "Nuovo"})
            assert answer.status_code == 201, answer.text

        says("393488880001", "A che ora aprite sabato?")
        texts: Any = wait_for("the bot's answer on the phone", lambda: answers("393488880001", 1), tmp_path)
        assert "9:30" in texts[0]
        says("447700900999", "Where is my order 100234?")
        texts = wait_for("the order's status from the demo service", lambda: answers("447700900999", 1), tmp_path)
        assert "100234" in texts[0] and "BRT" in texts[0]
        # the case type the change_delivery_date flow opens is there for it
        api = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=TOKEN, timeout=10)
        keys = {t["key"] for t in api.get("/api/v1/case-types").json()}
        assert "delivery_change" in keys

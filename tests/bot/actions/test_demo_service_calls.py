"""The demo's service specs against the demo service routes served by uvicorn on a real socket."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from centralino.bot.actions.http import call_service
from centralino.bot.demo import demo_services
from centralino.web import demo_services as demo_service_routes


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    app = FastAPI()
    app.include_router(demo_service_routes.router)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=5)


def test_the_demo_specs_work_over_http(base: str) -> None:
    specs = {spec.name: spec for spec in demo_services(base)}
    with httpx.Client() as client:
        order = call_service(specs["demo_orders"], {"number": "100237"}, client=client)
        assert order.ok and order.data["status"] == "in_transit" and order.data["carrier"] == "Poste Italiane"
        assert set(order.data) == {"status", "carrier", "tracking", "eta"}
        missing = call_service(specs["demo_orders"], {"number": "../orders/100234"}, client=client)
        assert not missing.ok and missing.status == 404 and missing.attempts == 1
        refused = call_service(specs["demo_reschedule"], {"number": "100235", "date": "2030-01-01"}, client=client)
        assert not refused.ok and refused.status == 409
        bp = call_service(specs["demo_boarding_pass"], {"booking": "XYZ789", "surname": "Smith"}, client=client)
        assert bp.ok and bp.content_type == "application/pdf" and bp.filename == "boarding-pass-XYZ789.pdf"
        assert bp.document is not None and bp.document.startswith(b"%PDF-1.4")
        wrong = call_service(specs["demo_boarding_pass"], {"booking": "XYZ789", "surname": "Smith&x=1"}, client=client)
        assert not wrong.ok and wrong.status == 404  # the & stayed inside the surname

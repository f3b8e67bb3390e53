"""Test harness: the simulator served by uvicorn on a free port in a thread, and a real HTTP receiver
for its webhooks that verifies every signature."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import uvicorn

from centralino.simulator.app import Simulator

PNID = "106540352242922"
WABA = "102290129340398"
DISPLAY = "15550783881"
TOKEN = "sim-test-token"
SECRET = "sim-test-app-secret"
CUSTOMER = "393471234567"


def wait_for(predicate: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> Any:
    """Poll until `predicate()` is truthy (bounded); its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


class FakeClock:
    """Wall clock for the simulator that moves only when a test says so."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class WebhookReceiver:
    """Real HTTP endpoint; answers 200 when the X-Hub-Signature-256 matches, 403 otherwise."""

    def __init__(self, app_secret: str = SECRET) -> None:
        self.app_secret = app_secret
        self.bodies: list[bytes] = []
        self.bad_signatures = 0
        self.fail_next = 0  # answer 500 to the next N deliveries
        self.attempts = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                expected = "sha256=" + hmac.new(receiver.app_secret.encode(), body, hashlib.sha256).hexdigest()
                signature = self.headers.get("X-Hub-Signature-256", "")
                with receiver._lock:
                    receiver.attempts += 1
                    if not hmac.compare_digest(signature, expected):
                        receiver.bad_signatures += 1
                        status = 403
                    elif receiver.fail_next > 0:
                        receiver.fail_next -= 1
                        status = 500
                    else:
                        receiver.bodies.append(body)
                        status = 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/whatsapp"

    def clear(self) -> None:
        with self._lock:
            self.bodies.clear()
            self.bad_signatures = self.fail_next = self.attempts = 0

    def payloads(self) -> list[dict[str, Any]]:
        with self._lock:
            return [json.loads(b) for b in self.bodies]

    def values(self, field_name: str = "messages") -> list[dict[str, Any]]:
        return [change["value"] for p in self.payloads() for entry in p["entry"] for change in entry["changes"]
                if change["field"] == field_name]

    def statuses(self, message_id: str | None = None) -> list[dict[str, Any]]:
        return [s for v in self.values() for s in v.get("statuses", []) if message_id in (None, s["id"])]

    def messages(self) -> list[dict[str, Any]]:
        return [m for v in self.values() for m in v.get("messages", [])]

    def wait_statuses(self, message_id: str, count: int) -> list[dict[str, Any]]:
        return wait_for(lambda: len(self.statuses(message_id)) >= count and self.statuses(message_id),
                        what=f"{count} statuses of {message_id}")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class ServerThread:
    def __init__(self, app: Any) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)

    def start(self) -> None:
        self.thread.start()
        wait_for(lambda: self.server.started, what="uvicorn to start")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.socket.close()


@dataclass
class Running:
    sim: Simulator
    base: str
    receiver: WebhookReceiver
    clock: FakeClock
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.base, timeout=10)

    def graph(self, method: str, path: str, token: str | None = TOKEN, **kwargs: Any) -> httpx.Response:
        headers = {**({"Authorization": f"Bearer {token}"} if token else {}), **kwargs.pop("headers", {})}
        return self.http.request(method, f"/v23.0{path}", headers=headers, **kwargs)

    def send(self, body: dict[str, Any], pnid: str = PNID, token: str | None = TOKEN) -> httpx.Response:
        return self.graph("POST", f"/{pnid}/messages", token=token, json=body)

    def control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.http.request(method, f"/_sim{path}", json=body)
        assert response.status_code < 300, response.text
        return response.json()

    def customer_says(self, text: str = "Ciao", wa_id: str = CUSTOMER, **extra: Any) -> dict[str, Any]:
        return self.control("POST", f"/customers/{wa_id}/messages", {"type": "text", "body": text, **extra})


def message(to: str = "+" + CUSTOMER, kind: str = "text", **content: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": kind}
    body[kind] = content or {"body": "Buongiorno"}
    return body


def graph_error(response: httpx.Response) -> dict[str, Any]:
    error = response.json()["error"]
    assert error["message"].startswith(f"({'#'}{error['code']}) ")
    assert error["type"] in ("OAuthException", "GraphMethodException") and error["fbtrace_id"]
    return error

"""call_service against a real HTTP server (stdlib, in a thread, on 127.0.0.1 with a free port)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from centralino.bot.actions.http import ServiceSpec, call_service, check_spec, extract_path
from centralino.errors import InvalidInput

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


class Server(ThreadingHTTPServer):
    daemon_threads = True
    hits: Counter[str]


class Handler(BaseHTTPRequestHandler):
    server: Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, body: bytes, content_type: str = "application/json",
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, body: Any) -> None:
        self._send(status, json.dumps(body).encode())

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        url = urlsplit(self.path)
        parts = url.path.strip("/").split("/")
        self.server.hits[url.path] += 1
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if parts[0] == "orders":
            if parts[1] == "100234":
                self._json(200, {"order": {"status": "shipped", "parcels": [{"tracking": "T1"}, {"tracking": "T2"}]},
                                 "eta": "2026-12-01", "empty": None})
            else:
                self._json(404, {"message": f"order {parts[1]} not found"})
        elif parts[0] == "echo":
            self._json(200, {"path": url.path, "query": parse_qs(url.query), "method": self.command,
                             "auth": self.headers.get("X-Api-Key"), "body": json.loads(raw) if raw else None})
        elif parts[0] == "slow":
            time.sleep(1.0)
            self._json(200, {"late": True})
        elif parts[0] == "flaky":  # /flaky/<key>/<failures before success>
            if self.server.hits[url.path] <= int(parts[2]):
                self._json(503, {"message": "busy"})
            else:
                self._json(200, {"status": "ok"})
        elif parts[0] == "bad":
            self._json(400, {"message": "bad request"})
        elif parts[0] == "pdf":
            self._send(200, PDF, "application/pdf", {"Content-Disposition": 'attachment; filename="../bp ABC.pdf"'})
        elif parts[0] == "notjson":
            self._send(200, b"{oops", "application/json")
        else:
            self._json(404, {})


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    srv = Server(("127.0.0.1", 0), Handler)
    srv.hits = Counter()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def base(server: Server) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client() as c:
        yield c


def _no_sleep(waits: list[float]) -> Any:
    return waits.append


def test_success_with_a_response_mapping(base: str, client: httpx.Client) -> None:
    spec = ServiceSpec(name="orders", url=base + "/orders/{{ number }}",
                       response_mapping={"status": "order.status", "tracking": "order.parcels[1].tracking",
                                         "last": "order.parcels[-1].tracking", "eta": "eta",
                                         "missing": "order.carrier", "empty": "empty"})
    result = call_service(spec, {"number": "100234"}, client=client)
    assert result.ok and result.status == 200 and result.error is None and result.attempts == 1
    assert result.data == {"status": "shipped", "tracking": "T2", "last": "T2", "eta": "2026-12-01"}
    assert result.document is None


def test_not_found_is_not_retried_and_says_so(server: Server, base: str, client: httpx.Client) -> None:
    spec = ServiceSpec(name="orders", url=base + "/orders/{{ number }}", retries=3)
    result = call_service(spec, {"number": "999999"}, client=client, sleep=_no_sleep([]))
    assert not result.ok and result.status == 404 and result.attempts == 1
    assert result.error == "HTTP 404 from orders" and result.data == {"error_message": "order 999999 not found"}
    assert server.hits["/orders/999999"] == 1


def test_customer_values_are_percent_encoded_in_the_url_and_json_escaped_in_the_body(
        base: str, client: httpx.Client) -> None:
    spec = ServiceSpec(name="echo", method="POST", url=base + "/echo/{{ code }}?surname={{ surname }}",
                       auth_header="X-Api-Key", auth_secret="s3cret",
                       request_template='{"code": "{{ code }}", "note": {{ code | json }}, "n": {{ n | json }}}',
                       response_mapping={"path": "path", "surname": "query.surname[0]", "body": "body",
                                         "auth": "auth", "method": "method"})
    hostile = '../admin?x=1&y="2"\n'
    result = call_service(spec, {"code": hostile, "surname": "D'Amico & Figli", "n": 3}, client=client)
    assert result.ok, result.error
    assert result.data["path"] == "/echo/..%2Fadmin%3Fx%3D1%26y%3D%222%22%0A"  # one path segment, never a new path
    assert result.data["surname"] == "D'Amico & Figli"
    assert result.data["body"] == {"code": hostile, "note": hostile, "n": 3}
    assert result.data["auth"] == "s3cret" and result.data["method"] == "POST"


def test_a_slow_service_times_out_and_is_retried(server: Server, base: str, client: httpx.Client) -> None:
    waits: list[float] = []
    spec = ServiceSpec(name="slow", url=base + "/slow", timeout_s=0.2, retries=1, backoff_s=0.05)
    result = call_service(spec, {}, client=client, sleep=_no_sleep(waits))
    assert not result.ok and result.status is None and result.attempts == 2
    assert result.error == "slow did not answer within 0.2 s (after 2 attempts)"
    assert waits == [0.05]


def test_5xx_is_retried_with_backoff_then_fails(server: Server, base: str, client: httpx.Client) -> None:
    waits: list[float] = []
    spec = ServiceSpec(name="flaky", url=base + "/flaky/always/99", retries=2, backoff_s=0.1)
    result = call_service(spec, {}, client=client, sleep=_no_sleep(waits))
    assert not result.ok and result.status == 503 and result.attempts == 3
    assert result.error == "HTTP 503 from flaky (after 3 attempts)"
    assert server.hits["/flaky/always/99"] == 3
    assert waits == [0.1, 0.2]


def test_a_transient_5xx_recovers_on_retry(server: Server, base: str, client: httpx.Client) -> None:
    spec = ServiceSpec(name="flaky", url=base + "/flaky/once/1", retries=1, response_mapping={"s": "status"})
    result = call_service(spec, {}, client=client, sleep=_no_sleep([]))
    assert result.ok and result.data == {"s": "ok"} and result.attempts == 2


def test_4xx_is_not_retried(server: Server, base: str, client: httpx.Client) -> None:
    result = call_service(ServiceSpec(name="bad", url=base + "/bad", retries=3), {}, client=client)
    assert not result.ok and result.status == 400 and result.attempts == 1 and server.hits["/bad"] == 1


def test_connection_refused_is_retried_then_reported(client: httpx.Client) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = call_service(ServiceSpec(name="down", url=f"http://127.0.0.1:{port}/x", retries=1), {},
                          client=client, sleep=_no_sleep([]))
    assert not result.ok and result.attempts == 2 and result.status is None
    assert result.error == "down could not be reached: ConnectError (after 2 attempts)"


def test_a_pdf_answer_is_a_document(base: str, client: httpx.Client) -> None:
    result = call_service(ServiceSpec(name="boarding", url=base + "/pdf"), {}, client=client)
    assert result.ok and result.document == PDF and result.content_type == "application/pdf"
    assert result.filename == "bp ABC.pdf"  # no directory part from the server's header


def test_invalid_json_and_bad_templates_are_results_not_exceptions(base: str, client: httpx.Client) -> None:
    bad_json = call_service(ServiceSpec(name="j", url=base + "/notjson"), {}, client=client)
    assert not bad_json.ok and bad_json.error == "j answered invalid JSON"
    bad_body = call_service(ServiceSpec(name="b", method="POST", url=base + "/echo",
                                        request_template='{"a": {{ a }}}'), {"a": "x"}, client=client)
    assert not bad_body.ok and bad_body.attempts == 0 and "request template failed" in (bad_body.error or "")


@pytest.mark.parametrize(("spec", "field"), [
    (ServiceSpec(name="s", url="ftp://x/y"), "url"),
    (ServiceSpec(name="s", url="https://{{ host }}/y"), "url"),
    (ServiceSpec(name="s", url="https://shop.example{{ path }}"), "url"),
    (ServiceSpec(name="s", url="https://shop.example/{{ x"), "url"),
    (ServiceSpec(name="s", url="https://shop.example/", request_template="{{ x"), "request_template"),
    (ServiceSpec(name="s", url="https://shop.example/", method="TRACE"), "method"),
    (ServiceSpec(name="s", url="https://shop.example/", timeout_s=0), "timeout_s"),
    (ServiceSpec(name="s", url="https://shop.example/", retries=9), "retries"),
    (ServiceSpec(name="s", url="https://shop.example/", auth_header="Bad Header"), "auth_header"),
    (ServiceSpec(name="s", url="https://shop.example/", auth_header="X", auth_secret="a\r\nHost: evil"), "auth_secret"),
    (ServiceSpec(name="s", url="https://shop.example/", response_mapping={"x": "a..b"}), "response_mapping.x"),
])
def test_check_spec_names_the_field(spec: ServiceSpec, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_spec(spec)
    assert caught.value.field == field
    result = call_service(spec, {}, client=httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200))))
    assert not result.ok and result.attempts == 0 and "misconfigured" in (result.error or "")


@pytest.mark.parametrize("url", ["https://shop.example/orders/{{ n }}", "https://shop.example?n={{ n }}",
                                 "http://127.0.0.1:8000/x/{{ n }}/y", "https://shop.example/fixed"])
def test_check_spec_accepts_placeholders_after_the_host(url: str) -> None:
    check_spec(ServiceSpec(name="s", url=url))


def test_extract_path() -> None:
    doc = {"a": {"b": [{"c": 1}, {"c": 2}]}, "list": [[1, 2]]}
    assert extract_path(doc, "a.b[0].c") == 1
    assert extract_path(doc, "a.b[-1].c") == 2
    assert extract_path(doc, "list[0][1]") == 2
    assert extract_path(doc, "a.b[5].c") is None
    assert extract_path(doc, "a.x") is None
    assert extract_path(doc, "a.b.c") is None

"""On-demand services over HTTP (docs/bot.md "Services"): the business's order system, airline, case tracker.

A `ServiceSpec` is one configured call (a bot_services row). `call_service` renders the URL and the JSON body
from templates in a Jinja2 sandbox, sends the request with the auth header, retries transient failures
(timeouts, connection errors, 5xx) with backoff, and maps the JSON answer into a flat dict — or keeps a binary
answer (a PDF) as a document. It never raises for HTTP problems: the result says ok False and why.

Customer-provided values are untrusted. They only reach the request through the templates: every `{{ … }}` in
the URL is percent-encoded (a "/" or "?" in an order number cannot change the path), every `{{ … }}` in the
body is JSON-string-escaped (or written as a JSON literal with `| json`), and the scheme and host of the URL
are fixed text, never a placeholder.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import Message
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from jinja2 import TemplateError

from centralino.bot.actions.types import ServiceResult
from centralino.bot.templating import sandbox
from centralino.errors import InvalidInput

__all__ = ["ServiceResult", "ServiceSpec", "call_service", "check_spec", "extract_path"]

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
MAX_RESPONSE_BYTES = 10 * 1024 * 1024
MAX_RETRIES = 5
MAX_TIMEOUT_S = 60.0
TEXT_MAX = 4096
_PATH_RE = re.compile(r"([^.\[\]]+)|\[(-?\d+)\]")
_HEADER_NAME_RE = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$")


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    url: str  # template: "https://shop.example/orders/{{ order_number }}"
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=dict)  # fixed extra headers
    auth_header: str | None = None  # e.g. "Authorization"
    auth_secret: str | None = None  # its value (decrypted by the caller)
    request_template: str | None = None  # JSON body template (POST/PUT/PATCH)
    response_mapping: Mapping[str, str] = field(default_factory=dict)  # {slot: "data.items[0].status"}
    timeout_s: float = 5.0
    retries: int = 1  # extra attempts after a transient failure
    backoff_s: float = 0.2  # first wait between attempts; doubles each time


class JsonLiteral(str):
    """Output of the `json` filter: already valid JSON, not escaped again."""


def _json_filter(value: Any) -> JsonLiteral:
    return JsonLiteral(json.dumps(value, ensure_ascii=False, default=str))


def _url_finalize(value: Any) -> str:
    return quote("" if value is None else str(value), safe="")


def _body_finalize(value: Any) -> str:
    if isinstance(value, JsonLiteral):
        return value
    return json.dumps("" if value is None else str(value), ensure_ascii=False)[1:-1]


_url_env = sandbox(finalize=_url_finalize)
_body_env = sandbox(finalize=_body_finalize)
_body_env.filters["json"] = _json_filter


def check_spec(spec: ServiceSpec) -> None:
    """Raise InvalidInput naming the wrong field (the admin's form and the API call this before saving)."""
    if spec.method.upper() not in METHODS:
        raise InvalidInput(f"method must be one of {', '.join(METHODS)}", field="method")
    head = re.split(r"\{\{|\{%", spec.url, maxsplit=1)[0]
    parts = urlsplit(head)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("url must be an absolute http(s) URL", field="url")
    host_closed = re.match(r"^[a-z][a-z0-9+.-]*://[^/?#]*[/?#]", head, re.IGNORECASE) is not None
    if len(head) < len(spec.url) and not host_closed:  # a placeholder before the path: the host could change
        raise InvalidInput("url: placeholders may appear only in the path or query, not the host", field="url")
    for where, env, source in (("url", _url_env, spec.url), ("request_template", _body_env, spec.request_template)):
        try:
            if source:
                env.parse(source)
        except TemplateError as exc:
            raise InvalidInput(f"{where}: template error: {exc}", field=where) from None
    if spec.auth_header is not None and not _HEADER_NAME_RE.match(spec.auth_header):
        raise InvalidInput("auth_header must be a header name like Authorization", field="auth_header")
    if spec.auth_secret is not None and any(c in spec.auth_secret for c in "\r\n\0"):
        raise InvalidInput("auth_secret must be one line", field="auth_secret")
    for name, value in spec.headers.items():
        if not _HEADER_NAME_RE.match(name) or "\n" in value or "\r" in value:
            raise InvalidInput(f"header {name!r} is not a valid header", field=f"headers.{name}")
    if not 0 < spec.timeout_s <= MAX_TIMEOUT_S:
        raise InvalidInput(f"timeout_s must be more than 0 and at most {MAX_TIMEOUT_S:g}", field="timeout_s")
    if not 0 <= spec.retries <= MAX_RETRIES:
        raise InvalidInput(f"retries must be from 0 to {MAX_RETRIES}", field="retries")
    for slot, path in spec.response_mapping.items():
        if not isinstance(path, str) or not _parse_path(path):
            raise InvalidInput("a dotted path like data.items[0].status", field=f"response_mapping.{slot}")


def call_service(spec: ServiceSpec, inputs: Mapping[str, Any], *, client: httpx.Client,
                 sleep: Callable[[float], None] = time.sleep) -> ServiceResult:
    started = time.perf_counter()

    def done(attempts: int, **kw: Any) -> ServiceResult:
        return ServiceResult(attempts=attempts, elapsed_ms=(time.perf_counter() - started) * 1000, **kw)

    try:
        check_spec(spec)
        url = _url_env.from_string(spec.url).render(dict(inputs))
        body: Any = None
        if spec.request_template:
            rendered = _body_env.from_string(spec.request_template).render(dict(inputs))
            body = json.loads(rendered)
    except InvalidInput as exc:
        return done(0, ok=False, error=f"service {spec.name} is misconfigured: {exc.message}")
    except (TemplateError, TypeError, ValueError) as exc:  # json.JSONDecodeError is a ValueError
        return done(0, ok=False, error=f"service {spec.name}: request template failed: {exc}")
    headers = {"Accept": "application/json, application/pdf;q=0.9, */*;q=0.5", **dict(spec.headers)}
    if spec.auth_header and spec.auth_secret:
        headers[spec.auth_header] = spec.auth_secret
    attempts = 0
    error = "not called"
    status: int | None = None
    for attempt in range(spec.retries + 1):
        if attempt:
            sleep(spec.backoff_s * (2 ** (attempt - 1)))
        attempts += 1
        try:
            with client.stream(spec.method.upper(), url, headers=headers, json=body,
                               timeout=spec.timeout_s) as response:
                status = response.status_code
                if status >= 500:
                    error = f"HTTP {status} from {spec.name}"
                    continue
                content = _read_limited(response)
                if status >= 400:
                    return done(attempts, ok=False, status=status, error=f"HTTP {status} from {spec.name}",
                                data=_error_data(response, content))
                return _answer(spec, response, content, attempts, done)
        except httpx.TimeoutException:
            status, error = None, f"{spec.name} did not answer within {spec.timeout_s:g} s"
        except _TooLarge:
            return done(attempts, ok=False, status=status,
                        error=f"{spec.name} answered more than {MAX_RESPONSE_BYTES} bytes")
        except httpx.TransportError as exc:  # connection refused/reset, DNS, protocol: worth another try
            status, error = None, f"{spec.name} could not be reached: {type(exc).__name__}"
        except (httpx.HTTPError, httpx.InvalidURL) as exc:  # too many redirects, bad encoding: trying again won't help
            return done(attempts, ok=False, status=status, error=f"{spec.name} failed: {type(exc).__name__}")
    return done(attempts, ok=False, status=status, error=f"{error} (after {attempts} attempts)")


def extract_path(document: Any, path: str) -> Any:
    """The value at `a.b[0].c` (None when any part is missing)."""
    current = document
    for key, index in _parse_path(path):
        if index is not None:
            if not isinstance(current, list) or not -len(current) <= index < len(current):
                return None
            current = current[index]
        else:
            if not isinstance(current, Mapping) or key not in current:
                return None
            current = current[key]
    return current


def _parse_path(path: str) -> list[tuple[str, int | None]]:
    out: list[tuple[str, int | None]] = []
    position = 0
    for match in _PATH_RE.finditer(path):
        gap = path[position:match.start()]
        if gap not in ("", "."):
            return []
        key, index = match.group(1), match.group(2)
        out.append((key, None) if key is not None else ("", int(index)))
        position = match.end()
    return out if position == len(path) else []


class _TooLarge(Exception):
    pass


def _read_limited(response: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _media_type(response: httpx.Response) -> str:
    value: str = response.headers.get("content-type", "")
    return value.split(";")[0].strip().lower()


def _answer(spec: ServiceSpec, response: httpx.Response, content: bytes, attempts: int,
            done: Callable[..., ServiceResult]) -> ServiceResult:
    media_type = _media_type(response)
    status = response.status_code
    if media_type == "application/json" or media_type.endswith("+json") or (not media_type and content[:1] in b"{["):
        try:
            document = json.loads(content) if content else None
        except ValueError:
            return done(attempts, ok=False, status=status, error=f"{spec.name} answered invalid JSON")
        data = {slot: value for slot, path in spec.response_mapping.items()
                if (value := extract_path(document, path)) is not None}
        return done(attempts, ok=True, status=status, data=data)
    if media_type.startswith("text/"):
        text = content.decode("utf-8", "replace")[:TEXT_MAX]  # lands in the dialog's state: keep it small
        return done(attempts, ok=True, status=status, data={"text": text})
    if not content:
        return done(attempts, ok=True, status=status)
    return done(attempts, ok=True, status=status, document=content, content_type=media_type or None,
                filename=_filename(response, spec))


def _error_data(response: httpx.Response, content: bytes) -> dict[str, Any]:
    """A 4xx JSON body's message, if it has one (shown in the handoff summary)."""
    if _media_type(response) != "application/json":
        return {}
    try:
        body = json.loads(content)
    except ValueError:
        return {}
    if isinstance(body, Mapping):
        message = body.get("message") or body.get("error") or body.get("detail")
        if isinstance(message, str):
            return {"error_message": message[:500]}
    return {}


def _filename(response: httpx.Response, spec: ServiceSpec) -> str:
    disposition = response.headers.get("content-disposition")
    if disposition:
        message = Message()
        message["content-disposition"] = disposition
        name = message.get_filename()
        if name:
            return re.sub(r"[^\w.\- ]", "_", name.rsplit("/", 1)[-1])[:200] or "document"
    extension = {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg"}.get(_media_type(response), "")
    return f"{spec.name}{extension}"

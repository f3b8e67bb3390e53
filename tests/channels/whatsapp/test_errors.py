"""Graph API error codes mapped once: transient ones retried, permanent ones fail the message."""

from __future__ import annotations

import aiohttp
import httpx
import pytest
from aiohttp.client_reqrep import ConnectionKey

from centralino.channels.whatsapp import graph
from centralino.channels.whatsapp.errors import CODES, classify, describe, is_transient
from centralino.domain.sending import Retry

TRANSIENT = [130429, 131056, 131000, 131016, 131057, 1, 2, 4, 80007, 133004]
PERMANENT = [131047, 131026, 131050, 131051, 131053, 132000, 132001, 132015, 132016, 190, 100, 131008, 131009,
             131048, 131049, 131030, 131031, 131042, 131045, 131062, 130403, 368, 0, 10]


@pytest.mark.parametrize("code", TRANSIENT)
def test_transient_codes(code: int) -> None:
    assert classify(code, 400) is Retry.TRANSIENT and is_transient(code, 400)


@pytest.mark.parametrize("code", PERMANENT)
def test_permanent_codes(code: int) -> None:
    # Keyed on the code, never on the HTTP status: a permanent code stays permanent even on a 500.
    assert classify(code, 500) is Retry.PERMANENT
    assert describe(code) is not None and describe(code).title  # type: ignore[union-attr]


def test_unknown_codes_fall_back_on_the_http_status() -> None:
    assert classify(None, 503) is Retry.TRANSIENT
    assert classify(999999, 500) is Retry.TRANSIENT
    assert classify(999999, 429) is Retry.TRANSIENT and classify(None, 408) is Retry.TRANSIENT
    assert classify(999999, 400) is Retry.PERMANENT
    assert classify(250, 403) is Retry.PERMANENT  # the 200-299 permission family
    assert classify(None, None) is Retry.TRANSIENT  # no answer at all


def test_the_table_has_one_entry_per_code_with_an_action() -> None:
    assert all(c.code == code and c.action for code, c in CODES.items())


def test_graph_errors_from_meta_shaped_answers() -> None:
    response = httpx.Response(400, json={"error": {
        "message": "(#131047) Re-engagement message", "type": "OAuthException", "code": 131047,
        "error_data": {"messaging_product": "whatsapp", "details": "more than 24 hours"}, "fbtrace_id": "x"}})
    with pytest.raises(graph.GraphError) as caught:
        graph.raise_for_error(response)
    err = caught.value
    assert (err.code, err.details, err.retry, err.is_transient) == (131047, "more than 24 hours", Retry.PERMANENT,
                                                                    False)
    with pytest.raises(graph.GraphError) as caught:
        graph.raise_for_error(httpx.Response(502, text="bad gateway"))
    assert caught.value.retry is Retry.TRANSIENT and caught.value.code is None


@pytest.mark.parametrize(("exc", "expected"), [
    (aiohttp.ClientConnectorError(ConnectionKey("graph.test", 443, True, True, None, None, None),
                                  OSError(111, "refused")), Retry.TRANSIENT),  # nothing left: safe to retry
    (aiohttp.ConnectionTimeoutError("no pooled connection in time"), Retry.TRANSIENT),
    (aiohttp.InvalidURL("graph.test"), Retry.TRANSIENT),
    (TimeoutError(), Retry.UNCERTAIN),  # the total timeout: the request went out, Meta may have it
    (aiohttp.SocketTimeoutError("no answer"), Retry.UNCERTAIN),
    (aiohttp.ServerDisconnectedError(), Retry.UNCERTAIN),
    (aiohttp.ClientOSError(104, "reset"), Retry.UNCERTAIN),
    (aiohttp.ClientPayloadError("half an answer"), Retry.UNCERTAIN),
])
def test_transport_failures_of_a_send_are_uncertain_once_the_request_may_have_left(exc, expected) -> None:
    assert isinstance(exc, graph.TRANSPORT_ERRORS)
    assert graph._transport_error("send", exc, may_have_arrived=True).retry is expected
    # Uploads and read receipts are safe to repeat: never uncertain.
    assert graph._transport_error("upload", exc, may_have_arrived=False).retry is Retry.TRANSIENT

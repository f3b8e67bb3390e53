"""The access log leaves out webhooks and the desk's event streams, and keeps everything else."""

from __future__ import annotations

import logging

from centralino.web.access_log import MachineTrafficFilter


def _record(path: str) -> logging.LogRecord:
    return logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                             ("127.0.0.1:5000", "POST", path, "1.1", 200), None)


def test_webhooks_and_event_streams_are_left_out() -> None:
    keep = MachineTrafficFilter().filter
    assert not keep(_record("/webhooks/whatsapp"))
    assert not keep(_record("/desk/events"))
    assert not keep(_record("/desk/events?since=5"))


def test_people_requests_stay() -> None:
    keep = MachineTrafficFilter().filter
    assert keep(_record("/desk/conversations/7"))
    assert keep(_record("/api/v1/conversations"))
    assert keep(_record("/desk/events-archive"))  # only the stream itself is machine traffic
    odd = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, "started", None, None)
    assert keep(odd)

"""Inbound media: fetched from the Graph API (our simulator), checked, stored; failures retried."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime

import httpx
from sqlalchemy import update

from centralino.simulator import payloads
from centralino.simulator.graph import SimulatorState, create_graph_app
from centralino.storage.tables import message_media, messages
from centralino.workers.media import MediaFetcher, backoff_seconds
from tests.factories import ACCESS_TOKEN, PNID, WABA, whatsapp_channel
from tests.helpers import count, rows, store

PDF = b"%PDF-1.4\n% boarding pass AZ1234 MXP-FCO\n" + bytes(range(256)) * 20


def fetcher(services, state: SimulatorState, **kwargs) -> MediaFetcher:
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_graph_app(state)), base_url="http://graph.test")
    return MediaFetcher(services.engine, services.directory, services.bus, services.settings.media_dir, client,
                        **kwargs)


def document_message(services, state: SimulatorState, content: bytes = PDF, media_id: str | None = None) -> str:
    media_id = media_id or state.add_media(content, "application/pdf")
    item = payloads.media("393471234567", "document", media_id, "application/pdf",
                          hashlib.sha256(content).hexdigest(), 1790000000, filename="boarding_pass.pdf")
    store(services, payloads.encode(payloads.envelope(WABA, PNID, "15550783881",
                                                      contacts=[payloads.contact("393471234567", "Giulia")],
                                                      messages=[item])))
    services.delivery_worker.drain()
    return media_id


def make_due(services) -> None:
    """Let time pass: a scheduled retry becomes due now."""
    with services.engine.begin() as conn:
        conn.execute(update(message_media).where(message_media.c.state == "pending")
                     .values(next_attempt_at=datetime(2000, 1, 1, tzinfo=UTC)))


def test_media_is_downloaded_checked_and_stored(services, recorder):
    whatsapp_channel(services)
    state = SimulatorState(access_tokens={ACCESS_TOKEN})
    document_message(services, state)
    assert asyncio.run(fetcher(services, state).run_once()) == 1
    [media] = rows(services, message_media)
    assert media["state"] == "stored" and media["size"] == len(PDF) and media["attempts"] == 1
    stored = services.settings.media_dir / media["storage_path"]
    assert stored.read_bytes() == PDF
    assert media["storage_path"].endswith(hashlib.sha256(PDF).hexdigest())
    assert "message.media_stored" in recorder.types()
    # The bearer token went to both the metadata and the download request.
    assert [r.split()[1] for r in state.requests] == ["meta", "file"]


def test_temporary_failures_retry_with_backoff_and_never_lose_the_attachment(services):
    whatsapp_channel(services)
    state = SimulatorState(access_tokens={ACCESS_TOKEN})
    document_message(services, state)
    state.fail_next = 2  # Graph API outage
    worker = fetcher(services, state)
    assert asyncio.run(worker.run_once()) == 1
    [media] = rows(services, message_media)
    assert media["state"] == "pending" and media["attempts"] == 1 and "temporarily unavailable" in media["last_error"]
    assert asyncio.run(worker.run_once()) == 0  # not due yet: backing off
    make_due(services)
    assert asyncio.run(worker.run_once()) == 1
    assert rows(services, message_media)[0]["state"] == "pending"
    make_due(services)
    asyncio.run(worker.run_once())
    [media] = rows(services, message_media)
    assert media["state"] == "stored" and media["attempts"] == 3
    assert count(services, messages) == 1


def test_a_corrupted_download_is_retried(services):
    whatsapp_channel(services)
    state = SimulatorState(access_tokens={ACCESS_TOKEN})
    document_message(services, state)
    state.corrupt_next = 1
    worker = fetcher(services, state)
    asyncio.run(worker.run_once())
    assert "sha256 mismatch" in rows(services, message_media)[0]["last_error"]
    make_due(services)
    asyncio.run(worker.run_once())
    assert rows(services, message_media)[0]["state"] == "stored"


def test_permanent_errors_and_exhausted_retries_end_failed_but_keep_the_message(services, recorder):
    whatsapp_channel(services, access_token="revoked-token")
    state = SimulatorState(access_tokens={ACCESS_TOKEN})
    document_message(services, state)
    asyncio.run(fetcher(services, state).run_once())
    [media] = rows(services, message_media)
    # 401 with code 190 (expired token) is not fixed by retrying the same request.
    assert media["state"] == "failed" and "access token" in media["last_error"]
    assert "message.media_failed" in recorder.types()
    assert count(services, messages) == 1


def test_gives_up_after_max_attempts(services):
    whatsapp_channel(services)
    state = SimulatorState(access_tokens={ACCESS_TOKEN})
    document_message(services, state)
    state.fail_next = 100
    worker = fetcher(services, state, max_attempts=3)
    for _ in range(3):
        make_due(services)
        asyncio.run(worker.run_once())
    [media] = rows(services, message_media)
    assert media["state"] == "failed" and media["attempts"] == 3


def test_backoff_grows_and_is_jittered():
    assert all(2.5 <= backoff_seconds(1) <= 5.0 for _ in range(50))
    assert backoff_seconds(6) > backoff_seconds(1)
    assert len({round(backoff_seconds(4), 6) for _ in range(20)}) > 1
    assert backoff_seconds(100) <= 6 * 3600

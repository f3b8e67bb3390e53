"""The read API: token auth, contacts, conversations with window state, messages, media."""

from __future__ import annotations

import asyncio
import hashlib
import time

import httpx

from centralino.simulator import payloads
from centralino.simulator.graph import SimulatorState, create_graph_app
from centralino.workers.media import MediaFetcher
from tests.factories import ACCESS_TOKEN, PNID, WABA, both_channels, outbound_message, text_delivery
from tests.helpers import ingest, store

AUTH = {"Authorization": "Bearer demo-token"}


def test_every_api_route_needs_the_token(client):
    for path in ("/api/v1/contacts", "/api/v1/conversations", "/api/v1/channels", "/api/v1/conversations/1/messages"):
        missing = client.get(path)
        assert missing.status_code == 401 and missing.json()["error"]["code"] == "unauthenticated"
        wrong = client.get(path, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401


def test_channels_never_expose_secrets(client, services):
    both_channels(services)
    listed = client.get("/api/v1/channels", headers=AUTH)
    assert listed.status_code == 200 and len(listed.json()) == 2
    text = listed.text
    assert "app-secret" not in text and "verify-token" not in text and "access-token" not in text


def test_contacts_with_identities_search_and_pages(client, services):
    both_channels(services)
    for i in range(5):
        store(services, text_delivery(f"3934712300{i:02d}", "ciao", 1790000000 + i, f"wamid.A{i}", name=f"Cliente {i}"))
    ingest(services, "messages_bsuid_only.json")
    first = client.get("/api/v1/contacts", params={"limit": 4}, headers=AUTH).json()
    assert len(first["items"]) == 4 and first["next_cursor"]
    second = client.get("/api/v1/contacts", params={"limit": 4, "cursor": first["next_cursor"]}, headers=AUTH).json()
    assert len(second["items"]) == 2 and second["next_cursor"] is None
    ids = [c["id"] for c in first["items"] + second["items"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 6
    found = client.get("/api/v1/contacts", params={"q": "+393471230003"}, headers=AUTH).json()["items"]
    assert [c["display_name"] for c in found] == ["Cliente 3"]
    assert {"kind": "phone", "value": "+393471230003"} in found[0]["identities"]
    by_name = client.get("/api/v1/contacts", params={"q": "luca"}, headers=AUTH).json()["items"]
    assert by_name[0]["identities"] == [{"kind": "whatsapp_bsuid", "value": "IT.13491208655302741918"}]
    contact = client.get(f"/api/v1/contacts/{by_name[0]['id']}", headers=AUTH)
    assert contact.status_code == 200 and contact.json()["username"] == "luca.ferri"
    assert client.get("/api/v1/contacts/999", headers=AUTH).status_code == 404
    bad = client.get("/api/v1/contacts", params={"cursor": "not-a-cursor"}, headers=AUTH)
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "cursor"
    too_many = client.get("/api/v1/contacts", params={"limit": 1000}, headers=AUTH)
    assert too_many.status_code == 422 and too_many.json()["error"]["field"] == "limit"


def test_conversations_newest_activity_first_with_window_and_filters(client, services):
    first, _second = both_channels(services)
    now = int(time.time())
    store(services, text_delivery("393471230001", "old", now - 3 * 86400, "wamid.O1", name="Old"))
    store(services, text_delivery("393471230002", "recent", now - 3600, "wamid.R1", name="Recent"))
    store(services, text_delivery("393471230003", "sales", now - 60, "wamid.S1", name="Sales", pnid="206540352242922",
                                  waba="202290129340398"))
    services.delivery_worker.drain()
    items = client.get("/api/v1/conversations", headers=AUTH).json()["items"]
    assert [c["contact_name"] for c in items] == ["Sales", "Recent", "Old"]
    recent = items[1]
    assert recent["window"]["is_open"] is True
    assert 22 * 3600 < recent["window"]["seconds_left"] <= 23 * 3600
    assert items[2]["window"] == {"is_open": False, "closes_at": items[2]["window"]["closes_at"], "seconds_left": 0}
    only_support = client.get("/api/v1/conversations", params={"channel_id": first}, headers=AUTH).json()["items"]
    assert [c["contact_name"] for c in only_support] == ["Recent", "Old"]
    assert client.get("/api/v1/conversations", params={"status": "resolved"}, headers=AUTH).json()["items"] == []
    page1 = client.get("/api/v1/conversations", params={"limit": 2}, headers=AUTH).json()
    page2 = client.get("/api/v1/conversations", params={"limit": 2, "cursor": page1["next_cursor"]}, headers=AUTH).json()
    assert [c["contact_name"] for c in page1["items"] + page2["items"]] == ["Sales", "Recent", "Old"]
    one = client.get(f"/api/v1/conversations/{recent['id']}", headers=AUTH).json()
    assert one["channel_name"] == "Support IT" and one["window"]["is_open"]


def test_messages_with_statuses_reactions_and_paging(client, services):
    both_channels(services)
    outbound_message(services, "wamid.OUTBOUND0001")
    ingest(services, "messages_text.json", "statuses_sent.json", "statuses_read.json", "messages_reaction.json",
           "messages_text_reply.json")
    [conv] = client.get("/api/v1/conversations", headers=AUTH).json()["items"]
    page = client.get(f"/api/v1/conversations/{conv['id']}/messages", params={"limit": 2}, headers=AUTH).json()
    rest = client.get(f"/api/v1/conversations/{conv['id']}/messages", params={"cursor": page["next_cursor"]},
                      headers=AUTH).json()
    all_messages = page["items"] + rest["items"]
    assert [m["sent_at"] for m in all_messages] == sorted((m["sent_at"] for m in all_messages), reverse=True)
    outbound = next(m for m in all_messages if m["external_id"] == "wamid.OUTBOUND0001")
    assert outbound["status"] == "read"
    assert [h["status"] for h in outbound["status_history"]] == ["sent", "read"]
    assert outbound["reactions"][0]["emoji"] == "\U0001f44d"
    reply = next(m for m in all_messages if m["reply_to_external_id"])
    assert reply["reply_to_message_id"] == outbound["id"]
    assert client.get("/api/v1/conversations/999/messages", headers=AUTH).status_code == 404


def _fetch_media(services, state) -> None:
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_graph_app(state)))
    fetcher = MediaFetcher(services.engine, services.directory, services.bus, services.settings.media_dir, client)
    asyncio.run(fetcher.run_once())


def _media_delivery(services, state, kind, mime, content, **fields) -> None:
    media_id = state.add_media(content, mime)
    item = payloads.media("393471234567", kind, media_id, mime, hashlib.sha256(content).hexdigest(),
                          1790000000 + len(state.media), **fields)
    store(services, payloads.encode(payloads.envelope(WABA, PNID, "1", contacts=[payloads.contact("393471234567", "G")],
                                                      messages=[item])))


def test_media_links_and_safe_download(client, services):
    both_channels(services)
    state = SimulatorState(access_tokens={ACCESS_TOKEN})
    png = bytes.fromhex("89504e470d0a1a0a") + b"fake-png-data"
    html = b"<html><script>alert(1)</script></html>"
    _media_delivery(services, state, "image", "image/png", png, caption="photo")
    _media_delivery(services, state, "document", "text/html", html, filename="<img src=x onerror=alert(1)>.html")
    services.delivery_worker.drain()
    [conv] = client.get("/api/v1/conversations", headers=AUTH).json()["items"]
    before = client.get(f"/api/v1/conversations/{conv['id']}/messages", headers=AUTH).json()["items"]
    assert all(m["media"]["state"] == "pending" and m["media"]["url"] is None for m in before)
    _fetch_media(services, state)
    items = client.get(f"/api/v1/conversations/{conv['id']}/messages", headers=AUTH).json()["items"]
    image = next(m for m in items if m["type"] == "image")
    doc = next(m for m in items if m["type"] == "document")
    got = client.get(image["media"]["url"], headers=AUTH)
    assert got.status_code == 200 and got.content == png and got.headers["content-type"] == "image/png"
    assert got.headers["x-content-type-options"] == "nosniff"
    risky = client.get(doc["media"]["url"], headers=AUTH)
    assert risky.content == html
    assert risky.headers["content-type"] == "application/octet-stream"  # never rendered as HTML
    assert risky.headers["content-disposition"].startswith("attachment")
    assert client.get(image["media"]["url"]).status_code == 401
    assert client.get("/api/v1/messages/9999/media", headers=AUTH).status_code == 404


def test_openapi_documents_the_read_api(client):
    spec = client.get("/openapi.json").json()
    assert "/api/v1/conversations" in spec["paths"] and "/api/v1/conversations/{conversation_id}/messages" in spec["paths"]
    assert client.get("/docs").status_code == 200

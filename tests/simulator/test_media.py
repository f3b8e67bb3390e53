"""Media endpoints: upload with Meta's type and size checks, URL and metadata, download with the token, delete."""

from __future__ import annotations

import hashlib

import pytest

from centralino.simulator import defaults
from tests.simulator.harness import PNID, TOKEN, graph_error

WEBP = b"RIFF\x1a\x00\x00\x00WEBPVP8L" + bytes(14)


def upload(sim, content: bytes, mime: str, **form: str):
    data = {"messaging_product": "whatsapp", "type": mime, **form}
    return sim.graph("POST", f"/{PNID}/media", data=data, files={"file": ("upload.bin", content, mime)})


def test_upload_metadata_download_and_delete(sim):
    uploaded = upload(sim, defaults.SAMPLE_PDF, "application/pdf")
    assert uploaded.status_code == 200 and set(uploaded.json()) == {"id"}
    media_id = uploaded.json()["id"]
    meta = sim.graph("GET", f"/{media_id}", params={"phone_number_id": PNID}).json()
    assert meta == {"messaging_product": "whatsapp", "url": meta["url"], "mime_type": "application/pdf",
                    "sha256": hashlib.sha256(defaults.SAMPLE_PDF).hexdigest(),
                    "file_size": len(defaults.SAMPLE_PDF), "id": media_id}
    assert meta["url"].startswith(sim.base)
    assert sim.http.get(meta["url"], headers={"Authorization": f"Bearer {TOKEN}"}).content == defaults.SAMPLE_PDF
    assert sim.http.get(meta["url"], headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert sim.graph("DELETE", f"/{media_id}").json() == {"success": True}
    gone = sim.graph("GET", f"/{media_id}")
    assert gone.status_code == 400 and graph_error(gone)["type"] == "GraphMethodException"
    assert graph_error(sim.graph("DELETE", f"/{media_id}"))["code"] == 100


@pytest.mark.parametrize(("content", "mime"), [
    (defaults.SAMPLE_PNG, "image/png"), (b"\xff\xd8\xff\xe0jpeg", "image/jpeg"), (WEBP, "image/webp"),
    (b"OggS" + bytes(20), "audio/ogg; codecs=opus"), (b"ID3mp3", "audio/mpeg"), (bytes(30), "video/mp4"),
    (b"plain text", "text/plain"), (b"PK\x03\x04docx", "application/vnd.openxmlformats-officedocument"
                                                      ".wordprocessingml.document"),
])
def test_every_supported_type_uploads(sim, content, mime):
    assert upload(sim, content, mime).status_code == 200


@pytest.mark.parametrize(("content", "mime", "what"), [
    (b"<html></html>", "text/html", "type"),
    (b"GIF89a", "image/gif", "type"),
    (b"not a png", "image/png", "content"),
    (b"\x89PNG\r\n\x1a\n" + bytes(5 * 1024 * 1024), "image/png", "large"),
    (WEBP + bytes(100 * 1024), "image/webp", "large"),
    (b"", "application/pdf", "empty"),
])
def test_refused_uploads_are_131053(sim, content, mime, what):
    response = upload(sim, content, mime)
    assert response.status_code == 400
    error = graph_error(response)
    assert error["code"] == 131053 and what in error["error_data"]["details"]


def test_upload_needs_messaging_product_file_and_type(sim):
    no_product = sim.graph("POST", f"/{PNID}/media", data={"type": "image/png"},
                           files={"file": ("a.png", defaults.SAMPLE_PNG, "image/png")})
    assert graph_error(no_product)["code"] == 100
    no_file = sim.graph("POST", f"/{PNID}/media", data={"messaging_product": "whatsapp", "type": "image/png"},
                        files={"other": ("a.png", defaults.SAMPLE_PNG, "image/png")})
    assert graph_error(no_file)["code"] == 131008 and "file" in no_file.json()["error"]["error_data"]["details"]
    no_type = sim.graph("POST", f"/{PNID}/media", data={"messaging_product": "whatsapp"},
                        files={"file": ("a.png", defaults.SAMPLE_PNG, "image/png")})
    assert graph_error(no_type)["code"] == 131008 and "type" in no_type.json()["error"]["error_data"]["details"]
    assert upload(sim, defaults.SAMPLE_PNG, "image/png", messaging_product="whatsapp").status_code == 200
    assert sim.graph("POST", f"/{PNID}/media", token=None).status_code == 401


def test_media_of_a_number_is_hidden_from_other_numbers_ids(sim):
    media_id = upload(sim, defaults.SAMPLE_PNG, "image/png").json()["id"]
    other = sim.graph("GET", f"/{media_id}", params={"phone_number_id": "999999999999999"})
    assert graph_error(other)["type"] == "GraphMethodException"

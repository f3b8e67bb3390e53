"""The demo's stand-in business systems (web/demo_services.py), through the real app."""

from __future__ import annotations

import re
from datetime import date, timedelta

from starlette.testclient import TestClient


def test_orders_by_number_and_404_for_unknown(client: TestClient) -> None:
    response = client.get("/demo-services/orders/100234")
    assert response.status_code == 200
    order = response.json()
    assert order["status"] == "shipped" and order["carrier"] == "BRT" and order["tracking"]
    assert date.fromisoformat(order["eta"])  # an ISO date
    missing = client.get("/demo-services/orders/424242")
    assert missing.status_code == 404 and missing.json()["message"] == "order 424242 not found"


def test_changing_the_delivery_date(client: TestClient) -> None:
    wanted = (date.today() + timedelta(days=5)).isoformat()
    moved = client.post("/demo-services/orders/100234/delivery-date", json={"date": wanted})
    assert moved.status_code == 200 and moved.json()["eta"] == wanted and moved.json()["rescheduled"] is True
    delivered = client.post("/demo-services/orders/100235/delivery-date", json={"date": wanted})
    assert delivered.status_code == 409
    past = client.post("/demo-services/orders/100234/delivery-date", json={"date": "2000-01-01"})
    assert past.status_code == 422
    assert client.post("/demo-services/orders/1/delivery-date", json={"date": wanted}).status_code == 404


def test_boarding_pass_is_a_valid_pdf_for_the_right_surname_only(client: TestClient) -> None:
    response = client.get("/demo-services/boarding-pass/abc123", params={"surname": " ROSSI "})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == 'attachment; filename="boarding-pass-ABC123.pdf"'
    pdf = response.content
    assert pdf.startswith(b"%PDF-1.4\n") and pdf.rstrip().endswith(b"%%EOF")
    assert b"(Passenger: Mario Rossi) Tj" in pdf
    # the xref table points at every object and startxref at the table: a reader can open it
    startxref = int(re.search(rb"startxref\n(\d+)", pdf).group(1))  # type: ignore[union-attr]
    assert pdf[startxref:].startswith(b"xref\n0 6\n")
    offsets = [int(m) for m in re.findall(rb"(\d{10}) 00000 n", pdf)]
    assert [pdf[o:].split(b"\n", 1)[0] for o in offsets] == [f"{n} 0 obj".encode() for n in range(1, 6)]
    length = int(re.search(rb"/Length (\d+)", pdf).group(1))  # type: ignore[union-attr]
    stream = pdf.split(b"stream\n", 1)[1].split(b"\nendstream", 1)[0]
    assert len(stream) == length
    assert client.get("/demo-services/boarding-pass/ABC123", params={"surname": "Bianchi"}).status_code == 404
    assert client.get("/demo-services/boarding-pass/ZZZ999", params={"surname": "Rossi"}).status_code == 404

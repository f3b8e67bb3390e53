"""The demo's stand-in for a business's own systems (docs/bot.md "Services"): an order tracker and an airline's
boarding passes, called by the demo flows (centralino/bot/demo/) through bot/actions like any real service.

Fixed made-up data, no database, no authentication: it plays "the business's server", not part of Centralino.
Dates are relative to today so the demo always reads sensibly.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

router = APIRouter(prefix="/demo-services", tags=["demo services"])

# number -> (status, carrier, tracking, days from today to the delivery / shipping date)
ORDERS: dict[str, tuple[str, str | None, str | None, int]] = {
    "100234": ("shipped", "BRT", "BRT0012345678", 2),
    "100235": ("delivered", "GLS", "GLS9988776655", -3),
    "100236": ("processing", None, None, 1),
    "100237": ("in_transit", "Poste Italiane", "PI4455667788", 1),
}
# booking code -> (surname, passenger, flight, from, to, days from today, time, seat, gate)
BOOKINGS: dict[str, tuple[str, str, str, str, str, int, str, str, str]] = {
    "ABC123": ("rossi", "Mario Rossi", "AZ 1234", "Roma FCO", "Milano LIN", 1, "08:45", "12A", "B14"),
    "XYZ789": ("smith", "Jane Smith", "AZ 0610", "Roma FCO", "New York JFK", 2, "10:20", "31C", "E22"),
}
RESCHEDULE_MAX_DAYS = 30


def _not_found(what: str) -> JSONResponse:
    return JSONResponse({"error": "not_found", "message": f"{what} not found"}, status_code=404)


def _order(number: str, today: date) -> dict[str, Any] | None:
    row = ORDERS.get(number.strip())
    if row is None:
        return None
    status, carrier, tracking, days = row
    return {"number": number.strip(), "status": status, "carrier": carrier, "tracking": tracking,
            "eta": (today + timedelta(days=days)).isoformat()}


@router.get("/orders/{number}")
def get_order(number: str) -> JSONResponse:
    order = _order(number, date.today())
    return JSONResponse(order) if order is not None else _not_found(f"order {number}")


class NewDeliveryDate(BaseModel):
    date: str


@router.post("/orders/{number}/delivery-date")
def change_delivery_date(number: str, body: NewDeliveryDate) -> JSONResponse:
    today = date.today()
    order = _order(number, today)
    if order is None:
        return _not_found(f"order {number}")
    if order["status"] == "delivered":
        return JSONResponse({"error": "conflict", "message": "the order was already delivered"}, status_code=409)
    try:
        wanted = date.fromisoformat(body.date[:10])
    except ValueError:
        return JSONResponse({"error": "invalid", "message": "date must be YYYY-MM-DD"}, status_code=422)
    if not today < wanted <= today + timedelta(days=RESCHEDULE_MAX_DAYS):
        return JSONResponse({"error": "invalid", "message": f"the date must be within {RESCHEDULE_MAX_DAYS} days"},
                            status_code=422)
    return JSONResponse({**order, "eta": wanted.isoformat(), "rescheduled": True})


@router.get("/boarding-pass/{booking}")
def boarding_pass(booking: str, surname: str = "") -> Response:
    code = booking.strip().upper()
    row = BOOKINGS.get(code)
    if row is None or row[0] != surname.strip().casefold():
        return _not_found(f"booking {code} for that surname")
    _, passenger, flight, origin, destination, days, departs, seat, gate = row
    when = (date.today() + timedelta(days=days)).isoformat()
    lines = ["BOARDING PASS", f"Passenger: {passenger}", f"Booking: {code}", f"Flight: {flight}",
             f"{origin} -> {destination}", f"Date: {when}  Departure: {departs}", f"Seat: {seat}  Gate: {gate}"]
    return Response(content=tiny_pdf(lines), media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="boarding-pass-{code}.pdf"'})


def tiny_pdf(lines: list[str]) -> bytes:
    """A one-page PDF showing `lines` in Helvetica: hand-written objects with a correct xref table."""
    def escape(text: str) -> str:
        ascii_text = text.encode("ascii", "replace").decode("ascii")
        return ascii_text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    ops = ["BT", "/F1 18 Tf", "50 780 Td", f"({escape(lines[0])}) Tj", "/F1 12 Tf"]
    for line in lines[1:]:
        ops += ["0 -22 Td", f"({escape(line)}) Tj"]
    ops.append("ET")
    stream = "\n".join(ops).encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> "
        b"/Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)

"""Delivery receipts of the business' messages: sent → delivered → read (→ played), or failed.

The automatic progression follows the configured delays; the control API can emit any status on
demand (duplicates, out of order, batched, forced failures) to test the product's receiver.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from centralino.simulator import payloads
from centralino.simulator.dispatcher import WebhookTarget
from centralino.simulator.errors import status_error
from centralino.simulator.state import STATUS_RANK, MessageRecord

if TYPE_CHECKING:
    from centralino.simulator.app import Simulator

STATUSES = frozenset({"sent", "delivered", "read", "played", "failed"})
WITH_PRICING = frozenset({"sent", "delivered"})


def lane(record: MessageRecord) -> str:
    return f"{record.phone_number_id}:{record.wa_id}"


def schedule(sim: Simulator, record: MessageRecord, failure: tuple[int, str | None] | None) -> None:
    """Start the automatic progression of a just-accepted message (or its asynchronous failure)."""
    delay = sim.config.delays.sent
    if failure is not None:
        code, details = failure
        sim.dispatcher.later(delay, lambda: fail(sim, record, code, details))
    else:
        sim.dispatcher.later(delay, lambda: _advance(sim, record, "sent"))


def _advance(sim: Simulator, record: MessageRecord, status: str) -> None:
    if record.status == "failed" or record.reached(status):
        return
    emit(sim, record, [status])
    delays = sim.config.delays
    if status == "sent":
        sim.dispatcher.later(delays.delivered, lambda: _advance(sim, record, "delivered"))
    elif status == "delivered" and delays.read is not None:
        sim.dispatcher.later(delays.read, lambda: _advance(sim, record, "read"))


def fail(sim: Simulator, record: MessageRecord, code: int, details: str | None = None) -> None:
    sim.state.stats_of(record.phone_number_id).failed[code] += 1
    emit(sim, record, ["failed"], error=status_error(code, details))


def item(sim: Simulator, record: MessageRecord, status: str, ts: int,
         error: dict[str, Any] | None = None) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if record.callback_data is not None:
        extra["biz_opaque_callback_data"] = record.callback_data
    if status in WITH_PRICING:
        extra["pricing"] = payloads.pricing(record.pricing_category, record.pricing_type)
    if status == "failed":
        extra["errors"] = [error or status_error(131000)]
    return payloads.status(record.id, status, record.wa_id, ts, **extra)


def emit(sim: Simulator, record: MessageRecord, statuses: list[str], *, batch: bool = False,
         error: dict[str, Any] | None = None) -> None:
    """Record and send these statuses of one message, one POST each or all in one POST."""
    number = sim.number(record.phone_number_id)
    ts = sim.now()
    items = []
    for status in statuses:
        record.history.append((status, ts))
        if status == "failed":
            record.status = "failed"
            record.error = error or status_error(131000)
        elif record.status != "failed" and STATUS_RANK[status] > STATUS_RANK.get(record.status, 0):
            record.status = status
        items.append(item(sim, record, status, ts, error))
    if number is None:
        return
    groups = [items] if batch else [[one] for one in items]
    for group in groups:
        envelope = payloads.envelope(number.waba_id, number.phone_number_id, number.display_phone_number,
                                     statuses=group)
        record.webhook_bodies.append(sim.emit(number, envelope, lane(record)))


def read_by_customer(sim: Simulator, phone_number_id: str, wa_id: str) -> list[str]:
    """The customer opens the chat: every business message not yet read becomes read."""
    read = []
    for record in sim.state.conversation(phone_number_id, wa_id):
        if record.direction == "out" and record.status != "failed" and not record.reached("read"):
            emit(sim, record, ["read"])
            read.append(record.id)
    return read


def play(sim: Simulator, record: MessageRecord) -> None:
    """The customer plays a voice message: read first if it was not, then `played` (once)."""
    if not record.reached("read"):
        emit(sim, record, ["read"])
    if not record.reached("played"):
        emit(sim, record, ["played"])


def redeliver(sim: Simulator, record: MessageRecord) -> int:
    """Meta's duplicates: POST again, byte for byte, every status webhook already sent for it."""
    number = sim.number(record.phone_number_id)
    if number is None or not number.webhook_url:
        return 0
    for body in list(record.webhook_bodies):
        sim.dispatcher.post(WebhookTarget(number.webhook_url, number.app_secret), body, lane(record))
    return len(record.webhook_bodies)

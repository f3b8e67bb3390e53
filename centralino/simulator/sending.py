"""`POST /{version}/{phone-number-id}/messages`: validate, enforce Meta's limits, accept, schedule receipts."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import TYPE_CHECKING, Any

import orjson

from centralino.simulator import message_rules, statuses, template_send
from centralino.simulator.config import BusinessNumber
from centralino.simulator.errors import GraphError
from centralino.simulator.ids import wamid
from centralino.simulator.message_rules import MarkRead, SendRequest
from centralino.simulator.state import Customer, MessageRecord, SendFault, StoredMedia, TemplateRecord

if TYPE_CHECKING:
    from centralino.simulator.app import Simulator

PAIR_RATE_DETAILS = ("Message failed to send because there were too many messages sent from this phone number to "
                     "the same phone number in a short period of time.")
WINDOW_DETAILS = ("Message failed to send because more than 24 hours have passed since the customer last replied "
                  "to this number.")
UNDELIVERABLE_DETAILS = "Message failed to send because the recipient is not a WhatsApp user or cannot receive it."


def send(sim: Simulator, number: BusinessNumber, body: Any) -> dict[str, Any]:
    """The Graph API answer for a send (or mark-as-read); raises GraphError for synchronous refusals."""
    stats = sim.state.stats_of(number.phone_number_id)
    try:
        request = message_rules.parse(body, lambda media_id: _own_media(sim, number, media_id))
        if isinstance(request, MarkRead):
            return _mark_read(sim, number, request)
        template, rendered = _template(sim, number, request) if request.type == "template" else (None, None)
        fault = _take_fault(sim, number)
        if fault is not None and fault.mode == "sync":
            raise GraphError(fault.code, fault.details or "Simulated failure (control API fault injection).")
        now = sim.clock()
        mps = sim.config.mps_of(number)
        if not sim.throughput.allows(number.phone_number_id, mps, now):
            stats.rate_violations += 1
            raise GraphError(130429, f"Message failed to send because there were too many messages sent from this "
                                     f"phone number in a short period of time (limit {mps} messages per second).")
        pair = sim.pairs.check(number.phone_number_id, request.wa_id, now)
        if pair.violation:
            stats.pair_violations += 1
        if pair.refuse:
            raise GraphError(131056, PAIR_RATE_DETAILS)
    except GraphError as exc:
        stats.refused[exc.code] += 1
        raise
    sim.throughput.count(number.phone_number_id, now)
    sim.pairs.count(number.phone_number_id, request.wa_id, now)
    record = _accept(sim, number, request, body, template, rendered)
    customer = _customer(sim, request.wa_id)
    failure: tuple[int, str | None] | None = None
    if fault is not None:
        failure = (fault.code, fault.details)
    elif not customer.reachable:
        failure = (131026, UNDELIVERABLE_DETAILS)
    elif template is None and not window_open(sim, number.phone_number_id, request.wa_id):
        failure = (131047, WINDOW_DETAILS)
    statuses.schedule(sim, record, failure)
    return {"messaging_product": "whatsapp", "contacts": [{"input": request.to, "wa_id": request.wa_id}],
            "messages": [{"id": record.id}]}


def window_open(sim: Simulator, phone_number_id: str, wa_id: str) -> bool:
    last = sim.state.last_inbound.get((phone_number_id, wa_id))
    return last is not None and sim.clock() - last < sim.config.window_seconds


def _own_media(sim: Simulator, number: BusinessNumber, media_id: str) -> StoredMedia | None:
    found = sim.state.media.get(media_id)
    if found is None or found.owner not in (None, number.phone_number_id):
        return None
    return found


def _customer(sim: Simulator, wa_id: str) -> Customer:
    customer = sim.state.customers.get(wa_id)
    if customer is None:
        customer = Customer(wa_id, name="", reachable=wa_id not in sim.config.unreachable)
        sim.state.customers[wa_id] = customer
    return customer


def _take_fault(sim: Simulator, number: BusinessNumber) -> SendFault | None:
    for fault in sim.state.faults:
        if fault.phone_number_id in (None, number.phone_number_id):
            sim.state.faults.remove(fault)
            return fault
    return None


def _template(sim: Simulator, number: BusinessNumber,
              request: SendRequest) -> tuple[TemplateRecord, dict[str, Any]]:
    name = request.content["name"]
    language = request.content["language"]["code"]
    template = sim.state.find_template(number.waba_id, name, language)
    if template is None:
        raise GraphError(132001, f"template name ({name}) does not exist in {language}")
    if template.status == "PAUSED":
        raise GraphError(132015, f"template {name} ({language}) is paused because of low quality")
    if template.status == "DISABLED":
        raise GraphError(132016, f"template {name} ({language}) has been disabled")
    if template.status != "APPROVED":
        raise GraphError(132001, f"template name ({name}) in {language} is not approved (status {template.status})")
    rendered = template_send.match(template, list(request.content.get("components") or []))
    return template, dataclasses.asdict(rendered)


def _accept(sim: Simulator, number: BusinessNumber, request: SendRequest, body: Any,
            template: TemplateRecord | None, rendered: dict[str, Any] | None) -> MessageRecord:
    pnid = number.phone_number_id
    message_id = wamid(request.wa_id)
    while message_id in sim.state.messages:
        message_id = wamid(request.wa_id)
    record = MessageRecord(id=message_id, phone_number_id=pnid, wa_id=request.wa_id, direction="out",
                           type=request.type, payload=body, timestamp=sim.now(),
                           callback_data=request.callback_data, context_id=request.context_id, rendered=rendered)
    record.history.append(("accepted", record.timestamp))
    if template is not None:
        record.template_id = template.id
        record.pricing_category = template.category.lower()
        free = template.category == "UTILITY" and window_open(sim, pnid, request.wa_id)
        record.pricing_type = "free_customer_service" if free else "regular"
    sim.state.record(record)
    stats = sim.state.stats_of(pnid)
    stats.accepted += 1
    _note_duplicates(sim, record, body)
    return record


def _note_duplicates(sim: Simulator, record: MessageRecord, body: Any) -> None:
    """Count what a sender that never doubles would never produce: a callback id or a body seen twice."""
    state, pnid = sim.state, record.phone_number_id
    stats = state.stats_of(pnid)
    if record.callback_data:
        first = state.seen_callback_data.setdefault((pnid, record.callback_data), record.id)
        if first != record.id:
            stats.duplicate_callback_data += 1
            state.duplicates.append({"kind": "biz_opaque_callback_data", "key": record.callback_data,
                                     "first": first, "again": record.id})
    digest = hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS, default=str)).hexdigest()
    first = state.seen_bodies.setdefault((pnid, digest), record.id)
    if first != record.id:
        stats.duplicate_bodies += 1
        state.duplicates.append({"kind": "body", "key": digest[:16], "first": first, "again": record.id})


def _mark_read(sim: Simulator, number: BusinessNumber, request: MarkRead) -> dict[str, Any]:
    target = sim.state.messages.get(request.message_id)
    if target is None or target.direction != "in" or target.phone_number_id != number.phone_number_id:
        raise GraphError(100, f"Param message_id is not a message received by this phone number: "
                              f"'{request.message_id}'.")
    for record in sim.state.conversation(number.phone_number_id, target.wa_id):
        if record.direction == "in" and record.timestamp <= target.timestamp:
            record.read_by_business = True
    sim.state.stats_of(number.phone_number_id).marked_read += 1
    return {"success": True}

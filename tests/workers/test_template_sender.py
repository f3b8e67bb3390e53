"""A template end to end against Meta's side (the Graph API simulator over HTTP, its signed webhooks back):
an approved template with a document header (our upload) and a body variable goes out after the 24-hour
window closed and Meta accepts it as the customer will see it; a wrong parameter count and a paused template
are refused before anything is queued."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import insert

from centralino.app.outbound import WindowClosed
from centralino.app.template_send import TemplateRequest, TemplateSender
from centralino.domain.outbound import Text
from centralino.domain.sending import callback_data
from centralino.domain.template_lint import lint
from centralino.errors import CentralinoError
from centralino.storage.tables import messages, outbox
from centralino.storage.tables_templates import templates
from tests.factories import WABA
from tests.helpers import count, rows
from tests.meta_simulator import MetaSide
from tests.outbound_helpers import table_counts

GIULIA = "393471234567"
PDF = b"%PDF-1.4\n% boarding pass AZ610\n"
BOARDING = {
    "name": "boarding_pass", "language": "en", "category": "UTILITY",
    "components": [
        {"type": "HEADER", "format": "DOCUMENT", "example": {"header_handle": ["4::YXBwbGljYXRpb24vcGRm"]}},
        {"type": "BODY", "text": "Here is your boarding pass for flight {{1}}, have a good trip.",
         "example": {"body_text": [["AZ610"]]}},
        {"type": "FOOTER", "text": "Centralino Airways"},
    ],
}
PROMO = {
    "name": "spring_news", "language": "en", "category": "UTILITY",
    "components": [{"type": "BODY", "text": "Hello {{1}}, your account statement for March is ready.",
                    "example": {"body_text": [["Giulia"]]}}],
}


@pytest.fixture
def meta(services) -> Iterator[MetaSide]:
    side = MetaSide(services)
    yield side
    side.close()


def both_sides(meta: MetaSide, definition: dict[str, Any], status: str) -> None:
    """The template as Meta has it and as our sync stores it (status lower-cased)."""
    assert lint(definition) == []
    seeded = meta.control.post("/templates", json={**definition, "status": status.upper()})
    assert seeded.status_code == 201, seeded.text
    now = datetime.now(UTC)
    with meta.services.engine.begin() as conn:
        conn.execute(insert(templates).values(
            account_id=WABA, name=definition["name"], language=definition["language"],
            category=definition["category"].lower(), parameter_format="positional",
            components=definition["components"], status=status, provider_id=seeded.json()["id"],
            created_at=now, updated_at=now))


def test_an_approved_template_with_a_document_header_goes_out_after_the_window(services, meta):
    conversation_id = meta.customer_writes(GIULIA)
    meta.clock.advance(25 * 3600)  # the window closed, for us and for Meta
    both_sides(meta, BOARDING, "approved")
    # Giulia's language is unknown: the configured default picks the English template
    sender = TemplateSender(services.engine, services.directory, services.bus, services.outbound, "en")
    with pytest.raises(WindowClosed):
        services.outbound.do_send(conversation_id, Text("free-form is not allowed now"))
    upload = meta.api.post("/api/v1/media", files={"file": ("pass.pdf", PDF, "application/pdf")}).json()["id"]

    queued = sender.do_send(conversation_id, TemplateRequest("boarding_pass", parameters={
        "header": {"media_id": upload, "filename": "boarding-pass.pdf"}, "body": ["AZ610"]}), origin="api")
    assert meta.run(meta.sender().drain()) == 1

    msg = rows(services, messages, messages.c.id == queued.message_id)[0]
    assert msg["external_id"] and msg["status"] != "failed", msg
    assert msg["text"] == ("[Document: boarding-pass.pdf]\nHere is your boarding pass for flight AZ610, "
                           "have a good trip.\nCentralino Airways")
    at_meta = next(r for r in meta.sim.state.messages.values() if r.callback_data == callback_data(queued.message_id))
    assert at_meta.type == "template" and at_meta.pricing_type == "regular"  # outside the window
    assert at_meta.rendered["body"] == "Here is your boarding pass for flight AZ610, have a good trip."
    header = at_meta.payload["template"]["components"][0]["parameters"][0]
    assert header["document"]["filename"] == "boarding-pass.pdf"
    assert meta.sim.state.media[header["document"]["id"]].content == PDF  # our upload, by Meta's media id
    meta.settle(lambda: rows(services, messages, messages.c.id == queued.message_id)[0]["status"]
                in ("delivered", "read"), "the template's delivery")


def test_wrong_parameters_and_a_paused_template_are_refused_before_queueing(services, meta):
    conversation_id = meta.customer_writes(GIULIA)
    meta.clock.advance(25 * 3600)
    both_sides(meta, BOARDING, "approved")
    both_sides(meta, PROMO, "approved")
    sender = TemplateSender(services.engine, services.directory, services.bus, services.outbound, "en")
    # Meta pauses the template; its status webhook reaches us like any other
    with services.engine.begin() as conn:
        conn.execute(templates.update().where(templates.c.name == "spring_news")
                     .values(status="paused", status_reason="FIRST_PAUSE"))
    before = table_counts(services)
    with pytest.raises(CentralinoError) as wrong:
        sender.do_send(conversation_id, TemplateRequest("boarding_pass", parameters={
            "header": {"link": "https://cdn.example/pass.pdf"}, "body": ["AZ610", "extra"]}), origin="api")
    assert (wrong.value.code, wrong.value.status, wrong.value.field) == \
        ("template.parameter_count", 422, "parameters.body")
    with pytest.raises(CentralinoError) as paused:
        sender.do_send(conversation_id, TemplateRequest("spring_news", parameters={"body": ["Giulia"]}), origin="api")
    assert (paused.value.code, paused.value.status) == ("template.not_sendable", 409)
    assert "paused" in paused.value.message and "FIRST_PAUSE" in paused.value.message
    assert table_counts(services) == before
    assert count(services, outbox) == 0
    assert meta.run(meta.sender().drain()) == 0
    assert not [r for r in meta.sim.state.messages.values() if r.direction == "out"]

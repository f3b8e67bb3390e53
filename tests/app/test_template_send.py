"""Sending a stored template into a conversation: the account's template, the customer's language with its
fallbacks, refusals (not found, not sendable, bad parameters) that queue nothing, mapping and idempotency."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import insert, update

from centralino.app.template_send import TemplateRequest, pick_language, render_for
from centralino.domain.outbound import TemplateMessage
from centralino.domain.outbound_codec import decode_stored
from centralino.errors import CentralinoError
from centralino.storage.tables import contacts, conversations, messages, outbox
from centralino.storage.tables_templates import templates
from tests.factories import WABA, WABA_2, whatsapp_channel
from tests.helpers import count, rows
from tests.outbound_helpers import customer_wrote, table_counts

BODY = {"type": "BODY", "text": "Ciao {{1}}, il tuo ordine {{2}} è stato spedito.",
        "example": {"body_text": [["Anna", "A-1"]]}}


def add_template(services: Any, *, name: str = "order_shipped", language: str = "it", status: str = "approved",
                 category: str = "utility", components: list[dict[str, Any]] | None = None, account: str = WABA,
                 reason: str | None = None) -> int:
    now = datetime.now(UTC)
    with services.engine.begin() as conn:
        return int(conn.execute(insert(templates).values(
            account_id=account, name=name, language=language, category=category, parameter_format="positional",
            components=components or [BODY], status=status, status_reason=reason, created_at=now,
            updated_at=now).returning(templates.c.id)).scalar_one())


@pytest.fixture
def closed(services: Any) -> int:
    """A conversation whose customer wrote two days ago: only a template may go."""
    whatsapp_channel(services)
    return customer_wrote(services, ago=2 * 86400)


def set_language(services: Any, conversation_id: int, language: str | None) -> None:
    with services.engine.begin() as conn:
        contact_id = conn.execute(conversations.select().where(conversations.c.id == conversation_id)).one().contact_id
        conn.execute(update(contacts).where(contacts.c.id == contact_id).values(language=language))


def test_an_approved_template_is_queued_outside_the_window(services, closed, recorder):
    template_id = add_template(services)
    queued = services.template_sender.do_send(
        closed, TemplateRequest("order_shipped", parameters={"body": ["Anna", "A-1"]}), origin="api")
    message = rows(services, messages, messages.c.id == queued.message_id)[0]
    assert (message["type"], message["status"], message["origin"]) == ("template", "queued", "api")
    assert message["text"] == "Ciao Anna, il tuo ordine A-1 è stato spedito."
    content = decode_stored(message["content"])
    assert content == TemplateMessage(
        name="order_shipped", language="it", category="utility", template_id=template_id,
        components=({"type": "body", "parameters": [{"type": "text", "text": "Anna"}, {"type": "text", "text": "A-1"}]},),
        preview="Ciao Anna, il tuo ordine A-1 è stato spedito.")
    assert count(services, outbox, outbox.c.message_id == queued.message_id) == 1
    assert [e.payload["type"] for e in recorder.events if e.type == "message.queued"] == ["template"]


@pytest.mark.parametrize(("contact_language", "explicit", "available", "expected"), [
    ("en_US", None, ["en_US", "en", "it"], "en_US"),
    ("en_US", None, ["en", "it"], "en"),
    ("de", None, ["en", "it"], "it"),  # the configured default
    (None, None, ["en", "it"], "it"),
    (None, "en", ["en", "it"], "en"),  # asked for: no fallback
])
def test_the_language_follows_the_customer_then_the_default(services, closed, contact_language, explicit,
                                                            available, expected):
    for language in available:
        add_template(services, language=language)
    set_language(services, closed, contact_language)
    queued = services.template_sender.do_send(
        closed, TemplateRequest("order_shipped", explicit, {"body": ["Anna", "A-1"]}), origin="api")
    assert decode_stored(rows(services, messages, messages.c.id == queued.message_id)[0]["content"]).language == expected


def test_pick_language_finds_nothing_when_no_language_fits():
    assert pick_language(["fr"], None, "en_US", "it") is None
    assert pick_language(["fr", "it"], "en", "it", "it") is None


def refused(services, conversation_id: int, request: TemplateRequest) -> CentralinoError:
    before = table_counts(services)
    with pytest.raises(CentralinoError) as caught:
        services.template_sender.do_send(conversation_id, request, origin="api")
    assert table_counts(services) == before  # nothing queued, nothing recorded
    return caught.value


def test_an_unknown_template_or_language_is_not_found(services, closed):
    add_template(services)
    add_template(services, name="other_account", account=WABA_2)
    error = refused(services, closed, TemplateRequest("no_such_template"))
    assert (error.code, error.status, error.field) == ("template.not_found", 404, "name")
    error = refused(services, closed, TemplateRequest("order_shipped", "en", {"body": ["Anna", "A-1"]}))
    assert (error.code, error.status, error.field) == ("template.not_found", 404, "language")
    assert "it exists in it" in error.message
    error = refused(services, closed, TemplateRequest("other_account"))  # another WABA's template
    assert error.code == "template.not_found"


@pytest.mark.parametrize(("status", "reason"), [("paused", "FIRST_PAUSE"), ("disabled", None), ("pending", None),
                                                ("rejected", "INVALID_FORMAT"), ("draft", None)])
def test_a_template_meta_does_not_allow_is_refused_with_its_status_and_reason(services, closed, status, reason):
    add_template(services, status=status, reason=reason)
    error = refused(services, closed, TemplateRequest("order_shipped", parameters={"body": ["Anna", "A-1"]}))
    assert (error.code, error.status) == ("template.not_sendable", 409)
    assert status in error.message and (reason is None or reason in error.message)
    assert error.details["template_status"] == status


def test_wrong_parameters_are_refused_before_queueing(services, closed):
    add_template(services)
    error = refused(services, closed, TemplateRequest("order_shipped", parameters={"body": ["Anna"]}))
    assert (error.code, error.status, error.field) == ("template.parameter_count", 422, "parameters.body")


def test_parameters_mapped_from_the_contact_the_case_and_the_payload(services, closed):
    add_template(services)
    with services.engine.begin() as conn:
        contact_id = conn.execute(conversations.select().where(conversations.c.id == closed)).one().contact_id
        conn.execute(update(contacts).where(contacts.c.id == contact_id).values(attributes={"nick": "Annina"}))
    request = TemplateRequest("order_shipped", parameters={
        "body": [{"from": "contact.attributes.nick"}, {"from": "payload.order.id"}]})
    queued = services.template_sender.do_send(closed, request, origin="api", context={"payload": {"order": {"id": "Z9"}}})
    assert rows(services, messages, messages.c.id == queued.message_id)[0]["text"] == \
        "Ciao Annina, il tuo ordine Z9 è stato spedito."
    error = refused(services, closed, TemplateRequest("order_shipped", parameters={
        "body": [{"from": "contact.attributes.missing"}, "x"]}))
    assert (error.code, error.field) == ("template.parameter_source_missing", "parameters.body[0]")
    error = refused(services, closed, TemplateRequest("order_shipped", parameters={
        "body": [{"from": "case.id"}, {"from": "case.nothing"}]}))
    assert error.field == "parameters.body[1]"


def test_an_idempotency_key_sends_once_even_after_the_template_is_paused(services, closed):
    template_id = add_template(services)
    request = TemplateRequest("order_shipped", parameters={"body": ["Anna", "A-1"]})
    first = services.template_sender.do_send(closed, request, origin="api", idempotency_key="k1")
    again = services.template_sender.do_send(closed, request, origin="api", idempotency_key="k1")
    assert (again.message_id, again.replayed) == (first.message_id, True)
    with services.engine.begin() as conn:
        conn.execute(update(templates).where(templates.c.id == template_id).values(status="paused"))
    later = services.template_sender.do_send(closed, request, origin="api", idempotency_key="k1")
    assert (later.message_id, later.replayed) == (first.message_id, True)
    assert count(services, messages, messages.c.type == "template") == 1
    assert refused(services, closed, request).code == "template.not_sendable"  # a new send is refused


def test_render_for_reuses_the_parsed_template(services):
    row = {"id": 99, "updated_at": datetime(2026, 1, 1, tzinfo=UTC), "name": "n", "language": "it",
           "category": "utility", "parameter_format": "positional", "components": [BODY]}
    components, preview, media = render_for(row, {"body": ["Anna", "A-1"]})
    assert preview == "Ciao Anna, il tuo ordine A-1 è stato spedito." and media is None
    assert components[0]["parameters"][1] == {"type": "text", "text": "A-1"}
    from centralino.app.template_send import prepare
    assert prepare(row) is prepare(dict(row))  # parsed once per version
    assert prepare(row) is not prepare({**row, "updated_at": datetime(2026, 1, 2, tzinfo=UTC)})

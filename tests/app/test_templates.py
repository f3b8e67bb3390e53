"""Template lifecycle against the simulator over real HTTP: drafts, submission, Meta's review webhooks
(signed, through our pipeline) updating status, reason and history; paging sync; deletion; permissions."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from centralino.domain.access import Principal, Role
from centralino.errors import Conflict, Forbidden, InvalidInput
from centralino.services import Services
from centralino.storage import templates as template_repo
from tests.meta_simulator import MetaSide

SUPERVISOR = Principal(role=Role.SUPERVISOR, user_id=None, via="integration")
AGENT = Principal(role=Role.AGENT, user_id=None, via="integration")

SHIPPING: dict[str, Any] = {
    "name": "shipping_update", "language": "it", "category": "utility",
    "components": [
        {"type": "HEADER", "format": "TEXT", "text": "Ordine {{1}}", "example": {"header_text": ["4711"]}},
        {"type": "BODY", "text": "Ciao {{1}}, il tuo ordine {{2}} arriverà domani tra le 9 e le 13.",
         "example": {"body_text": [["Giulia", "4711"]]}},
        {"type": "FOOTER", "text": "Centralino Spedizioni"},
    ],
}
# Passes the local linter, but asks for a password: the simulator's review rejects it as SCAM.
PHISHY: dict[str, Any] = {
    "name": "account_check", "language": "it", "category": "utility",
    "components": [{"type": "BODY", "text": "Ciao {{1}}, per sbloccare il tuo ordine rispondi con la password "
                                            "del tuo account entro oggi.",
                    "example": {"body_text": [["Giulia"]]}}],
}


@pytest.fixture
def meta(services: Services) -> Iterator[MetaSide]:
    side = MetaSide(services, template_review_delay=0.05)
    yield side
    side.close()


def _row(services: Services, template_id: int) -> dict[str, Any]:
    with services.engine.connect() as conn:
        row = template_repo.get(conn, template_id)
    assert row is not None
    return row


def _history(services: Services, template_id: int) -> list[dict[str, Any]]:
    with services.engine.connect() as conn:
        return template_repo.history(conn, template_id)


def _settled(meta: MetaSide, template_id: int, status: str) -> dict[str, Any]:
    assert meta.services.templates is not None
    return meta.settle(lambda: (row := _row(meta.services, template_id))["status"] == status and row,
                       f"template {template_id} {status}")


def test_submitted_template_is_approved_by_the_simulators_signed_webhook(services, meta, recorder):
    svc = services.templates
    row, problems = svc.do_create_draft(SUPERVISOR, copy.deepcopy(SHIPPING))
    assert problems == [] and row["status"] == "draft" and row["provider_id"] is None
    submitted = svc.do_submit(SUPERVISOR, row["id"])
    assert submitted["status"] in ("pending", "approved") and submitted["provider_id"]
    approved = _settled(meta, row["id"], "approved")
    assert approved["status_reason"] is None and approved["status_at"] is not None
    history = _history(services, row["id"])
    assert [(h["kind"], h["status"]) for h in history] == [("created", "draft"), ("submitted", "pending"),
                                                           ("status", "approved")]
    assert history[-1]["actor"] == "meta"
    updates = [e.payload for e in recorder.events if e.type == "template.updated"]
    assert updates[-1]["status"] == "approved" and updates[-1]["id"] == row["id"]
    # the simulator agrees: it now sends this template
    sim_templates = meta.control.get("/templates").json()
    assert any(t["name"] == "shipping_update" and t["status"] == "APPROVED" for t in
               (sim_templates["templates"] if isinstance(sim_templates, dict) else sim_templates))


def test_rejection_arrives_with_the_reason_and_the_template_can_be_fixed_and_resubmitted(services, meta):
    svc = services.templates
    row, problems = svc.do_create_draft(SUPERVISOR, copy.deepcopy(PHISHY))
    assert problems == []
    svc.do_submit(SUPERVISOR, row["id"])
    rejected = _settled(meta, row["id"], "rejected")
    assert rejected["status_reason"] == "SCAM"
    assert _history(services, row["id"])[-1]["detail"]["reason"] == "SCAM"
    fixed = copy.deepcopy(PHISHY["components"])
    fixed[0]["text"] = "Ciao {{1}}, il tuo ordine è pronto e ti aspetta nel negozio di via Roma fino a sabato."
    edited, problems = svc.do_edit_draft(SUPERVISOR, row["id"], {"components": fixed})
    assert problems == [] and edited["status"] == "rejected"
    svc.do_submit(SUPERVISOR, row["id"])
    again = _settled(meta, row["id"], "approved")
    assert again["status_reason"] is None and again["provider_id"] != rejected["provider_id"]
    kinds = [(h["kind"], h["status"]) for h in _history(services, row["id"])]
    assert kinds == [("created", "draft"), ("submitted", "pending"), ("status", "rejected"), ("edited", "rejected"),
                     ("submitted", "pending"), ("status", "approved")]


def test_pause_then_unpause_and_quality_and_category_changes_are_kept(services, meta):
    svc = services.templates
    row, _ = svc.do_create_draft(SUPERVISOR, copy.deepcopy(SHIPPING))
    provider_id = svc.do_submit(SUPERVISOR, row["id"])["provider_id"]
    _settled(meta, row["id"], "approved")
    meta.clock.advance(5)
    assert meta.control.post(f"/templates/{provider_id}/quality", json={"quality": "RED"}).status_code == 200
    paused = _settled(meta, row["id"], "paused")
    assert paused["quality"] == "red" and "FIRST_PAUSE" in (paused["status_reason"] or "")
    conversation_id = meta.customer_writes("393471234567")
    send = {"name": "shipping_update", "language": "it", "parameters": {"header": "4711", "body": ["Giulia", "4711"]}}
    refused = meta.api.post(f"/api/v1/conversations/{conversation_id}/templates", json=send)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "template.not_sendable"
    assert "paused" in refused.json()["error"]["message"]
    meta.clock.advance(5)
    assert meta.control.post(f"/templates/{provider_id}/status", json={"status": "APPROVED"}).status_code == 200
    _settled(meta, row["id"], "approved")
    assert meta.api.post(f"/api/v1/conversations/{conversation_id}/templates", json=send).status_code == 202
    assert meta.control.post(f"/templates/{provider_id}/category",
                             json={"category": "MARKETING"}).status_code == 200
    meta.settle(lambda: _row(services, row["id"])["category"] == "marketing", "the category update")
    kinds = [(h["kind"], h["status"]) for h in _history(services, row["id"])][3:]
    assert kinds == [("quality", "approved"), ("status", "paused"), ("status", "approved"),
                     ("category", "approved")]


def test_an_older_status_webhook_arriving_late_is_history_but_not_the_status(services, meta):
    from datetime import UTC, datetime, timedelta

    from centralino.app.unit_of_work import unit_of_work

    svc = services.templates
    row, _ = svc.do_create_draft(SUPERVISOR, copy.deepcopy(SHIPPING))
    provider_id = svc.do_submit(SUPERVISOR, row["id"])["provider_id"]
    approved = _settled(meta, row["id"], "approved")
    older = approved["status_at"] - timedelta(seconds=30)
    with unit_of_work(services.engine, services.bus) as uow:  # what the pipeline emits for a late redelivery
        uow.emit("template.status_changed", account_id=row["account_id"], template_id=provider_id,
                 name="shipping_update", language="it", status="paused", raw_event="PAUSED", reason=None,
                 at=older.isoformat(), data={})
    after = _row(services, row["id"])
    assert after["status"] == "approved" and after["status_at"] == approved["status_at"]
    last = _history(services, row["id"])[-1]
    assert last["status"] == "paused" and last["detail"]["applied"] is False
    assert after["updated_at"] <= datetime.now(UTC)


def test_sync_reads_every_page_and_updates_what_changed(services, meta):
    for index in range(7):
        body = copy.deepcopy(SHIPPING) | {"name": f"bulk_{index}", "category": "UTILITY"}
        assert meta.control.post("/templates", json=body).status_code in (200, 201)
    report = services.templates.do_sync(SUPERVISOR, page_size=3)
    # hello_world (seeded) + 7: pages of 3, 3, 2
    assert (report.pages, report.created, report.updated, report.unchanged) == (3, 8, 0, 0)
    with services.engine.connect() as conn:
        rows, _ = template_repo.list_page(conn, template_repo.TemplateFilter(), limit=50)
    assert sorted(r["name"] for r in rows) == sorted(["hello_world", *(f"bulk_{i}" for i in range(7))])
    assert {r["status"] for r in rows} == {"approved"} and all(r["provider_id"] for r in rows)
    again = services.templates.do_sync(SUPERVISOR, page_size=3)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 8)


def test_deleting_a_submitted_template_deletes_it_at_meta_and_keeps_the_history(services, meta):
    svc = services.templates
    row, _ = svc.do_create_draft(SUPERVISOR, copy.deepcopy(SHIPPING))
    svc.do_submit(SUPERVISOR, row["id"])
    _settled(meta, row["id"], "approved")
    assert svc.do_delete(SUPERVISOR, row["id"]) == [row["id"]]
    assert _row(services, row["id"])["status"] == "pending_deletion"
    sim = meta.control.get("/templates").json()
    listed = sim["templates"] if isinstance(sim, dict) else sim
    assert not any(t["name"] == "shipping_update" for t in listed)
    draft, _ = svc.do_create_draft(SUPERVISOR, copy.deepcopy(PHISHY))
    assert svc.do_delete(SUPERVISOR, draft["id"]) == [draft["id"]]
    with services.engine.connect() as conn:
        assert template_repo.get(conn, draft["id"]) is None


def test_lint_problems_block_submission_and_nothing_reaches_meta(services, meta):
    bad = copy.deepcopy(SHIPPING) | {"name": "Bad Name"}
    row, problems = services.templates.do_create_draft(SUPERVISOR, bad)
    assert any(p.field == "name" for p in problems)
    with pytest.raises(InvalidInput) as refused:
        services.templates.do_submit(SUPERVISOR, row["id"])
    assert refused.value.code == "template.lint_failed" and refused.value.status == 422
    assert refused.value.details["problems"][0]["field"] == "name"
    assert _row(services, row["id"])["status"] == "draft" and _row(services, row["id"])["provider_id"] is None
    sim = meta.control.get("/templates").json()
    assert not any(t["name"] == "Bad Name" for t in (sim["templates"] if isinstance(sim, dict) else sim))


def test_agents_cannot_manage_and_languages_share_the_category(services, meta):
    with pytest.raises(Forbidden):
        services.templates.do_create_draft(AGENT, copy.deepcopy(SHIPPING))
    services.templates.do_create_draft(SUPERVISOR, copy.deepcopy(SHIPPING))
    with pytest.raises(Conflict):
        services.templates.do_create_draft(SUPERVISOR, copy.deepcopy(SHIPPING))
    english = copy.deepcopy(SHIPPING) | {"language": "en_US", "category": "marketing"}
    with pytest.raises(InvalidInput) as mismatch:
        services.templates.do_create_draft(SUPERVISOR, english)
    assert mismatch.value.field == "category"
    english["category"] = "utility"
    row, _ = services.templates.do_create_draft(SUPERVISOR, english)
    with services.engine.connect() as conn:
        assert [r["language"] for r in template_repo.languages_of(conn, row["account_id"], "shipping_update")] == [
            "en_US", "it"]


def _webhook(services: Services, field_name: str, value: dict[str, Any], at: int) -> None:
    """A delivery from Meta, stored and processed by our pipeline as any webhook is."""
    import orjson

    from centralino.simulator import payloads
    from tests.factories import WABA
    from tests.helpers import store

    store(services, orjson.dumps(payloads.account_envelope(WABA, field_name, value, at)))
    services.delivery_worker.drain()


def test_webhooks_for_a_template_made_elsewhere_add_it_and_out_of_order_ones_keep_the_newest(services):
    import time

    from tests.factories import whatsapp_channel

    whatsapp_channel(services)
    now = int(time.time())
    base = {"message_template_id": 778899, "message_template_name": "made_in_manager",
            "message_template_language": "en_US", "message_template_category": "MARKETING"}
    _webhook(services, "message_template_status_update", {**base, "event": "DISABLED", "reason": None,
                                                          "disable_info": {"disable_date": "2026-11-20"}}, now)
    _webhook(services, "message_template_status_update", {**base, "event": "APPROVED", "reason": "NONE"}, now - 60)
    _webhook(services, "message_template_status_update", {**base, "event": "APPROVED", "reason": "NONE"}, now - 60)
    _webhook(services, "message_template_quality_update", {
        "previous_quality_score": "GREEN", "new_quality_score": "RED", "message_template_id": 778899,
        "message_template_name": "made_in_manager", "message_template_language": "en_US"}, now)
    with services.engine.connect() as conn:
        [row], _ = template_repo.list_page(conn, template_repo.TemplateFilter(), limit=10)
        history = template_repo.history(conn, row["id"])
    assert (row["name"], row["language"], row["category"], row["provider_id"]) == (
        "made_in_manager", "en_US", "marketing", "778899")
    assert row["status"] == "disabled" and "disabled on 2026-11-20" in row["status_reason"]
    assert row["quality"] == "red"
    # the repeated delivery is one notice; the older approval is history only
    assert [(h["kind"], h["status"], h["detail"].get("applied")) for h in history] == [
        ("status", "disabled", True), ("status", "approved", False), ("quality", "disabled", None)]
    _webhook(services, "message_template_status_update", {**base, "event": "REINSTATED", "reason": None}, now + 5)
    with services.engine.connect() as conn:
        assert template_repo.get(conn, row["id"])["status"] == "approved"  # sendable again
        assert template_repo.history(conn, row["id"])[-1]["status"] == "reinstated"


def test_a_verdict_that_arrives_before_the_submission_is_recorded_is_not_overwritten(services, meta, monkeypatch):
    """Meta may review in an instant: its webhook can be applied while our submit still waits for the answer."""
    from datetime import UTC, datetime

    from centralino.app import templates as template_service
    from centralino.app.unit_of_work import unit_of_work

    real_create = template_service.template_api.create

    def create_then_verdict(channel, body, client=None):
        answer = real_create(channel, body, client)
        with unit_of_work(services.engine, services.bus) as uow:  # the pipeline applying Meta's approval
            uow.emit("template.status_changed", account_id=channel.account_id, template_id=answer["id"],
                     name=body["name"], language=body["language"], status="approved", raw_event="APPROVED",
                     reason="NONE", at=datetime.now(UTC).isoformat(), data={})
        return answer

    monkeypatch.setattr(template_service.template_api, "create", create_then_verdict)
    row, _ = services.templates.do_create_draft(SUPERVISOR, copy.deepcopy(SHIPPING))
    submitted = services.templates.do_submit(SUPERVISOR, row["id"])
    assert submitted["status"] == "approved" and submitted["provider_id"]
    assert [(h["kind"], h["status"]) for h in _history(services, row["id"])] == [
        ("created", "draft"), ("status", "approved"), ("submitted", "pending")]


def test_a_verdict_that_arrives_while_meta_is_read_is_not_overwritten_by_the_older_listing(services, meta,
                                                                                            monkeypatch):
    """Adopting (or syncing) reads Meta's list, then stores it: Meta's approval webhook applied in between is the
    newer word and keeps its status, even stamped by Meta's clock a little behind ours."""
    from datetime import UTC, datetime, timedelta

    from centralino.app import templates as template_service
    from centralino.app.templates import check_definition
    from centralino.app.unit_of_work import unit_of_work

    real_list = template_service.template_api.list_page
    row, _ = services.templates.do_create_draft(SUPERVISOR, copy.deepcopy(SHIPPING))
    channel = services.templates.channel_for(row["account_id"])
    lost = template_service.template_api.create(channel, check_definition(row).for_meta())

    def listed_pending_then_verdict(channel, **options):
        page = real_list(channel, **options)
        for item in page.items:  # as Meta listed it before its review ended
            item["status"] = "PENDING"
        with unit_of_work(services.engine, services.bus) as uow:  # the pipeline applying Meta's approval
            uow.emit("template.status_changed", account_id=channel.account_id, template_id=lost["id"],
                     name=row["name"], language=row["language"], status="approved", raw_event="APPROVED",
                     reason="NONE", at=(datetime.now(UTC) - timedelta(seconds=2)).isoformat(), data={})
        return page

    monkeypatch.setattr(template_service.template_api, "list_page", listed_pending_then_verdict)
    adopted = services.templates.do_submit(SUPERVISOR, row["id"])
    assert (adopted["status"], adopted["provider_id"]) == ("approved", lost["id"])
    assert [(h["kind"], h["status"]) for h in _history(services, row["id"])][-2:] == [
        ("status", "approved"), ("synced", "approved")]
    services.templates.do_sync(SUPERVISOR)  # a sync reading `pending` at the same moment: the same
    assert _row(services, row["id"])["status"] == "approved"


def test_a_submission_whose_answer_was_lost_is_adopted_when_submitted_again(services, meta):
    """Meta created the template but the process died before recording it: submitting again finds Meta's
    copy ("Content in this language already exists") and takes its id and status instead of failing."""
    from centralino.app.templates import check_definition
    from centralino.channels.whatsapp import template_api

    row, _ = services.templates.do_create_draft(SUPERVISOR, copy.deepcopy(SHIPPING))
    channel = services.templates.channel_for(row["account_id"])
    lost = template_api.create(channel, check_definition(row).for_meta())  # the answer never recorded
    adopted = services.templates.do_submit(SUPERVISOR, row["id"])
    assert adopted["provider_id"] == lost["id"] and adopted["status"] in ("pending", "approved")
    assert _history(services, row["id"])[-1]["kind"] == "synced"
    assert _settled(meta, row["id"], "approved")["provider_id"] == lost["id"]

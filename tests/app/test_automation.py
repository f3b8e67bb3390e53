"""Automation rules against the database: saving (validation, templates), conditions on real subjects, each
action's effect, loop safety, the execution log, dry runs, and no cost when no rule is enabled."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from centralino.demo_access import SETUP
from centralino.domain.access import Principal, Role
from centralino.errors import Forbidden, InvalidInput
from centralino.storage.tables import contact_tags, contacts, conversations, messages
from centralino.storage.tables_automation import automation_executions, automation_webhooks
from centralino.storage.tables_cases import cases, handoffs, tasks
from centralino.storage.tables_routing import routing_items, routing_queues
from tests.automation_helpers import customer, open_case, save_rule, settle
from tests.campaign_helpers import approved_template
from tests.helpers import rows

AGENT = Principal(role=Role.AGENT, user_id=None, via="integration")
REFUND_WORDS = {"all": [{"field": "message.text", "op": "contains", "value": "rimborso"}]}


def executions(services):
    return rows(services, automation_executions)


def department(services, name: str) -> int:
    return int(services.admin.do_create_department(SETUP, name)["id"])


def queue(services, name: str = "Rimborsi") -> int:
    return services.routing.do_save_queue(SETUP, {"name": name})


# --- saving -------------------------------------------------------------------------------------------------

def test_a_rule_is_saved_checked_and_refused_naming_the_field(services):
    with pytest.raises(InvalidInput) as caught:
        save_rule(services, name="x", trigger="message.received",
                  actions=[{"type": "webhook", "url": "https://example.com/h"},
                           {"type": "send_template", "template": "non_esiste"}])
    assert (caught.value.field, caught.value.status) == ("actions[1].template", 400)
    assert services.automation.rules() == []
    approved_template(services, name="aggiornamento_pratica")
    with pytest.raises(InvalidInput) as caught:
        save_rule(services, name="x", trigger="message.received",
                  actions=[{"type": "send_template", "template": "aggiornamento_pratica", "language": "de"}])
    assert caught.value.field == "actions[0].language"
    saved = save_rule(services, name="x", trigger="message.received",
                      actions=[{"type": "send_template", "template": "aggiornamento_pratica"}])
    assert saved["enabled"] is True and saved["created_by"] == "integration"
    with pytest.raises(Forbidden):
        services.automation.do_save(AGENT, {"name": "y", "trigger": "message.received",
                                            "actions": [{"type": "webhook", "url": "https://e.com"}]})


def test_no_enabled_rule_costs_no_thread_and_no_log(services):
    customer(services, "393470000001", body="rimborso")
    assert services.automation.background._thread is None
    rule = save_rule(services, name="off", trigger="message.received", enabled=False,
                     actions=[{"type": "webhook", "url": "https://example.com/h"}])
    customer(services, "393470000001", body="rimborso")
    settle(services)
    assert services.automation.background._thread is None and executions(services) == []
    services.automation.do_set_enabled(SETUP, rule["id"], True)
    customer(services, "393470000001", body="rimborso")
    settle(services)
    assert [e["outcome"] for e in executions(services)] == ["done"]


# --- conditions and actions ---------------------------------------------------------------------------------

def test_assign_to_a_queue_only_when_the_conditions_match(services):
    refunds = queue(services)
    save_rule(services, name="Rimborsi in coda", trigger="message.received", conditions=REFUND_WORDS,
              actions=[{"type": "assign", "queue_id": refunds}])
    other, _ = customer(services, "393470000002", body="buongiorno")
    settle(services)
    conversation_id, _ = customer(services, "393470000001", body="Vorrei un RIMBORSO")
    settle(services)
    items = rows(services, routing_items)
    assert [(i["conversation_id"], i["queue_id"], i["state"]) for i in items] == [
        (conversation_id, refunds, "waiting")]
    log = executions(services)
    assert [(e["matched"], e["outcome"]) for e in log] == [(False, "not_matched"), (True, "done")]
    assert log[1]["actions"][0]["result"]["queue_id"] == refunds
    assert log[1]["event"]["conversation_id"] == conversation_id and other != conversation_id


def test_assign_to_an_agent_and_tag_the_contact(services, recorder):
    agent = services.admin.do_create_user(SETUP, email="anna@example.com", display_name="Anna", role=Role.AGENT,
                                          password=None)["id"]
    save_rule(services, name="VIP", trigger="message.received",
              conditions={"all": [{"field": "contact.language", "op": "not_exists"}]},
              actions=[{"type": "assign", "user_id": agent},
                       {"type": "set_field", "field": "contact.tags", "value": ["vip", "Rimborsi"]}])
    conversation_id, contact_id = customer(services, "393470000001")
    settle(services)
    with services.engine.connect() as conn:
        assert conn.execute(select(conversations.c.assignee_user_id)
                            .where(conversations.c.id == conversation_id)).scalar() == agent
        assert sorted(conn.execute(select(contact_tags.c.tag).where(contact_tags.c.contact_id == contact_id))
                      .scalars()) == ["rimborsi", "vip"]
    rule_id = executions(services)[0]["rule_id"]
    assigned = [e for e in recorder.events if e.type == "conversation.assigned"]
    assert assigned[-1].payload["actor"] == f"automation:{rule_id}"


def test_case_rules_set_fields_add_tasks_and_escalate(services):
    back_office, legal = department(services, "Back office"), department(services, "Legale")
    save_rule(services, name="Rimborsi alti", trigger="case.created",
              conditions={"all": [{"field": "case.type", "op": "equals", "value": "refund"},
                                  {"field": "case.fields.refund_amount", "op": "gt", "value": 100}]},
              actions=[{"type": "set_field", "field": "case.priority", "value": "urgent"},
                       {"type": "set_field", "field": "case.tags", "value": "importo-alto"},
                       {"type": "add_task", "title": "Verificare {case.number}", "department_id": back_office,
                        "due_in_minutes": 60},
                       {"type": "escalate", "department_id": legal, "reason": "importo oltre 100"}])
    _, contact_id = customer(services, "393470000001")
    case = open_case(services, contact_id)
    settle(services)
    stored = rows(services, cases)[0]
    assert (stored["priority"], stored["tags"], stored["department_id"]) == ("urgent", ["importo-alto"], legal)
    task = rows(services, tasks)[0]
    assert (task["title"], task["department_id"]) == (f"Verificare {case['number']}", back_office)
    assert [(h["to_department_id"], h["reason"]) for h in rows(services, handoffs)] == [(legal, "importo oltre 100")]
    log = executions(services)
    assert (log[0]["event_type"], log[0]["outcome"]) == ("case.created", "done")
    assert [a["status"] for a in log[0]["actions"]] == ["done"] * 4


def test_references_are_checked_on_save_and_a_later_failure_is_logged(services):
    """A queue that does not exist is refused at the field; one deactivated after the save makes the action
    fail at run time, logged, while the next action still runs."""
    with pytest.raises(InvalidInput) as caught:
        save_rule(services, name="Metà", trigger="message.received",
                  actions=[{"type": "set_field", "field": "contact.tags", "value": "x"},
                           {"type": "assign", "queue_id": 999}])
    assert caught.value.field == "actions[1].queue_id"
    refunds = queue(services)
    save_rule(services, name="Metà", trigger="message.received",
              actions=[{"type": "assign", "queue_id": refunds},
                       {"type": "set_field", "field": "contact.attributes.origine", "value": "whatsapp"}])
    with services.engine.begin() as conn:
        conn.execute(routing_queues.update().where(routing_queues.c.id == refunds).values(active=False))
    customer(services, "393470000001")
    settle(services)
    log = executions(services)[0]
    assert log["outcome"] == "partial"
    assert [(a["status"], a.get("error", "")[:9]) for a in log["actions"]] == [("failed", "not_found"),
                                                                              ("done", "")]


def test_notify_inside_the_window_sends_text_outside_it_the_template(services):
    approved_template(services, name="aggiornamento_pratica", body="La pratica {{1}} è {{2}}.")
    save_rule(services, name="Avvisa", trigger="case.status_changed",
              conditions={"all": [{"field": "case.status", "op": "equals", "value": "in_progress"}]},
              actions=[{"type": "notify", "text": {"it": "Pratica {case.number}: presa in carico", "en": "Taken"},
                        "template": {"name": "aggiornamento_pratica",
                                     "parameters": {"body": [{"from": "case.number"}, "in lavorazione"]}}}])
    inside, inside_contact = customer(services, "393470000001")
    outside, outside_contact = customer(services, "393470000002", ago=30 * 3600)
    for contact_id in (inside_contact, outside_contact):
        case = open_case(services, contact_id)
        services.cases.cases.do_transition(SETUP, case["id"], "in_progress")
    settle(services)
    sent = rows(services, messages, messages.c.origin == "automation")
    by_conversation = {m["conversation_id"]: m for m in sent}
    assert by_conversation[inside]["type"] == "text"
    assert by_conversation[inside]["text"].startswith("Pratica C-")
    assert by_conversation[outside]["type"] == "template"
    template = by_conversation[outside]["content"]["template"]
    assert template["name"] == "aggiornamento_pratica"
    assert by_conversation[outside]["text"].startswith("La pratica C-2026-") or "La pratica C-" in template["preview"]


def test_a_webhook_is_queued_signed_later_with_the_subject(services):
    save_rule(services, name="Hook", trigger="message.received", conditions=REFUND_WORDS,
              actions=[{"type": "webhook", "url": "https://crm.example.com/hooks"}])
    customer(services, "393470000001", body="rimborso subito")
    settle(services)
    hook = rows(services, automation_webhooks)[0]
    assert (hook["url"], hook["state"], hook["execution_id"]) == (
        "https://crm.example.com/hooks", "pending", executions(services)[0]["id"])
    assert hook["payload"]["subject"]["message"]["text"] == "rimborso subito"
    assert hook["payload"]["event"]["type"] == "message.received"


# --- loop safety ------------------------------------------------------------------------------------------

def test_a_rule_never_retriggers_itself(services):
    """Each run's set_field emits case.updated, which is the rule's own trigger: it runs once, then is skipped."""
    save_rule(services, name="Eco", trigger="case.updated",
              actions=[{"type": "set_field", "field": "case.fields.note", "value": "x"},
                       {"type": "set_field", "field": "case.tags", "value": "visto"}])
    _, contact_id = customer(services, "393470000001")
    case = open_case(services, contact_id)
    services.cases.cases.do_update(SETUP, case["id"], {"title": "Nuovo titolo"})
    settle(services)
    log = executions(services)
    assert log[0]["outcome"] in ("done", "partial") and log[0]["depth"] == 0
    assert all(e["outcome"] == "skipped" and e["depth"] == 1 for e in log[1:])
    assert log[1:] and "loop" in log[1]["error"]


def test_rules_feeding_each_other_stop_at_the_depth_limit(services):
    """Three rules each add a task on task.created: every task wakes the other two. Level by level: 3 runs, then
    6 (each chain skips its own rules), then 6, then the depth limit skips everything: 15 tasks, not forever."""
    office = department(services, "Back office")
    for name in ("A", "B", "C"):
        save_rule(services, name=name, trigger="task.created",
                  actions=[{"type": "add_task", "title": f"Da {name}", "department_id": office}])
    _, contact_id = customer(services, "393470000001")
    case = open_case(services, contact_id)
    services.cases.tasks.do_add_task(SETUP, case["id"], title="Prima", department_id=office)
    settle(services)
    log = executions(services)
    by_depth = {d: [e["outcome"] for e in log if e["depth"] == d] for d in range(4)}
    assert [by_depth[d].count("done") for d in range(4)] == [3, 6, 6, 0]
    assert [by_depth[d].count("skipped") for d in range(4)] == [0, 3, 12, 18]
    assert len(rows(services, tasks)) == 1 + 3 + 6 + 6
    assert all("depth limit" in e["error"] for e in log if e["depth"] == 3)


# --- log and dry run --------------------------------------------------------------------------------------

def test_the_execution_log_pages_newest_first(services):
    rule = save_rule(services, name="Tutti", trigger="message.received",
                     actions=[{"type": "set_field", "field": "contact.attributes.visto", "value": "si"}])
    for n in range(5):
        customer(services, f"39347000000{n}")
    settle(services)
    first = services.automation.executions(rule_id=rule["id"], limit=2)
    second = services.automation.executions(rule_id=rule["id"], limit=2, cursor=first["next"])
    third = services.automation.executions(rule_id=rule["id"], limit=2, cursor=second["next"])
    ids = [e["id"] for page in (first, second, third) for e in page["items"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 5 and third["next"] is None
    assert first["items"][0]["rule_name"] == "Tutti"
    assert services.automation.executions(matched=False)["items"] == []


def test_a_dry_run_says_what_would_happen_and_does_nothing(services):
    conversation_id, contact_id = customer(services, "393470000001", body="chiedo un rimborso")
    message_id = rows(services, messages, messages.c.conversation_id == conversation_id)[0]["id"]
    data = {"name": "Prova", "trigger": "message.received", "conditions": REFUND_WORDS,
            "actions": [{"type": "assign", "queue_id": queue(services)}]}
    result = services.automation.dry_run(SETUP, data, "message.received", {
        "message_id": message_id, "conversation_id": conversation_id, "contact_id": contact_id})
    assert result["matched"] is True and result["actions"] == data["actions"]
    assert result["facts"]["message"]["text"] == "chiedo un rimborso"
    assert result["facts"]["conversation"]["channel"] == "whatsapp"
    assert services.automation.dry_run(SETUP, {**data, "conditions": {
        "all": [{"field": "message.text", "op": "contains", "value": "reclamo"}]}}, None,
        {"message_id": message_id})["matched"] is False
    assert executions(services) == [] and rows(services, routing_items) == []


def test_a_breached_task_is_escalated_and_a_template_sent(services):
    """task.sla_breached (the SLA clock's event, published here as it would be) escalates the task and sends
    the customer an approved template with the case number mapped from the facts."""
    from centralino.events.bus import Event

    approved_template(services, name="ritardo_pratica", body="La pratica {{1}} richiede più tempo del previsto.")
    office, experts = department(services, "Back office"), department(services, "Esperti")
    save_rule(services, name="Ritardi", trigger="task.sla_breached",
              conditions={"all": [{"field": "task.status", "op": "not_in", "value": ["done", "cancelled"]}]},
              actions=[{"type": "escalate", "target": "task", "department_id": experts, "reason": "SLA superato"},
                       {"type": "send_template", "template": "ritardo_pratica",
                        "parameters": {"body": [{"from": "case.number"}]}}])
    conversation_id, contact_id = customer(services, "393470000001", ago=30 * 3600)
    case = open_case(services, contact_id)
    task = services.cases.tasks.do_add_task(SETUP, case["id"], title="Verifica", department_id=office)
    services.bus.publish([Event("task.sla_breached", {"case_id": case["id"], "contact_id": contact_id,
                                                     "task_id": task["id"], "kind": "task", "actor": "sla"})])
    settle(services)
    assert rows(services, tasks)[0]["department_id"] == experts
    [sent] = rows(services, messages, messages.c.origin == "automation")
    assert (sent["conversation_id"], sent["type"]) == (conversation_id, "template")
    assert sent["text"].startswith(f"La pratica {case['number']} richiede")
    assert [a["status"] for a in executions(services)[0]["actions"]] == ["done", "done"]


def test_a_consent_refusal_fails_the_send_and_is_logged(services):
    from centralino.domain.consent import Purpose
    from tests.campaign_helpers import opt_out

    approved_template(services, name="aggiornamento_pratica")
    _, contact_id = customer(services, "393470000001")
    opt_out(services, contact_id, Purpose.UTILITY)
    save_rule(services, name="Manda", trigger="message.received",
              actions=[{"type": "send_template", "template": "aggiornamento_pratica",
                        "parameters": {"body": ["a", "b", "c"]}},
                       {"type": "notify", "text": "grazie"}])
    customer(services, "393470000001", body="ancora io")
    settle(services)
    log = executions(services)[-1]
    assert log["outcome"] == "failed"
    assert [a["error"].split(":")[0] for a in log["actions"]] == ["consent.refused", "consent.refused"]
    assert rows(services, messages, messages.c.origin == "automation") == []


def test_business_hours_by_the_conversations_queue(services):
    refunds = queue(services)
    services.routing.do_save_rule(SETUP, {"name": "tutto", "queue_id": refunds, "conditions": {}})
    closed = {"time_zone": "Europe/Rome", "hours": {}}
    services.service_levels.admin.do_set_hours(SETUP, refunds, {"calendar": closed, "out_of_hours": "keep"})
    save_rule(services, name="Chiusi", trigger="message.received",
              conditions={"all": [{"field": "business_hours.open", "op": "equals", "value": False},
                                  {"field": "conversation.queue_id", "op": "equals", "value": refunds}]},
              actions=[{"type": "set_field", "field": "contact.attributes.fuori_orario", "value": "si"}])
    _, contact_id = customer(services, "393470000001")
    settle(services)
    assert executions(services)[0]["outcome"] == "done"
    with services.engine.connect() as conn:
        attributes = conn.execute(select(contacts.c.attributes).where(contacts.c.id == contact_id)).scalar_one()
    assert attributes["fuori_orario"] == "si"


def test_a_consent_change_reaches_the_crm(services):
    from centralino.domain.consent import Purpose
    from tests.campaign_helpers import opt_out

    save_rule(services, name="Opt-out al CRM", trigger="consent.recorded",
              conditions={"all": [{"field": "event.action", "op": "equals", "value": "opt_out"},
                                  {"field": "event.purpose", "op": "in", "value": ["marketing", "all"]}]},
              actions=[{"type": "webhook", "url": "https://crm.example.com/consent"}])
    _, contact_id = customer(services, "393470000001")
    opt_out(services, contact_id, Purpose.UTILITY)
    opt_out(services, contact_id, Purpose.MARKETING)
    settle(services)
    assert [e["matched"] for e in executions(services)] == [False, True]
    [hook] = rows(services, automation_webhooks)
    assert hook["payload"]["subject"]["contact"]["id"] == contact_id
    assert hook["payload"]["event"]["purpose"] == "marketing"


def test_the_listener_asks_the_database_nothing_when_no_rule_waits(services):
    """The inbound hot path: once the set of triggers is known (re-read every few seconds), an event no rule
    waits for costs a set lookup — no statement, no thread."""
    from sqlalchemy import event as sa_event

    from centralino.events.bus import Event

    services.automation.refresh()
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    sa_event.listen(services.engine, "before_cursor_execute", count)
    try:
        for n in range(100):
            services.automation.on_event(Event("message.received", {"message_id": n, "conversation_id": n}))
    finally:
        sa_event.remove(services.engine, "before_cursor_execute", count)
    assert statements == [] and services.automation.background._thread is None


def test_rules_run_in_order_and_each_sees_what_the_previous_changed(services):
    save_rule(services, name="Secondo", trigger="message.received", position=20,
              conditions={"all": [{"field": "contact.tags", "op": "contains", "value": "vip"}]},
              actions=[{"type": "set_field", "field": "contact.attributes.livello", "value": "oro"}])
    save_rule(services, name="Primo", trigger="message.received", position=10,
              conditions={"all": [{"field": "message.text", "op": "contains", "value": "abbonamento"}]},
              actions=[{"type": "set_field", "field": "contact.tags", "value": "vip"}])
    _, contact_id = customer(services, "393470000001", body="rinnovo l'abbonamento")
    settle(services)
    assert [(e["rule_id"], e["outcome"]) for e in executions(services)][:2] == [(2, "done"), (1, "done")]
    with services.engine.connect() as conn:
        attributes = conn.execute(select(contacts.c.attributes).where(contacts.c.id == contact_id)).scalar_one()
    assert attributes["livello"] == "oro"


def test_a_customer_writing_on_a_conversation_with_an_open_case_gets_a_task_on_it(services):
    office = department(services, "Back office")
    save_rule(services, name="Il cliente risponde", trigger="message.received",
              conditions={"all": [{"field": "case.status", "op": "in", "value": ["waiting_customer", "new"]}]},
              actions=[{"type": "add_task", "title": "Leggere la risposta su {case.number}",
                        "department_id": office}])
    conversation_id, _ = customer(services, "393470000001")
    settle(services)
    assert rows(services, tasks) == []  # no case yet: the condition does not hold
    case = services.cases.cases.do_create_case(
        SETUP, case_type="refund", title="Rimborso", conversation_id=conversation_id,
        fields={"order_number": "ORD-42", "refund_amount": 20})
    customer(services, "393470000001", body="ecco la ricevuta")
    settle(services)
    [task] = rows(services, tasks)
    assert (task["case_id"], task["title"]) == (case["id"], f"Leggere la risposta su {case['number']}")

"""Customer-facing case updates: told on their channel when the case's status changes (text inside the window,
the approved template outside it, consent refusals recorded as skipped), and the status by case number —
only ever the customer's own case."""

from __future__ import annotations

import pytest

from centralino.demo_access import SETUP
from centralino.domain.consent import Purpose
from centralino.errors import InvalidInput
from centralino.storage.tables import contacts, messages
from centralino.storage.tables_automation import case_updates
from tests.automation_helpers import customer, open_case, settle
from tests.campaign_helpers import approved_template, opt_out
from tests.helpers import rows

TEMPLATE_BODY = "Aggiornamento: la pratica {{1}} ora è {{2}}."


def configure(services, **over):
    data = {"statuses": ["in_progress", "resolved"],
            "texts": {"in_progress": {"it": "La pratica {number} è {status}. A presto!",
                                      "en": "Case {number} is {status}."}},
            "template_name": "aggiornamento_pratica", **over}
    return services.case_updates.do_save_setting("refund", data)


def sent_by_case_updates(services):
    return rows(services, messages, messages.c.origin == "case_updates")


def test_inside_the_window_the_customer_gets_the_text_in_their_language(services, recorder):
    approved_template(services, name="aggiornamento_pratica", body=TEMPLATE_BODY)
    configure(services)
    conversation_id, contact_id = customer(services, "393470000001")
    case = open_case(services, contact_id)
    services.cases.cases.do_transition(SETUP, case["id"], "in_progress")
    [message] = sent_by_case_updates(services)
    assert (message["conversation_id"], message["type"]) == (conversation_id, "text")
    assert message["text"] == f"La pratica {case['number']} è in lavorazione. A presto!"
    [update] = rows(services, case_updates)
    assert (update["kind"], update["status"], update["outcome"], update["message_id"]) == (
        "status_changed", "in_progress", "text", message["id"])
    notified = [e for e in recorder.events if e.type == "case.customer_notified"]
    assert notified[0].payload["case_id"] == case["id"] and notified[0].payload["via"] == "text"


def test_outside_the_window_the_template_carries_number_and_status(services):
    approved_template(services, name="aggiornamento_pratica", body=TEMPLATE_BODY)
    configure(services)
    _, contact_id = customer(services, "393470000001", ago=30 * 3600)
    case = open_case(services, contact_id)
    services.cases.cases.do_transition(SETUP, case["id"], "in_progress")
    [message] = sent_by_case_updates(services)
    assert message["type"] == "template"
    assert message["content"]["template"]["name"] == "aggiornamento_pratica"
    assert message["text"].startswith(f"Aggiornamento: la pratica {case['number']} ora è in lavorazione.")
    assert rows(services, case_updates)[0]["outcome"] == "template"


def test_statuses_not_configured_send_nothing(services):
    configure(services, template_name=None)
    _, contact_id = customer(services, "393470000001")
    case = open_case(services, contact_id)
    services.cases.cases.do_transition(SETUP, case["id"], "rejected")
    assert sent_by_case_updates(services) == [] and rows(services, case_updates) == []


def test_outside_the_window_without_a_template_the_update_is_skipped(services):
    configure(services, template_name=None)
    _, contact_id = customer(services, "393470000001", ago=30 * 3600)
    case = open_case(services, contact_id)
    changed = services.cases.cases.do_transition(SETUP, case["id"], "in_progress")
    assert changed["status"] == "in_progress"  # the change stands
    assert sent_by_case_updates(services) == []
    assert [(u["outcome"], u["reason"]) for u in rows(services, case_updates)] == [("skipped", "window.closed")]


@pytest.mark.parametrize("ago", [60, 30 * 3600])
def test_a_consent_refusal_is_recorded_as_a_skipped_update(services, recorder, ago):
    approved_template(services, name="aggiornamento_pratica", body=TEMPLATE_BODY)
    configure(services)
    _, contact_id = customer(services, "393470000001", ago=ago)
    opt_out(services, contact_id, Purpose.UTILITY)
    case = open_case(services, contact_id)
    services.cases.cases.do_transition(SETUP, case["id"], "in_progress")
    assert sent_by_case_updates(services) == []
    assert [(u["outcome"], u["reason"]) for u in rows(services, case_updates)] == [("skipped", "consent.refused")]
    assert rows(services, case_updates)[0]["message_id"] is None
    skipped = [e for e in recorder.events if e.type == "case.customer_update_skipped"]
    assert skipped[0].payload["reason"] == "consent.refused"


def test_settings_are_checked(services):
    with pytest.raises(InvalidInput) as caught:
        services.case_updates.do_save_setting("nessuno", {"statuses": ["resolved"]})
    assert caught.value.field == "case_type"
    with pytest.raises(InvalidInput) as caught:
        configure(services, template_name="non_esiste")
    assert caught.value.field == "template_name"
    approved_template(services, name="promo", category="marketing")
    with pytest.raises(InvalidInput) as caught:
        configure(services, template_name="promo")
    assert (caught.value.field, caught.value.code) == ("template_name", "template.not_utility")
    approved_template(services, name="aggiornamento_pratica", body=TEMPLATE_BODY)
    with pytest.raises(InvalidInput) as caught:
        configure(services, template_language="en")
    assert caught.value.field == "template_language"
    with pytest.raises(InvalidInput) as caught:
        configure(services, statuses="resolved")
    assert caught.value.field == "statuses"


# --- the customer asks ------------------------------------------------------------------------------------

def test_the_customer_asks_by_number_and_hears_their_case_status(services):
    _, contact_id = customer(services, "393470000001")
    case = open_case(services, contact_id)
    services.cases.cases.do_transition(SETUP, case["id"], "in_progress")
    conversation_id, _ = customer(services, "393470000001", body=f"a che punto è la {case['number'].lower()}?")
    settle(services)
    [reply] = sent_by_case_updates(services)
    assert reply["conversation_id"] == conversation_id
    assert reply["text"] == f"La pratica {case['number']} (Rimborso) è in lavorazione."
    sequence = int(case["number"].rsplit("-", 1)[1])
    customer(services, "393470000001", body=f"pratica {sequence}")
    settle(services)
    assert len(sent_by_case_updates(services)) == 2
    assert [u["kind"] for u in rows(services, case_updates)] == ["status_query", "status_query"]


def test_in_english_by_the_contacts_language(services):
    _, contact_id = customer(services, "447700900123")
    with services.engine.begin() as conn:
        conn.execute(contacts.update().where(contacts.c.id == contact_id).values(language="en_GB"))
    case = open_case(services, contact_id)
    customer(services, "447700900123", body=f"case {int(case['number'].rsplit('-', 1)[1])} please")
    settle(services)
    assert sent_by_case_updates(services)[0]["text"] == f"Case {case['number']} (Refund) is new."


def test_another_customers_number_is_never_revealed(services):
    _, owner = customer(services, "393470000001")
    theirs = open_case(services, owner, title="Rimborso riservato")
    _, asker = customer(services, "393470000002")
    open_case(services, asker, title="La mia pratica")
    customer(services, "393470000002", body=f"stato della {theirs['number']}?")
    customer(services, "393470000002", body="pratica 999999")
    settle(services)
    replies = sent_by_case_updates(services)
    assert [r["text"] for r in replies] == [
        f"Non trovo la pratica {theirs['number']} tra quelle associate a questo numero. Controlli il numero, "
        "per favore.",
        "Non trovo la pratica 999999 tra quelle associate a questo numero. Controlli il numero, per favore."]
    assert all("riservat" not in r["text"] and "Rimborso" not in r["text"] for r in replies)
    assert rows(services, case_updates) == []


def test_a_customer_without_cases_is_not_answered(services):
    """No case at all: nothing to tell, and a number that is someone else's reveals nothing either."""
    _, owner = customer(services, "393470000001")
    theirs = open_case(services, owner)
    customer(services, "393470000002", body=f"stato della {theirs['number']}?")
    customer(services, "447700000003", body="In case 2 parcels arrive, keep both")
    settle(services)
    assert sent_by_case_updates(services) == []


def test_messages_without_a_number_get_no_answer(services):
    _, contact_id = customer(services, "393470000001")
    open_case(services, contact_id)
    customer(services, "393470000001", body="grazie mille, 123 volte grazie")
    settle(services)
    assert sent_by_case_updates(services) == []


def test_no_case_anywhere_costs_no_thread(services):
    """The inbound hot path: while no case exists, a customer's text is not even handed to the thread."""
    customer(services, "393470000001", body="pratica 1")
    assert services.case_updates.background._thread is None
    assert sent_by_case_updates(services) == []

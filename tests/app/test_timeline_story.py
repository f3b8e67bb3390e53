"""The issue's "done when", read on the timeline: an agent opens a case from a WhatsApp conversation, sends a
task to the back office, the back office escalates it, the customer is told of the new status and asks for it
by number — and the whole story reads top to bottom, on the customer's timeline and on the case's."""

from __future__ import annotations

from centralino.demo_access import SETUP
from centralino.storage.tables import conversations, messages
from tests.automation_helpers import customer, settle
from tests.helpers import rows
from tests.timeline_helpers import story


def in_order(kinds: list[str], expected: list[str]) -> bool:
    """`expected` appears in `kinds` in this order (other entries may come between)."""
    position = 0
    for kind in kinds:
        if position < len(expected) and kind == expected[position]:
            position += 1
    return position == len(expected)


def test_the_whole_story_reads_top_to_bottom(services):
    assert services.cases is not None and services.case_updates is not None

    services.case_updates.do_save_setting("refund", {
        "statuses": ["in_progress"], "texts": {"in_progress": {"it": "La pratica {number} è {status}."}}})
    back_office = int(services.admin.do_create_department(SETUP, "Back office", channel_ids=[])["id"])
    warehouse = int(services.admin.do_create_department(SETUP, "Magazzino", channel_ids=[])["id"])
    conversation_id, contact_id = customer(services, "393470000001", body="il rimborso non è arrivato")
    [first] = rows(services, messages, messages.c.conversation_id == conversation_id)

    case = services.cases.cases.do_create_case(
        SETUP, case_type="refund", title="Rimborso ordine 42", conversation_id=conversation_id,
        message_ids=[int(first["id"])], fields={"order_number": "ORD-42", "refund_amount": 120})
    task = services.cases.tasks.do_add_task(SETUP, int(case["id"]), title="Verificare il bonifico",
                                            department_id=back_office)
    services.cases.tasks.do_escalate_task(SETUP, int(task["id"]), warehouse, reason="reso non ancora registrato")
    services.cases.cases.do_transition(SETUP, int(case["id"]), "in_progress")
    customer(services, "393470000001", body=f"a che punto è la {case['number'].lower()}?")
    settle(services)

    told = list(reversed(story(services, contact_id)))
    kinds = [e["kind"] for e in told]
    assert in_order(kinds, ["message_in", "case_created", "case_linked", "task_created", "task_escalated",
                            "case_status_changed", "message_out", "case_customer_notified", "message_in",
                            "message_out", "case_status_reported"]), kinds
    texts = [e["message"]["text"] for e in told if e["message"] is not None]
    assert len(texts) == 4 and texts[0] == "il rimborso non è arrivato"
    assert texts[1].startswith(f"La pratica {case['number']}")  # told of the new status, on their channel
    assert texts[-1].startswith(f"La pratica {case['number']}")  # the answer to their question
    escalated = next(e for e in told if e["kind"] == "task_escalated")
    assert (escalated["summary"]["from_department_id"], escalated["summary"]["to_department_id"]) == (
        back_office, warehouse)

    with services.engine.connect() as conn:
        from centralino.app import timeline_read
        from centralino.storage.timeline_queries import Filters

        page, _ = timeline_read.case_timeline(conn, SETUP, int(case["id"]), Filters(), limit=200, cursor=None)
        page = timeline_read.with_reasons(conn, page)
    case_kinds = [e["kind"] for e in reversed(page)]
    assert in_order(case_kinds, ["message_in", "case_created", "task_created", "task_escalated",
                                 "case_status_changed", "case_customer_notified"]), case_kinds
    assert next(e for e in page if e["kind"] == "task_escalated")["reason"] == "reso non ancora registrato"
    [conversation] = rows(services, conversations, conversations.c.id == conversation_id)
    assert all(e["conversation_id"] in (None, conversation["id"]) for e in page)

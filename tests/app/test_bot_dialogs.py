"""Dialogs run by the bot runtime (SQLite and PostgreSQL): the demo order_status flow fills its slot across
messages (re-prompting a wrong answer), calls a real local HTTP order service, answers from its reply; a
failing or slow service is answered gracefully and handed off; the customer changes topic or asks for a person
mid-dialog; a confirm step shows WhatsApp buttons and an open_case ending opens a case from the conversation."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from centralino.storage.tables_bot import bot_flows, bot_intents, bot_sessions
from centralino.storage.tables_cases import case_links, cases
from centralino.storage.tables_routing import routing_items
from tests.bot_runtime_helpers import BotCenter, add_flow, add_service, build_bot_center, order_service
from tests.helpers import rows

MAPPING = {"status": "status", "carrier": "carrier", "tracking": "tracking", "eta": "eta"}


@pytest.fixture
def bc(services) -> BotCenter:
    return build_bot_center(services, order_flow=True)


def session(bc: BotCenter, conversation_id: int) -> dict:
    [found] = rows(bc.services, bot_sessions, bot_sessions.c.conversation_id == conversation_id,
                   order_by=bot_sessions.c.conversation_id)
    return found


def test_slot_filling_with_a_reprompt_then_the_service_answers(bc):
    wa_id = "393471110001"
    with order_service() as (base, seen):
        add_service(bc.services, "demo_orders", base + "/orders/{{ number }}", mapping=MAPPING,
                    secret="Bearer s3cret")
        conversation = bc.writes("dov'è il mio ordine?", wa_id=wa_id)
        bc.answer()
        assert bc.decisions(conversation) == ["dialog"]
        assert bc.texts(conversation) == ["Mi dici il numero dell'ordine? Lo trovi nella mail di conferma (es. 100234)."]
        held = session(bc, conversation)
        assert held["dialog"]["flow"] == "order_status" and held["dialog"]["step"] == "ask_number"
        assert held["flow_id"] is not None
        bc.writes("non lo so", wa_id=wa_id)  # not a number: asked again, in other words
        bc.answer()
        assert bc.texts(conversation)[-1].startswith("Il numero d'ordine è fatto di sole cifre")
        bc.writes("è il 100234", wa_id=wa_id)
        bc.answer()
    assert seen == [{"path": "/orders/100234", "authorization": "Bearer s3cret"}]
    assert bc.decisions(conversation) == ["dialog", "dialog", "answered"]
    assert bc.texts(conversation)[-1] == ("L'ordine 100234 è in viaggio con BRT (tracking BRT0012345678), "
                                          "consegna prevista il 2026-11-27.")
    done = session(bc, conversation)
    assert (done["state"], done["dialog"], done["flow_id"]) == ("active", {}, None)


def test_a_number_in_the_first_message_is_used_at_once_in_the_customers_language(bc):
    with order_service() as (base, seen):
        add_service(bc.services, "demo_orders", base + "/orders/{{ number }}", mapping=MAPPING)
        conversation = bc.writes("where is my order 100234?")
        bc.answer()
    assert [s["path"] for s in seen] == ["/orders/100234"]
    assert bc.decisions(conversation) == ["answered"]
    assert bc.texts(conversation) == ["Order 100234 is on its way with BRT (tracking BRT0012345678), expected on "
                                      "2026-11-27."]


def test_an_unknown_order_is_said_and_asked_again(bc):
    with order_service() as (base, _seen):
        add_service(bc.services, "demo_orders", base + "/orders/{{ number }}", mapping=MAPPING)
        conversation = bc.writes("dov'è il mio ordine 999999?")
        bc.answer()
    assert bc.decisions(conversation) == ["dialog"]
    assert bc.texts(conversation) == ["Non trovo l'ordine 999999.",
                                      "Mi dici il numero dell'ordine? Lo trovi nella mail di conferma (es. 100234)."]


@pytest.mark.parametrize("fail", ["500", "slow"])
def test_a_failing_or_slow_service_is_answered_gracefully_and_handed_off(bc, fail, recorder):
    with order_service(fail=fail) as (base, seen):
        add_service(bc.services, "demo_orders", base + "/orders/{{ number }}", mapping=MAPPING, timeout_s=1.0)
        conversation = bc.writes("dov'è il mio ordine 100234?")
        bc.answer()
    assert len(seen) == 1
    assert bc.decisions(conversation) == ["handoff"]
    # the flow's own words, and no second "passing you on" after them
    assert bc.texts(conversation) == ["Non riesco a consultare gli ordini in questo momento: ti passo a un collega."]
    held = session(bc, conversation)
    assert held["state"] == "handed_off"
    summary = held["summary"]
    assert (summary["reason"], summary["intent"], summary["flow"]) == ("order_service_unavailable", "order_status",
                                                                      "order_status")
    assert summary["slots"]["order_number"] == "100234"
    [call] = summary["services"]
    assert call["service"] == "demo_orders" and call["ok"] is False
    assert call["status"] == (500 if fail == "500" else None)
    [item] = rows(bc.services, routing_items, routing_items.c.conversation_id == conversation)
    assert item["state"] == "waiting"
    assert [e.payload["reason"] for e in recorder.events if e.type == "bot.handed_off"] == ["order_service_unavailable"]


def test_a_missing_service_is_handed_off_too(bc):
    conversation = bc.writes("dov'è il mio ordine 100234?")  # no demo_orders row at all
    bc.answer()
    assert bc.decisions(conversation) == ["handoff"]
    assert session(bc, conversation)["state"] == "handed_off"


def test_the_customer_changes_topic_or_asks_for_a_person_mid_dialog(bc):
    wa_id = "393471110002"
    conversation = bc.writes("dov'è il mio ordine?", wa_id=wa_id)
    bc.answer()
    bc.writes("a che ora aprite?", wa_id=wa_id)  # another confident intent: the dialog is dropped
    bc.answer()
    assert bc.decisions(conversation) == ["dialog", "answered"]
    assert bc.texts(conversation)[-1] == "Siamo aperti dal lunedì al sabato, 9-19."
    assert session(bc, conversation)["dialog"] == {}
    other = "393471110003"
    conversation = bc.writes("dov'è il mio ordine?", wa_id=other)
    bc.answer()
    bc.writes("operatore", wa_id=other)
    bc.answer()
    assert bc.decisions(conversation) == ["dialog", "handoff"]
    assert session(bc, conversation)["summary"]["reason"] == "customer_asked"


COMPLAINT_FLOW = """
name: complaint_case
intents: [complaint]
language: it
steps:
  - id: describe
    kind: ask
    slot: description
    entity: text
    prompt: {it: "Raccontami cosa è successo.", en: "Tell me what happened."}
  - id: sure
    kind: confirm
    prompt: {it: "Apro un reclamo con questa descrizione?", en: "Shall I open a complaint with this?"}
    yes: open
    no: fine
  - id: open
    kind: end
    open_case: {type: complaint, title: {it: "Reclamo dal bot", en: "Complaint from the bot"},
                fields: {description: "{{ description }}"}}
    text: {it: "Fatto: reclamo {number} aperto.", en: "Done: complaint {number} opened."}
  - id: fine
    kind: end
    answer: {it: "Va bene, non apro nulla.", en: "All right, nothing opened."}
"""


def test_a_confirm_step_shows_buttons_and_an_open_case_ending_opens_a_case(bc):
    flow_id = add_flow(bc.services, COMPLAINT_FLOW)
    with bc.services.engine.begin() as conn:
        conn.execute(update(bot_intents).where(bot_intents.c.name == "complaint").values(automation="auto",
                                                                                        flow_id=flow_id))
    wa_id = "393471110004"
    conversation = bc.writes("voglio fare un reclamo", wa_id=wa_id)
    bc.answer()
    bc.writes("il pacco è arrivato rotto e nessuno risponde", wa_id=wa_id)
    bc.answer()
    question = bc.said(conversation)[-1]
    assert question["type"] == "interactive"
    assert question["content"]["interactive"]["action"]["buttons"] == [{"id": "yes", "title": "Sì"},
                                                                       {"id": "no", "title": "No"}]
    bc.taps(wa_id, "yes", "Sì")
    bc.answer()
    assert bc.decisions(conversation) == ["dialog", "dialog", "answered"]
    with bc.services.engine.connect() as conn:
        case = conn.execute(select(cases)).mappings().one()
        linked = {(r.kind, r.ref_id) for r in conn.execute(select(case_links.c.kind, case_links.c.ref_id))}
    assert (case["title"], case["fields"]["description"]) == ("Reclamo dal bot",
                                                              "il pacco è arrivato rotto e nessuno risponde")
    assert ("conversation", conversation) in linked
    assert bc.texts(conversation)[-1] == f"Fatto: reclamo {case['number']} aperto."
    assert session(bc, conversation)["dialog"] == {}


def test_a_disabled_flow_under_a_running_dialog_hands_off(bc):
    wa_id = "393471110005"
    conversation = bc.writes("dov'è il mio ordine?", wa_id=wa_id)
    bc.answer()
    with bc.services.engine.begin() as conn:
        conn.execute(update(bot_flows).values(enabled=False))
    bc.writes("100234", wa_id=wa_id)
    bc.answer()
    assert bc.decisions(conversation) == ["dialog", "handoff"]

"""The demo's consent: its customers' marketing opt-ins (once), and a scripted STOP that is a real keyword."""

from __future__ import annotations

from centralino.demo_consent import STOPS, seed_opt_ins
from centralino.domain.consent import Action, Keywords, Purpose
from centralino.storage.tables_consent import consent_records
from tests.factories import whatsapp_channel
from tests.helpers import rows
from tests.outbound_helpers import GIULIA, MARCO, customer_wrote


def test_opt_ins_are_seeded_once_and_allow_marketing(services):
    whatsapp_channel(services)
    customer_wrote(services, GIULIA)
    customer_wrote(services, MARCO)
    assert seed_opt_ins(services, [GIULIA, MARCO, "390000000000"]) == 2  # the last one never wrote
    assert seed_opt_ins(services, [GIULIA, MARCO]) == 0
    records = rows(services, consent_records)
    assert {(r["purpose"], r["action"], r["source"]) for r in records} == {("marketing", "opt_in", "web_form")}
    with services.engine.connect() as conn:
        decisions = services.consent.states_for(conn, [r["contact_id"] for r in records], None, Purpose.MARKETING)
    assert all(d.allowed for d in decisions.values())


def test_the_scripted_stop_is_an_opt_out_keyword():
    for keyword in STOPS.values():
        match = Keywords().match(keyword)
        assert match is not None and match.action is Action.OPT_OUT

"""Report figures on a known day (SQLite and PostgreSQL): five contacts on 25 November 2026 in Rome, one the
evening before and one just after midnight, in two queues, two agents, two CSAT answers, one SLA policy.

    contact  queue   start  agent  first reply  resolved  CSAT   notes
    c1       sales   09:00  anna   +120 s       +1320 s   5
    c2       care    10:00  bruno  +300 s       +900 s    2
    c3       care    10:30  -      -            +600 s    -      abandoned (resolved unanswered)
    c4       sales   14:00  anna   +60 s        -         -
    c5       care    15:00  -      -            -         -      abandoned (silent for more than 24 h)
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from centralino.app.reports import ReportQuery
from centralino.demo_access import SETUP
from centralino.domain.access import Principal, Role
from centralino.domain.enums import ConversationStatus
from centralino.errors import Forbidden, InvalidInput
from centralino.storage.tables_service_levels import csat_surveys
from tests.helpers import rows
from tests.service_level_helpers import Desk, rome

DAY = date(2026, 11, 25)


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"csat_enabled": True})


@pytest.fixture
def day(services) -> dict:
    desk = Desk(services)
    sales = desk.center.queue("sales")
    care = desk.center.queue("care")
    desk.center.rule(sales, 0, keywords_any=["acquisto"])
    desk.center.rule(care, 1)
    desk.policy(first_response_s=180, resolution_s=1000)
    anna, bruno = desk.center.agent("anna", {}), desk.center.agent("bruno", {})

    def contact(wa: str, at, text: str) -> int:
        desk.at(at)
        return desk.customer_writes(text, wa_id=wa)

    def reply(conversation: int, agent: int, after: int) -> None:
        desk.clock.advance(after)
        desk.agent_replies(conversation, agent)

    def resolve(conversation: int, at) -> None:
        desk.at(at)
        services.desk.do_set_status(SETUP, conversation, ConversationStatus.RESOLVED)

    contact("393470000090", rome(2026, 11, 24, 23, 30), "ieri sera")  # the day before: outside the range
    c1 = contact("393470000001", rome(2026, 11, 25, 9, 0), "acquisto")
    reply(c1, anna, 120)
    resolve(c1, rome(2026, 11, 25, 9, 22))
    c2 = contact("393470000002", rome(2026, 11, 25, 10, 0), "problema")
    reply(c2, bruno, 300)
    resolve(c2, rome(2026, 11, 25, 10, 15))
    c3 = contact("393470000003", rome(2026, 11, 25, 10, 30), "domanda")
    resolve(c3, rome(2026, 11, 25, 10, 40))
    c4 = contact("393470000004", rome(2026, 11, 25, 14, 0), "acquisto bis")
    reply(c4, anna, 60)
    contact("393470000005", rome(2026, 11, 25, 15, 0), "c'è nessuno")
    contact("393470000091", rome(2026, 11, 26, 0, 30), "dopo mezzanotte")  # 23:30 UTC: the next local day
    surveys = {r["conversation_id"]: r for r in rows(services, csat_surveys)}
    desk.at(rome(2026, 11, 25, 11, 0))
    desk.customer_taps("393470000001", {"id": f"csat:{surveys[c1]['id']}:5", "title": "😀 5"},
                       surveys[c1]["message_id"])
    desk.customer_taps("393470000002", {"id": f"csat:{surveys[c2]['id']}:2", "title": "🙁 2"},
                       surveys[c2]["message_id"])
    desk.at(rome(2026, 11, 26, 16, 0))  # the next afternoon: c5 silent for 25 h, the SLA clock has run
    desk.sla.run_once()
    reports = services.service_levels.reports
    reports.clock = desk.clock
    return {"reports": reports, "sales": sales, "care": care, "anna": anna, "bruno": bruno,
            "channel": desk.center.channel_id}


def report(day: dict, **filters) -> dict:
    return day["reports"].report(SETUP, ReportQuery(DAY, DAY, **filters))


def test_the_summary_of_the_day(day):
    figures = report(day)
    assert figures["summary"] == {"contacts": 5, "answered": 3, "resolved": 3, "abandoned": 2,
                                  "avg_first_response_s": 160.0, "avg_handle_s": 900.0, "avg_resolution_s": 940.0}
    assert figures["csat"] == {"answers": 2, "avg_score": 3.5, "satisfied_pct": 50.0}
    # first response ≤ 180 s: c1, c4 met; c2 late; c5 unanswered past due; c3 resolved unanswered: not counted
    assert figures["sla"]["first_response"] == {"met": 2, "missed": 2, "running": 0, "attainment_pct": 50.0}
    # resolution ≤ 1000 s: c2, c3 met; c1 late; c4, c5 still open past due
    assert figures["sla"]["resolution"] == {"met": 2, "missed": 3, "running": 0, "attainment_pct": 40.0}


def test_volumes_per_queue_agent_channel_and_hour(day):
    figures = report(day)
    queues = {q["name"]: q for q in figures["by_queue"]}
    assert {k: queues["sales"][k] for k in ("contacts", "answered", "resolved", "abandoned", "avg_first_response_s",
                                            "avg_handle_s", "avg_resolution_s")} == {
        "contacts": 2, "answered": 2, "resolved": 1, "abandoned": 0, "avg_first_response_s": 90.0,
        "avg_handle_s": 1200.0, "avg_resolution_s": 1320.0}
    assert queues["sales"]["csat"] == {"answers": 1, "avg_score": 5.0, "satisfied_pct": 100.0}
    assert (queues["care"]["contacts"], queues["care"]["abandoned"], queues["care"]["avg_resolution_s"]) == (
        3, 2, 750.0)
    assert queues["care"]["csat"] == {"answers": 1, "avg_score": 2.0, "satisfied_pct": 0.0}
    agents = {a["id"]: a for a in figures["by_agent"]}
    assert (agents[day["anna"]]["name"], agents[day["anna"]]["contacts"]) == ("anna", 2)
    assert agents[day["bruno"]]["csat"]["avg_score"] == 2.0
    assert agents[None]["contacts"] == 2  # unanswered contacts have no agent
    assert [(c["id"], c["contacts"]) for c in figures["by_channel"]] == [(day["channel"], 5)]
    hours = {h["hour"]: h["contacts"] for h in figures["by_hour"] if h["contacts"]}
    assert hours == {9: 1, 10: 2, 14: 1, 15: 1}


def test_filters(day):
    assert report(day, queue_id=day["sales"])["summary"]["contacts"] == 2
    assert report(day, agent_id=day["bruno"])["summary"]["avg_first_response_s"] == 300.0
    assert report(day, channel_id=day["channel"] + 1)["summary"]["contacts"] == 0
    two_days = day["reports"].report(SETUP, ReportQuery(DAY - timedelta(days=1), DAY + timedelta(days=1)))
    assert two_days["summary"]["contacts"] == 7


def test_csv_export(day):
    text = "".join(day["reports"].csv(SETUP, ReportQuery(DAY, DAY)))
    lines = text.splitlines()
    assert lines[0].startswith("group,id,name,contacts,answered,resolved,abandoned")
    assert lines[1] == "all,,,5,3,3,2,160.0,900.0,940.0,2,3.5,50.0"
    assert "sla,first_response,2,2,0,50.0" in lines


def test_agents_may_not_read_reports_and_ranges_are_checked(day):
    with pytest.raises(Forbidden):
        report_for = day["reports"].report
        report_for(Principal(Role.AGENT, day["anna"]), ReportQuery(DAY, DAY))
    with pytest.raises(InvalidInput) as err:
        day["reports"].report(SETUP, ReportQuery(DAY, DAY - timedelta(days=1)))
    assert err.value.field == "to"

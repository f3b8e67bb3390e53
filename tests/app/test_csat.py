"""The CSAT survey after a resolution: interactive inside the window, a template outside it (refused cleanly
without one), the customer's tap recorded once against the conversation, agent and queue."""

from __future__ import annotations

from datetime import timedelta

import pytest

from centralino.demo_access import SETUP
from centralino.domain.enums import ConversationStatus
from centralino.storage.tables import conversations, messages
from centralino.storage.tables_service_levels import csat_surveys, service_episodes
from tests.helpers import count, rows
from tests.service_level_helpers import Desk, rome

WA = "393470000001"


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"csat_enabled": True})


@pytest.fixture
def desk(services) -> Desk:
    return Desk(services)


def served(desk: Desk) -> tuple[int, int, int]:
    """A customer in a queue answered by an agent and resolved: (conversation, agent, queue)."""
    queue = desk.queue()
    agent = desk.center.agent("anna", {})
    desk.at(rome(2026, 11, 25, 10, 0))
    conversation = desk.customer_writes("aiuto")
    desk.clock.advance(60)
    desk.agent_replies(conversation, agent)
    desk.clock.advance(60)
    desk.services.desk.do_set_status(SETUP, conversation, ConversationStatus.RESOLVED)
    return conversation, agent, queue


def test_inside_the_window_a_list_is_sent_and_the_tap_recorded_once(desk, recorder):
    _, agent, queue = served(desk)
    survey = rows(desk.services, csat_surveys)[0]
    assert (survey["mode"], survey["state"], survey["agent_user_id"], survey["queue_id"]) == (
        "interactive", "sent", agent, queue)
    message = rows(desk.services, messages, messages.c.id == survey["message_id"])[0]
    interactive = message["content"]["interactive"]
    assert message["origin"] == "system" and interactive["type"] == "list"
    ids = [r["id"] for r in interactive["action"]["sections"][0]["rows"]]
    assert ids == [f"csat:{survey['id']}:{n}" for n in (5, 4, 3, 2, 1)]
    desk.clock.advance(30)
    desk.customer_taps(WA, {"id": f"csat:{survey['id']}:4", "title": "🙂 4"}, survey["message_id"])
    answered = rows(desk.services, csat_surveys)[0]
    assert (answered["state"], answered["score"]) == ("answered", 4)
    assert "csat.answered" in recorder.types()
    # the tap is not a new contact and leaves the conversation resolved
    assert count(desk.services, service_episodes) == 1
    assert rows(desk.services, conversations)[0]["status"] == "resolved"
    # a second tap changes nothing
    desk.customer_taps(WA, {"id": f"csat:{survey['id']}:1", "title": "😞 1"}, survey["message_id"])
    assert rows(desk.services, csat_surveys)[0]["score"] == 4


def test_a_forged_or_foreign_answer_is_not_recorded(desk):
    served(desk)
    survey = rows(desk.services, csat_surveys)[0]
    desk.customer_taps(WA, {"id": f"csat:{survey['id']}:9", "title": "9"}, survey["message_id"])
    desk.customer_taps(WA, {"id": f"csat:{survey['id'] + 50}:5", "title": "5"}, survey["message_id"])
    assert rows(desk.services, csat_surveys)[0]["state"] == "sent"


def test_buttons_style_offers_three_faces(services):
    services.service_levels.csat.style = "buttons"
    desk = Desk(services)
    served(desk)
    survey = rows(desk.services, csat_surveys)[0]
    content = rows(desk.services, messages, messages.c.id == survey["message_id"])[0]["content"]
    assert [(b["id"], b["title"]) for b in content["interactive"]["action"]["buttons"]] == [
        (f"csat:{survey['id']}:1", "😞"), (f"csat:{survey['id']}:3", "😐"), (f"csat:{survey['id']}:5", "😀")]
    desk.customer_taps(WA, {"id": f"csat:{survey['id']}:5", "title": "😀"}, survey["message_id"],
                       kind="button_reply")
    assert rows(desk.services, csat_surveys)[0]["score"] == 5


def test_outside_the_window_without_a_template_the_survey_is_refused(desk, recorder):
    queue = desk.queue()
    agent = desk.center.agent("anna", {})
    desk.at(rome(2026, 11, 25, 10, 0))
    conversation = desk.customer_writes("aiuto")
    desk.agent_replies(conversation, agent)
    desk.clock.advance(int(timedelta(hours=25).total_seconds()))  # the 24-h window has closed
    before = count(desk.services, messages)
    desk.services.desk.do_set_status(SETUP, conversation, ConversationStatus.RESOLVED)
    survey = rows(desk.services, csat_surveys)[0]
    assert (survey["mode"], survey["state"], survey["message_id"], survey["queue_id"]) == (
        "template", "refused", None, queue)
    assert survey["refused_reason"].startswith("csat.no_template")
    assert count(desk.services, messages) == before
    assert "csat.refused" in recorder.types()


def test_outside_the_window_a_missing_template_is_refused(services):
    services.service_levels.csat.template_name = "csat_survey"
    desk = Desk(services)
    desk.queue()
    agent = desk.center.agent("anna", {})
    desk.at(rome(2026, 11, 25, 10, 0))
    conversation = desk.customer_writes("aiuto")
    desk.agent_replies(conversation, agent)
    desk.clock.advance(int(timedelta(hours=25).total_seconds()))
    desk.services.desk.do_set_status(SETUP, conversation, ConversationStatus.RESOLVED)
    survey = rows(desk.services, csat_surveys)[0]
    assert survey["state"] == "refused" and survey["refused_reason"].startswith("template.not_found")


def test_one_survey_per_resolution(desk):
    conversation, agent, _ = served(desk)
    desk.services.desk.do_set_status(SETUP, conversation, ConversationStatus.OPEN)
    desk.services.desk.do_set_status(SETUP, conversation, ConversationStatus.RESOLVED)  # no new contact
    assert count(desk.services, csat_surveys) == 1
    desk.clock.advance(60)
    desk.customer_writes("un'altra cosa")
    desk.agent_replies(conversation, agent, "certo")
    desk.services.desk.do_set_status(SETUP, conversation, ConversationStatus.RESOLVED)
    assert count(desk.services, csat_surveys) == 2


def _survey_template(services, category: str) -> None:
    from datetime import UTC, datetime

    from centralino.storage.tables_templates import templates
    from tests.factories import WABA

    now = datetime.now(UTC)
    with services.engine.begin() as conn:
        conn.execute(templates.insert().values(
            account_id=WABA, name="csat_survey", language="it", category=category, parameter_format="positional",
            components=[{"type": "BODY", "text": "Come valuti l'assistenza?"},
                        {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": t} for t in "135"]}],
            status="approved", created_at=now, updated_at=now))


def _resolved_after_the_window(services) -> tuple[Desk, int]:
    services.service_levels.csat.template_name = "csat_survey"
    desk = Desk(services)
    desk.queue()
    agent = desk.center.agent("anna", {})
    desk.at(rome(2026, 11, 25, 10, 0))
    conversation = desk.customer_writes("aiuto")
    desk.agent_replies(conversation, agent)
    desk.clock.advance(int(timedelta(hours=25).total_seconds()))
    desk.services.desk.do_set_status(SETUP, conversation, ConversationStatus.RESOLVED)
    return desk, conversation


def test_outside_the_window_the_template_goes_and_its_button_is_the_answer(services):
    _survey_template(services, "utility")
    desk, _ = _resolved_after_the_window(services)
    survey = rows(desk.services, csat_surveys)[0]
    assert (survey["mode"], survey["state"]) == ("template", "sent")
    message = rows(desk.services, messages, messages.c.id == survey["message_id"])[0]
    assert (message["type"], message["origin"]) == ("template", "system")
    desk.customer_taps(WA, {"payload": "5", "text": "5"}, survey["message_id"], kind="button")
    answered = rows(desk.services, csat_surveys)[0]
    assert (answered["state"], answered["score"]) == ("answered", 5)


def test_outside_the_window_a_marketing_survey_needs_consent(services):
    _survey_template(services, "marketing")
    desk, _ = _resolved_after_the_window(services)
    survey = rows(desk.services, csat_surveys)[0]
    assert survey["state"] == "refused" and survey["refused_reason"].startswith("consent.")
    assert survey["message_id"] is None

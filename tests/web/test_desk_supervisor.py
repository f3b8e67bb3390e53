"""The supervisor's live view and the routing configuration pages: who may see them, what they show from
real routed work (queues, items, agents' presence and load, SLA timers at risk), and the supervisor's
actions (take over, reassign, whisper) through the API the page uses."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from centralino.demo_access import SETUP
from centralino.domain.access import Role
from centralino.domain.enums import Direction
from centralino.storage.tables import messages, users
from centralino.storage.tables_routing import routing_items
from tests.access_helpers import PASSWORD, cheap_hashing, sign_in
from tests.service_level_helpers import Desk, rome

PAGES = ("/desk/supervisor", "/desk/supervisor/live", "/desk/routing/agents", "/desk/routing/queues")


@pytest.fixture
def settings(settings):
    return cheap_hashing(settings)


@pytest.fixture
def desk(services):
    """A routed desk: queue <b>mutui</b> for "mutuo" messages, agent anna (signs in), supervisor boss of the
    same department, supervisor other of another department."""
    desk = Desk(services)
    center = desk.center
    desk.at(rome(2026, 11, 25, 10, 0))
    queue = center.queue("<b>mutui</b>", relaxation=[{"after_s": 60, "min_level": 2}],
                         required_skills=[{"skill": "product:mortgages", "min_level": 3}])
    center.rule(queue, keywords_any=["mutuo"])
    for name, role in (("anna", Role.AGENT), ("boss", Role.SUPERVISOR)):
        services.admin.do_create_user(SETUP, email=f"{name}@example.com", display_name=name.title(), role=role,
                                      password=PASSWORD, department_ids=[center.department_id])
    other = int(services.admin.do_create_department(SETUP, "Elsewhere", channel_ids=[])["id"])
    services.admin.do_create_user(SETUP, email="other@example.com", display_name="Other", role=Role.SUPERVISOR,
                                  password=PASSWORD, department_ids=[other])
    desk.queue_id = queue  # type: ignore[attr-defined]
    return desk


def user_id(services, name: str) -> int:
    with services.engine.connect() as conn:
        return int(conn.execute(select(users.c.id).where(users.c.email == f"{name}@example.com")).scalar_one())


def test_agents_get_404_and_no_link_signed_out_goes_to_sign_in(client, desk):
    for path in PAGES:
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code in (303, 404), path
    assert client.get("/desk/supervisor", follow_redirects=False).headers["location"].startswith("/desk/sign-in")
    sign_in(client, "anna")
    for path in PAGES:
        assert client.get(path).status_code == 404, path
    inbox = client.get("/desk/").text
    assert 'href="/desk/supervisor"' not in inbox
    assert 'id="presence-switch"' in inbox  # every signed-in user has the presence switch
    sign_in(client, "boss")
    assert 'href="/desk/supervisor"' in client.get("/desk/").text
    for path in PAGES:
        assert client.get(path).status_code == 200, path


def test_the_live_view_shows_queues_work_agents_and_sla_at_risk(client, services, desk):
    anna = user_id(services, "anna")
    routing = services.routing
    routing.do_set_skills(SETUP, anna, [{"skill": "product:mortgages", "level": 4}])
    routing.do_set_capacity(SETUP, anna, {"whatsapp": 2})
    desk.policy(first_response_s=600)
    conversation = desk.customer_writes("vorrei un mutuo <script>")
    sign_in(client, "boss")
    page = client.get("/desk/supervisor")
    assert page.status_code == 200
    assert "&lt;b&gt;mutui&lt;/b&gt;" in page.text and "<b>mutui</b>" not in page.text
    row = f'<tr data-queue-id="{desk.queue_id}"><td>&lt;b&gt;mutui&lt;/b&gt;</td><td data-figure="waiting">1</td>'
    assert row in page.text
    assert f'<tr data-conversation-id="{conversation}" data-state="waiting">' in page.text
    assert 'data-figure="sla_at_risk" class="">0<' in page.text
    desk.clock.advance(500)  # past 80% of the 600 s first-response target, nobody answered
    live = client.get("/desk/supervisor/live").text
    assert 'data-figure="sla_at_risk" class="sup-risk">1<' in live
    assert 'data-figure="longest_wait">8m 20s<' in live

    routing.do_set_presence(SETUP, anna, "online")
    assert desk.center.route() == 1
    live = client.get("/desk/supervisor/live").text
    assert f'<tr data-conversation-id="{conversation}" data-state="offered">' in live
    assert f'<tr data-user-id="{anna}"><td>Anna</td>' in live
    assert '<span class="sup-load" data-kind="whatsapp">whatsapp 1/2</span>' in live
    assert '<td data-state="online">1</td>' in live

    routing.do_set_presence(SETUP, anna, "away", "pranzo")  # unanswered work goes back to the queue
    live = client.get("/desk/supervisor/live").text
    assert 'data-presence="away"' in live and "pranzo" in live
    assert f'<tr data-conversation-id="{conversation}" data-state="waiting">' in live

    client.cookies.clear()
    sign_in(client, "other")  # another department's supervisor sees none of it
    other = client.get("/desk/supervisor").text
    assert "mutui" not in other and f'data-user-id="{anna}"' not in other


def test_take_over_reassign_and_whisper_as_the_page_does(client, services, desk):
    anna = user_id(services, "anna")
    boss = user_id(services, "boss")
    conversation = desk.customer_writes("un mutuo")
    headers = sign_in(client, "boss")
    assert client.put(f"/api/v1/conversations/{conversation}/assignee", headers=headers,
                      json={"user_id": boss}).status_code == 204
    assert desk.center.assignee(conversation) == boss
    assert desk.center.item(conversation)["state"] == "removed"  # the queue let go of it
    assert f'data-conversation-id="{conversation}"' not in client.get("/desk/supervisor/live").text
    assert client.put(f"/api/v1/conversations/{conversation}/assignee", headers=headers,
                      json={"user_id": anna}).status_code == 204
    assert desk.center.assignee(conversation) == anna
    note = client.post(f"/api/v1/conversations/{conversation}/notes", headers=headers,
                       json={"body": "offri il tasso fisso"})
    assert note.status_code == 201
    with services.engine.connect() as conn:
        row = conn.execute(select(messages.c.direction, messages.c.type, messages.c.text)
                           .where(messages.c.id == note.json()["id"])).one()
        assert conn.execute(select(routing_items.c.state).where(
            routing_items.c.conversation_id == conversation)).scalars().all() == ["removed"]
    assert (row.direction, row.type, row.text) == (Direction.INTERNAL.value, "note", "offri il tasso fisso")


def test_configuration_pages_show_skills_capacity_queues_and_rules(client, services, desk):
    anna = user_id(services, "anna")
    services.routing.do_set_skills(SETUP, anna, [{"skill": "product:mortgages", "level": 4},
                                                 {"skill": "language:it", "level": 5}])
    services.routing.do_set_capacity(SETUP, anna, {"whatsapp": 3, "email": 10})
    sign_in(client, "boss")
    agents = client.get("/desk/routing/agents").text
    assert f'data-user-id="{anna}"' in agents
    assert ">language:it 5\nproduct:mortgages 4</textarea>" in agents
    assert 'value="email=10, whatsapp=3"' in agents
    queues = client.get("/desk/routing/queues").text
    assert f'data-queue-id="{desk.queue_id}"' in queues
    assert ">product:mortgages 3</textarea>" in queues and ">60 min_level 2</textarea>" in queues
    assert 'name="conditions.keywords_any" value="mutuo"' in queues
    assert 'data-error-for="relaxation"' in queues and 'data-error-for="conditions.tags_any"' in queues
    sign_in(client, "other")
    assert f'data-queue-id="{desk.queue_id}"' not in client.get("/desk/routing/queues").text
    assert f'data-user-id="{anna}"' not in client.get("/desk/routing/agents").text


def test_routing_events_reach_supervisors_streams_only(services, desk):
    """The desk hub forwards routing's flow (an item enqueued, an agent's presence) to supervisors' and
    administrators' browsers, and not to agents'."""
    from centralino.domain.access import Principal
    from centralino.web.desk.live import DeskEventHub

    anna, boss = user_id(services, "anna"), user_id(services, "boss")

    async def scenario() -> tuple[list[dict], list[dict]]:
        hub = DeskEventHub(services.engine)
        hub.start(services.bus)
        supervisor = hub.connect(Principal(Role.SUPERVISOR, boss, frozenset({desk.center.department_id})))
        agent = hub.connect(Principal(Role.AGENT, anna, frozenset({desk.center.department_id})))
        conversation = await asyncio.to_thread(desk.customer_writes, "un mutuo")
        await asyncio.to_thread(services.routing.do_set_presence, SETUP, anna, "away", "pranzo")
        heard: list[dict] = []
        while not any(e["type"] == "agent.presence_changed" for e in heard):
            more = await supervisor.next_items(5)
            assert more, "nothing heard within 5 s"
            heard += more
        await asyncio.sleep(0.2)
        heard += supervisor.take_items()
        agent_heard = agent.take_items()
        await hub.stop()
        assert {"type": "routing.item_enqueued", "conversation_id": conversation} in heard
        return heard, agent_heard

    heard, agent_heard = asyncio.run(scenario())
    assert {"type": "agent.presence_changed", "user_id": anna, "state": "away"} in heard
    assert agent_heard and not [e for e in agent_heard if e["type"].startswith(("routing.", "agent."))]

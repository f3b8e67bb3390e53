"""The desk's case pages (web/desk/case_pages.py, case_forms.py, work_pages.py): opening a case from a
conversation with messages attached, the case page and its forms (validation next to the field, nothing
changed), tasks with checklist, dependencies and escalation, the list and the department work view, CSRF on
every form, escaping of customer-made text, and 404 for what the user may not see."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select

from centralino.storage.tables import messages
from centralino.storage.tables_cases import cases, handoffs, tasks
from tests.access_helpers import cheap_hashing, sign_in

EVIL = "<img src=x onerror=alert(1)>"


@pytest.fixture
def settings(settings):
    return cheap_hashing(settings)


def of(recorder, event_type: str) -> list[Any]:
    return [e for e in recorder.events if e.type == event_type]


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "the form carries no CSRF token"
    return found.group(1)


def count(services, table, *where) -> int:
    with services.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def message_ids(services, conversation_id: int) -> list[int]:
    with services.engine.connect() as conn:
        return [int(i) for i in conn.execute(select(messages.c.id).where(
            messages.c.conversation_id == conversation_id).order_by(messages.c.id)).scalars()]


def type_id(services, key: str) -> int:
    return next(int(t["id"]) for t in services.cases.types.list_types() if t["key"] == key)


def open_case(client, services, org, *, title: str = "Reso non arrivato", **extra: Any) -> Any:
    form_page = client.get(f"/desk/conversations/{org.care_conversation}/cases/new")
    assert form_page.status_code == 200
    data = {"csrf": csrf_of(form_page.text), "type_id": type_id(services, "technical_issue"), "title": title,
            "priority": "high", "department_id": org.care, f"f.{type_id(services, 'technical_issue')}.severity": "high",
            "message_ids": message_ids(services, org.care_conversation), **extra}
    return client.post(f"/desk/conversations/{org.care_conversation}/cases", data=data, follow_redirects=False)


def the_case(services) -> dict[str, Any]:
    with services.engine.connect() as conn:
        return dict(conn.execute(select(cases)).mappings().one())


def test_an_agent_opens_a_case_from_the_conversation_with_its_messages(client, services, org, recorder):
    sign_in(client, "agent_care")
    conversation = client.get(f"/desk/conversations/{org.care_conversation}").text
    assert f'href="/desk/conversations/{org.care_conversation}/cases/new"' in conversation
    assert 'id="open-case-top"' in conversation  # also in the header: the panel is hidden on narrow screens
    form = client.get(f"/desk/conversations/{org.care_conversation}/cases/new").text
    first = message_ids(services, org.care_conversation)[0]
    assert f'name="message_ids" value="{first}" checked' in form  # the customer's last words, ticked
    assert 'value="assistenza"' in form  # the title is prefilled from the customer's message
    answer = open_case(client, services, org)
    assert answer.status_code == 303
    case = the_case(services)
    assert answer.headers["location"] == f"/desk/cases/{case['id']}?done=created"
    assert case["title"] == "Reso non arrivato" and case["priority"] == "high" and case["department_id"] == org.care
    links = {(e.payload["kind"], e.payload["ref_id"]) for e in of(recorder, "case.linked")}
    assert links == {("conversation", org.care_conversation), ("message", first)}
    page = client.get(answer.headers["location"]).text
    assert case["number"] in page and "Reso non arrivato" in page
    assert f'href="/desk/conversations/{org.care_conversation}#message-{first}"' in page
    panel = client.get(f"/desk/conversations/{org.care_conversation}/cases").text
    assert f'href="/desk/cases/{case["id"]}"' in panel and case["number"] in panel


def test_a_missing_required_field_is_shown_next_to_it_and_nothing_is_created(client, services, org):
    sign_in(client, "agent_care")
    technical = type_id(services, "technical_issue")
    answer = open_case(client, services, org, **{f"f.{technical}.severity": ""})
    assert answer.status_code == 400
    assert 'data-error-for="fields.severity"' in answer.text and 'aria-invalid="true"' in answer.text
    assert 'value="Reso non arrivato"' in answer.text  # what was typed is kept
    assert count(services, cases) == 0


def test_every_form_needs_the_csrf_token(client, services, org):
    sign_in(client, "agent_care")
    data = {"type_id": type_id(services, "technical_issue"), "title": "x"}
    for token in (None, "wrong"):
        answer = client.post(f"/desk/conversations/{org.care_conversation}/cases",
                             data={**data, **({"csrf": token} if token else {})}, follow_redirects=False)
        assert answer.status_code == 403
    assert count(services, cases) == 0
    open_case(client, services, org)
    case = the_case(services)
    answer = client.post(f"/desk/cases/{case['id']}/status", data={"to": "in_progress", "csrf": "nope"})
    assert answer.status_code == 403
    assert the_case(services)["status"] == "new"


def test_titles_and_reasons_are_escaped_everywhere(client, services, org):
    sign_in(client, "agent_care")
    assert open_case(client, services, org, title=EVIL).status_code == 303
    case = the_case(services)
    page = client.get(f"/desk/cases/{case['id']}").text
    csrf = csrf_of(page)
    client.post(f"/desk/cases/{case['id']}/tasks", data={"csrf": csrf, "title": EVIL, "department_id": org.care,
                                                         "checklist": EVIL})
    task_id = _task_ids(services)[0]
    client.post(f"/desk/cases/{case['id']}/tasks/{task_id}/escalate",
                data={"csrf": csrf, "to_department_id": org.sales, "reason": EVIL})
    sign_in(client, "admin")
    for path in (f"/desk/cases/{case['id']}", "/desk/cases", f"/desk/work/{org.sales}",
                 f"/desk/conversations/{org.care_conversation}/cases"):
        text = client.get(path).text
        assert EVIL not in text, path
        assert "&lt;img src=x onerror=alert(1)&gt;" in text, path


def _task_ids(services) -> list[int]:
    with services.engine.connect() as conn:
        return [int(i) for i in conn.execute(select(tasks.c.id).order_by(tasks.c.id)).scalars()]


def test_transitions_are_the_types_and_a_refused_one_changes_nothing(client, services, org, recorder):
    sign_in(client, "agent_care")
    open_case(client, services, org)
    case = the_case(services)
    page = client.get(f"/desk/cases/{case['id']}").text
    buttons = set(re.findall(r'data-transition="([a-z_]+)"', page))
    assert buttons == {"in_progress", "rejected"}  # from "new" in the standard workflow
    csrf = csrf_of(page)
    refused = client.post(f"/desk/cases/{case['id']}/status", data={"csrf": csrf, "to": "closed"})
    assert refused.status_code == 409 and 'data-error-for="to"' in refused.text
    assert the_case(services)["status"] == "new"
    moved = client.post(f"/desk/cases/{case['id']}/status", data={"csrf": csrf, "to": "in_progress"},
                        follow_redirects=False)
    assert moved.status_code == 303 and the_case(services)["status"] == "in_progress"
    assert [(e.payload["from"], e.payload["to"]) for e in of(recorder, "case.status_changed")] == [("new", "in_progress")]


def test_details_form_validates_custom_fields_next_to_the_field(client, services, org):
    sign_in(client, "agent_care")
    open_case(client, services, org)
    case = the_case(services)
    page = client.get(f"/desk/cases/{case['id']}").text
    base = {"csrf": csrf_of(page), "title": "Nuovo titolo", "priority": "urgent", "department_id": org.care,
            "owner_user_id": org.agent_care, "due_at": "", "tags": "reso, urgente", "fields.severity": "enormous",
            "fields.product": ""}
    bad = client.post(f"/desk/cases/{case['id']}/details", data=base)
    assert bad.status_code == 400 and 'id="err-fields-severity"' in bad.text and "one of:" in bad.text
    assert the_case(services)["title"] == "Reso non arrivato"
    good = client.post(f"/desk/cases/{case['id']}/details", data={**base, "fields.severity": "blocking",
                                                                   "due_at": "2030-01-02T10:30"},
                       follow_redirects=False)
    assert good.status_code == 303
    saved = the_case(services)
    assert saved["title"] == "Nuovo titolo" and saved["priority"] == "urgent"
    assert saved["fields"]["severity"] == "blocking" and saved["tags"] == ["reso", "urgente"]
    assert saved["due_at"].isoformat().startswith("2030-01-02T10:30")


def test_tasks_checklist_dependencies_and_escalation_with_hand_off_history(client, services, org, recorder):
    sign_in(client, "agent_care")
    open_case(client, services, org)
    case = the_case(services)
    csrf = csrf_of(client.get(f"/desk/cases/{case['id']}").text)
    no_target = client.post(f"/desk/cases/{case['id']}/tasks", data={"csrf": csrf, "title": "Verifica"})
    assert no_target.status_code == 400 and 'data-error-for="task.department_id"' in no_target.text
    client.post(f"/desk/cases/{case['id']}/tasks", data={"csrf": csrf, "title": "Verifica magazzino",
                                                         "department_id": org.care,
                                                         "checklist": "Chiama il corriere\nFoto del pacco"})
    first = _task_ids(services)[0]
    client.post(f"/desk/cases/{case['id']}/tasks", data={"csrf": csrf, "title": "Rimborso",
                                                         "department_id": org.care, "depends_on": first})
    second = _task_ids(services)[1]
    page = client.get(f"/desk/cases/{case['id']}").text
    assert f'href="#task-{first}"' in page  # the dependency, linked
    waiting = client.post(f"/desk/cases/{case['id']}/tasks/{second}/status", data={"csrf": csrf, "to": "done"})
    assert waiting.status_code == 409
    ticked = client.post(f"/desk/cases/{case['id']}/tasks/{first}/checklist",
                         data={"csrf": csrf, "index": "1", "done": "1"}, follow_redirects=False)
    assert ticked.status_code == 303
    with services.engine.connect() as conn:
        checklist = conn.execute(select(tasks.c.checklist).where(tasks.c.id == first)).scalar_one()
    assert [i["done"] for i in checklist] == [False, True]
    no_reason = client.post(f"/desk/cases/{case['id']}/tasks/{first}/escalate",
                            data={"csrf": csrf, "to_department_id": org.sales, "reason": " "})
    assert no_reason.status_code == 400 and f'data-error-for="task-{first}.escalate"' in no_reason.text
    assert count(services, handoffs) == 0
    escalated = client.post(f"/desk/cases/{case['id']}/tasks/{first}/escalate",
                            data={"csrf": csrf, "to_department_id": org.sales, "reason": "Serve il commerciale"},
                            follow_redirects=False)
    assert escalated.status_code == 303
    [event] = of(recorder, "task.escalated")
    assert (event.payload["from_department_id"], event.payload["to_department_id"]) == (org.care, org.sales)
    sign_in(client, "agent_sales")  # the receiving department sees the task in its work view and the case
    work = client.get(f"/desk/work/{org.sales}").text
    assert f'value="task:{first}"' in work and "Verifica magazzino" in work
    page = client.get(f"/desk/cases/{case['id']}").text
    history = page[page.index('id="case-handoffs"'):]
    assert "Serve il commerciale" in history and "Care" in history and "Sales" in history and "agent_care" in history


def test_out_of_scope_cases_conversations_and_departments_are_404(client, services, org):
    sign_in(client, "agent_care")
    open_case(client, services, org)
    case = the_case(services)
    csrf = csrf_of(client.get(f"/desk/cases/{case['id']}").text)
    sign_in(client, "agent_sales")
    assert client.get(f"/desk/cases/{case['id']}").status_code == 404
    assert client.get(f"/desk/cases/{case['id'] + 1000}").status_code == 404
    assert client.get(f"/desk/conversations/{org.care_conversation}/cases/new").status_code == 404
    assert client.get(f"/desk/conversations/{org.care_conversation}/cases").status_code == 404
    assert client.get(f"/desk/work/{org.care}").status_code == 404
    assert case["number"] not in client.get("/desk/cases").text
    fresh_csrf = csrf_of(client.get(f"/desk/work/{org.sales}").text)
    assert fresh_csrf != csrf
    answer = client.post(f"/desk/cases/{case['id']}/status", data={"csrf": fresh_csrf, "to": "in_progress"})
    assert answer.status_code == 404 and the_case(services)["status"] == "new"


def test_list_filters_search_and_pages(client, services, org, monkeypatch):
    from centralino.web.desk import case_pages
    sign_in(client, "agent_care")
    for title in ("Primo reso", "Secondo reso", "Fattura sbagliata"):
        open_case(client, services, org, title=title)
    listed = client.get("/desk/cases?q=reso").text
    assert "Primo reso" in listed and "Secondo reso" in listed and "Fattura sbagliata" not in listed
    number = the_case_numbers(services)[0]
    assert "Primo reso" in client.get(f"/desk/cases?q={number}").text
    assert "Primo reso" not in client.get("/desk/cases?status=in_progress").text
    monkeypatch.setattr(case_pages, "PAGE", 2)
    first = client.get("/desk/cases").text
    assert "Fattura sbagliata" in first and "Secondo reso" in first and "Primo reso" not in first
    more = re.search(r'id="cases-more" href="([^"]+)"|href="([^"]+)" id="cases-more"', first)
    assert more
    second = client.get((more.group(1) or more.group(2)).replace("&amp;", "&")).text
    assert "Primo reso" in second and "Fattura sbagliata" not in second


def the_case_numbers(services) -> list[str]:
    with services.engine.connect() as conn:
        return [str(n) for n in conn.execute(select(cases.c.number).order_by(cases.c.id)).scalars()]


def test_work_view_bulk_assign_and_escalate(client, services, org, recorder):
    sign_in(client, "agent_care")
    open_case(client, services, org, title="Uno")
    open_case(client, services, org, title="Due")
    ids = [int(c) for c in _case_ids(services)]
    sign_in(client, "supervisor")
    work = client.get(f"/desk/work/{org.care}").text
    for case_id in ids:
        assert f'value="case:{case_id}"' in work
    csrf = csrf_of(work)
    nothing = client.post(f"/desk/work/{org.care}/bulk", data={"csrf": csrf, "action": "assign",
                                                              "assignee_user_id": org.supervisor})
    assert nothing.status_code == 400
    assigned = client.post(f"/desk/work/{org.care}/bulk", data={
        "csrf": csrf, "action": "assign", "assignee_user_id": org.supervisor,
        "items": [f"case:{i}" for i in ids]}, follow_redirects=False)
    assert assigned.status_code == 303 and "done=2" in assigned.headers["location"]
    with services.engine.connect() as conn:
        assert set(conn.execute(select(cases.c.owner_user_id)).scalars()) == {org.supervisor}
    escalated = client.post(f"/desk/work/{org.care}/bulk", data={
        "csrf": csrf, "action": "escalate", "to_department_id": org.sales, "reason": "Competenza vendite",
        "items": [f"case:{ids[0]}"]}, follow_redirects=False)
    assert escalated.status_code == 303
    assert [e.payload["case_id"] for e in of(recorder, "case.escalated")] == [ids[0]]
    assert f'value="case:{ids[0]}"' not in client.get(f"/desk/work/{org.care}").text
    sign_in(client, "agent_care")
    assert client.post(f"/desk/work/{org.care}/bulk", data={"csrf": "bad", "action": "assign",
                                                           "items": [f"case:{ids[1]}"]}).status_code == 403


def _case_ids(services) -> list[int]:
    with services.engine.connect() as conn:
        return [int(i) for i in conn.execute(select(cases.c.id).order_by(cases.c.id)).scalars()]


def test_header_links_and_both_languages_have_every_word(client, org):
    from pathlib import Path

    from centralino.web.desk.i18n import MESSAGES
    from centralino.web.desk.pages import ENV
    sign_in(client, "agent_care")
    inbox = client.get("/desk/").text
    assert 'href="/desk/cases"' in inbox and 'href="/desk/work"' in inbox
    used = set()
    for template in (Path(ENV.loader.searchpath[0]) / "cases").glob("*.html"):  # type: ignore[attr-defined]
        used |= set(re.findall(r"""\bt\(\s*["']([a-z_.]+)["']\s*\)""", template.read_text()))
    assert used and used <= MESSAGES["en"].keys() and used <= MESSAGES["it"].keys()


def test_handing_a_case_out_of_ones_scope_lands_on_the_work_view(client, services, org):
    sign_in(client, "agent_care")
    open_case(client, services, org)
    case = the_case(services)
    page = client.get(f"/desk/cases/{case['id']}").text
    missing = client.post(f"/desk/cases/{case['id']}/escalate", data={"csrf": csrf_of(page), "reason": "x"})
    assert missing.status_code == 400 and 'data-error-for="escalate.to_department_id"' in missing.text
    answer = client.post(f"/desk/cases/{case['id']}/escalate", data={
        "csrf": csrf_of(page), "to_department_id": org.sales, "reason": "Riguarda un contratto"},
        follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/desk/work?done=1"
    assert the_case(services)["department_id"] == org.sales
    assert client.get(f"/desk/cases/{case['id']}").status_code == 404  # no longer theirs: not found


def test_work_view_filters_by_kind_risk_and_assignee_in_the_query_string(client, services, org):
    sign_in(client, "agent_care")
    open_case(client, services, org, title="Caso senza attività")
    case = the_case(services)
    page = client.get(f"/desk/cases/{case['id']}").text
    client.post(f"/desk/cases/{case['id']}/tasks", data={"csrf": csrf_of(page), "title": "Scaduta ieri",
                                                         "department_id": org.care, "due_at": "2020-01-01T09:00"})
    client.post(f"/desk/cases/{case['id']}/tasks", data={"csrf": csrf_of(page), "title": "Mia", "department_id":
                                                         org.care, "assignee_user_id": org.agent_care})
    work = f"/desk/work/{org.care}"
    everything = client.get(work).text
    assert "Caso senza attività" in everything and "Scaduta ieri" in everything and "Mia" in everything
    assert everything.index("Scaduta ieri") < everything.index("Caso senza attività")  # earliest due first
    overdue = client.get(f"{work}?risk=overdue").text
    assert "Scaduta ieri" in overdue and 'data-risk="overdue"' in overdue and "Mia</td>" not in overdue
    tasks_only = client.get(f"{work}?kind=tasks").text
    assert 'data-kind="case"' not in tasks_only and 'data-kind="task"' in tasks_only
    mine = client.get(f"{work}?assignee=me").text
    assert "Mia" in mine and "Scaduta ieri" not in mine
    assert 'id="saved-filters"' in mine  # the page's script saves the query string in this browser


def test_bulk_status_changes_tasks_and_reports_cases_it_cannot_change(client, services, org):
    sign_in(client, "agent_care")
    open_case(client, services, org)
    case = the_case(services)
    page = client.get(f"/desk/cases/{case['id']}").text
    client.post(f"/desk/cases/{case['id']}/tasks", data={"csrf": csrf_of(page), "title": "Uno",
                                                         "department_id": org.care})
    [task_id] = _task_ids(services)
    work = client.get(f"/desk/work/{org.care}").text
    answer = client.post(f"/desk/work/{org.care}/bulk", data={
        "csrf": csrf_of(work), "action": "status", "status": "in_progress",
        "items": [f"task:{task_id}", f"case:{case['id']}"]})
    assert answer.status_code == 200  # one done, one refused: the page again, with the refusal by item
    assert f'data-error-for="case:{case["id"]}"' in answer.text
    with services.engine.connect() as conn:
        assert conn.execute(select(tasks.c.status).where(tasks.c.id == task_id)).scalar_one() == "in_progress"
    assert the_case(services)["status"] == "new"


def test_the_conversation_panel_lists_only_the_cases_the_user_may_see(client, services, org):
    sign_in(client, "agent_care")
    open_case(client, services, org, title="Visibile")
    case = the_case(services)
    page = client.get(f"/desk/cases/{case['id']}").text
    client.post(f"/desk/cases/{case['id']}/escalate", data={"csrf": csrf_of(page), "to_department_id": org.sales,
                                                           "reason": "Vendite"})
    panel = client.get(f"/desk/conversations/{org.care_conversation}/cases").text
    assert "Visibile" not in panel and 'data-loaded="1"' in panel  # the conversation is theirs, the case no more
    sign_in(client, "admin")
    assert "Visibile" in client.get(f"/desk/conversations/{org.care_conversation}/cases").text


def test_the_last_n_link_ticks_the_newest_messages(client, services, org):
    sign_in(client, "agent_care")
    ids = message_ids(services, org.care_conversation)
    form = client.get(f"/desk/conversations/{org.care_conversation}/cases/new?last=1").text
    assert f'value="{ids[-1]}" checked' in form
    assert f'href="/desk/conversations/{org.care_conversation}/cases/new?last=3"' in form


def test_the_case_page_tells_the_whole_story_top_to_bottom(client, services, org):
    sign_in(client, "agent_care")
    open_case(client, services, org)
    case = the_case(services)
    csrf = csrf_of(client.get(f"/desk/cases/{case['id']}").text)
    client.post(f"/desk/cases/{case['id']}/tasks", data={"csrf": csrf, "title": "Controllo", "department_id": org.care})
    [task_id] = _task_ids(services)
    client.post(f"/desk/cases/{case['id']}/tasks/{task_id}/escalate",
                data={"csrf": csrf, "to_department_id": org.sales, "reason": "Serve il commerciale"})
    client.post(f"/desk/cases/{case['id']}/status", data={"csrf": csrf, "to": "in_progress"})
    page = client.get(f"/desk/cases/{case['id']}").text
    story = page[page.index('id="case-story"'):page.index("</ol>", page.index('id="case-story"'))]
    kinds = re.findall(r'data-kind="([a-z_]+)"', story)
    # the customer's message first (it came before the case), then the case's own steps in order
    assert kinds[0] == "message_in" and "assistenza" in story
    assert kinds.index("case_created") < kinds.index("task_created") < kinds.index("task_escalated") \
        < kinds.index("case_status_changed")
    assert "Care → Sales" in story and "agent_care" in story
    assert client.get(f"/desk/cases/{case['id']}?story_before=garbage").status_code == 200


def test_an_agent_cannot_give_a_case_to_someone_else_and_nothing_is_saved(client, services, org):
    sign_in(client, "agent_care")
    open_case(client, services, org)
    case = the_case(services)
    page = client.get(f"/desk/cases/{case['id']}").text
    answer = client.post(f"/desk/cases/{case['id']}/details", data={
        "csrf": csrf_of(page), "title": "Cambiato", "priority": "high", "department_id": org.care,
        "owner_user_id": org.supervisor, "due_at": "", "tags": "", "fields.severity": "high"})
    assert answer.status_code == 403 and 'data-error-for="owner_user_id"' in answer.text
    after = the_case(services)
    assert after["title"] == "Reso non arrivato" and after["owner_user_id"] == org.agent_care


def test_case_events_are_heard_live_only_by_who_may_see_the_case(client, services, org, recorder):
    from centralino.domain.access import Principal, Role
    from centralino.web.desk.case_live import case_items, is_case_event

    sign_in(client, "agent_care")
    open_case(client, services, org)
    case = the_case(services)
    page = client.get(f"/desk/cases/{case['id']}").text
    client.post(f"/desk/cases/{case['id']}/tasks", data={"csrf": csrf_of(page), "title": "Uno",
                                                         "department_id": org.care})
    [task_id] = _task_ids(services)
    client.post(f"/desk/cases/{case['id']}/tasks/{task_id}/escalate",
                data={"csrf": csrf_of(page), "to_department_id": org.sales, "reason": "Vendite"})
    events = [e for e in recorder.events if is_case_event(e.type)]
    assert {"case.created", "task.created", "task.escalated"} <= {e.type for e in events}
    with services.engine.connect() as conn:
        items = case_items(conn, events)
    escalated = next((item, audience) for item, audience in items if item["type"] == "task.escalated")
    assert escalated[0] == {"type": "task.escalated", "case_id": case["id"], "task_id": task_id}
    care_agent = Principal(role=Role.AGENT, user_id=org.agent_care, department_ids=frozenset({org.care}))
    sales_agent = Principal(role=Role.AGENT, user_id=org.agent_sales, department_ids=frozenset({org.sales}))
    stranger = Principal(role=Role.AGENT, user_id=9999, department_ids=frozenset({9999}))
    assert escalated[1].admits(care_agent) and escalated[1].admits(sales_agent)
    assert not escalated[1].admits(stranger)


def test_the_live_stream_forwards_case_events_to_whom_may_see_the_case(org, services):
    """live.py hands case and task events to case_live.py: the care agent hears the new case of their
    department; the sales agent hears only their own conversation's note, added after it."""
    import asyncio

    from centralino.domain.access import Principal, Role
    from centralino.web.desk.live import DeskEventHub

    admin = Principal(Role.ADMIN, org.admin)

    async def scenario() -> tuple[list[dict], list[dict], int]:
        hub = DeskEventHub(services.engine)
        hub.start(services.bus)
        care = hub.connect(Principal(Role.AGENT, org.agent_care, frozenset({org.care})))
        sales = hub.connect(Principal(Role.AGENT, org.agent_sales, frozenset({org.sales})))
        created = await asyncio.to_thread(
            services.cases.cases.do_create_case, admin, case_type="complaint", title="Solo assistenza",
            fields={"description": "Pacco rotto"}, department_id=org.care, owner_user_id=None)
        await asyncio.to_thread(services.desk.do_add_note, admin, org.sales_conversation, "after the case")
        got_care = await care.next_items(5)
        got_sales = await sales.next_items(5)
        await hub.stop()
        return got_care, got_sales, int(created["id"])

    got_care, got_sales, case_id = asyncio.run(scenario())
    assert {"type": "case.created", "case_id": case_id} in got_care
    assert [e["type"] for e in got_sales] == ["message.note_added"]


def test_work_view_pages_follow_the_due_order_without_gaps(client, services, org, monkeypatch):
    from centralino.web.desk import work_pages
    sign_in(client, "agent_care")
    for title in ("Primo", "Secondo", "Terzo"):
        open_case(client, services, org, title=title)
    monkeypatch.setattr(work_pages, "PAGE", 2)
    seen: list[str] = []
    url: str | None = f"/desk/work/{org.care}"
    while url:
        page = client.get(url).text
        seen += re.findall(r'value="(case:\d+)"', page)
        found = re.search(r'class="more" href="([^"]+)"', page)
        url = found.group(1).replace("&amp;", "&") if found else None
        assert len(seen) <= 3
    assert sorted(seen) == sorted(f"case:{i}" for i in _case_ids(services))


def test_the_case_pages_keep_the_desks_browser_rules(client, services, org):
    """No inline script or handler (the Content-Security-Policy forbids them), the security headers, and
    every page's script served."""
    sign_in(client, "agent_care")
    open_case(client, services, org)
    case = the_case(services)
    for path in (f"/desk/cases/{case['id']}", "/desk/cases", f"/desk/work/{org.care}",
                 f"/desk/conversations/{org.care_conversation}/cases/new",
                 f"/desk/conversations/{org.care_conversation}/cases"):
        answer = client.get(path)
        assert "script-src 'self'" in answer.headers["content-security-policy"], path
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", answer.text), path
        assert not re.search(r"\son[a-z]+=", answer.text), path
        assert not re.search(r"\sstyle=", answer.text), path
        for src in re.findall(r'src="(/desk/static/[^"]+)"', answer.text):
            assert client.get(src).status_code == 200, src

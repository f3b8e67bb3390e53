"""The consent check on every send path, the bulk decision, and recording through the service."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, select

from centralino.app.consent import ConsentRefused
from centralino.demo_access import SETUP
from centralino.domain.access import Principal, Role
from centralino.domain.consent import Action, Purpose, Source
from centralino.domain.outbound import TemplateMessage, Text
from centralino.errors import InvalidInput, NotFound
from centralino.storage.tables import contacts, conversations, messages, outbox
from centralino.storage.tables_consent import consent_records
from tests.access_helpers import PASSWORD, cheap_hashing
from tests.factories import whatsapp_channel
from tests.helpers import count, rows
from tests.outbound_helpers import GIULIA, customer_wrote

ORIGINS = ["agent", "api", "bot", "notification", "campaign:7"]  # agent: a real agent's id is added
CATEGORIES = ["marketing", "utility", "authentication"]
ADMIN = Principal(Role.ADMIN, None, via="integration")


@pytest.fixture
def settings(settings):
    return cheap_hashing(settings)


def origin_of(services, origin: str) -> str:
    """`agent` as a real agent's origin (listeners of message.queued look the agent up)."""
    if origin != "agent":
        return origin
    user = services.admin.do_create_user(SETUP, email="agent.consent@example.com", display_name="Agent",
                                         role=Role.AGENT, password=PASSWORD, department_ids=[])
    return f"agent:{user['id']}"


def template(category: str) -> TemplateMessage:
    return TemplateMessage(name=f"{category}_hello", language="it", category=category,
                           components=({"type": "body", "parameters": [{"type": "text", "text": "Giulia"}]},),
                           preview="Ciao Giulia")


def contact_of(services, conversation_id: int) -> int:
    with services.engine.connect() as conn:
        return int(conn.execute(select(conversations.c.contact_id).where(conversations.c.id == conversation_id))
                   .scalar_one())


def record(services, contact_id: int, purpose: Purpose, action: Action, *, minutes_ago: float = 10,
           source: Source = Source.API, **evidence: object) -> None:
    from centralino.app.unit_of_work import unit_of_work

    assert services.consent is not None
    with unit_of_work(services.engine, services.bus) as uow:
        services.consent.record_in(uow, contact_id=contact_id, purpose=purpose, action=action, source=source,
                                   occurred_at=datetime.now(UTC) - timedelta(minutes=minutes_ago), actor="test",
                                   evidence=dict(evidence))


def outbound_count(services) -> tuple[int, int]:
    return count(services, messages, messages.c.direction == "out"), count(services, outbox)


@pytest.mark.parametrize("origin", ORIGINS)
@pytest.mark.parametrize("category", CATEGORIES)
def test_an_opt_out_refuses_the_template_of_its_purpose_on_every_path(services, origin, category):
    origin = origin_of(services, origin)
    whatsapp_channel(services)
    conversation_id = customer_wrote(services)
    contact_id = contact_of(services, conversation_id)
    record(services, contact_id, Purpose(category), Action.OPT_IN, minutes_ago=60)
    record(services, contact_id, Purpose(category), Action.OPT_OUT, source=Source.KEYWORD, keyword="STOP")
    with pytest.raises(ConsentRefused) as refused:
        services.outbound.do_send(conversation_id, template(category), origin=origin, idempotency_key="k1")
    assert (refused.value.code, refused.value.status) == ("consent.refused", 409)
    assert refused.value.message.startswith(f"{category} message refused: the customer opted out of {category} on ")
    assert refused.value.message.endswith("by keyword STOP")
    assert outbound_count(services) == (0, 0)
    # inside the window, a reply is still a reply
    services.outbound.do_send(conversation_id, Text("Certo, ecco le informazioni"), origin=origin)
    assert outbound_count(services) == (1, 1)


@pytest.mark.parametrize("origin", ORIGINS)
def test_marketing_needs_an_opt_in_and_other_purposes_do_not(services, origin):
    origin = origin_of(services, origin)
    whatsapp_channel(services)
    conversation_id = customer_wrote(services)
    with pytest.raises(ConsentRefused, match="marketing messages need the customer's opt-in and none is recorded"):
        services.outbound.do_send(conversation_id, template("marketing"), origin=origin)
    services.outbound.do_send(conversation_id, template("utility"), origin=origin)
    services.outbound.do_send(conversation_id, template("authentication"), origin=origin)
    record(services, contact_of(services, conversation_id), Purpose.MARKETING, Action.OPT_IN)
    services.outbound.do_send(conversation_id, template("marketing"), origin=origin)
    assert [r["type"] for r in rows(services, messages, messages.c.direction == "out")] == ["template"] * 3


@pytest.mark.parametrize("category", CATEGORIES)
def test_an_opt_out_of_everything_refuses_every_template(services, category):
    whatsapp_channel(services)
    conversation_id = customer_wrote(services)
    contact_id = contact_of(services, conversation_id)
    record(services, contact_id, Purpose.MARKETING, Action.OPT_IN, minutes_ago=60)
    record(services, contact_id, Purpose.ALL, Action.OPT_OUT)
    with pytest.raises(ConsentRefused, match="opted out of all messages"):
        services.outbound.do_send(conversation_id, template(category), origin="api")
    services.outbound.do_send(conversation_id, Text("ok"), origin="api")


def test_an_opt_out_on_another_channel_does_not_refuse_this_one(services):
    channel_id = whatsapp_channel(services)
    conversation_id = customer_wrote(services)
    contact_id = contact_of(services, conversation_id)
    other = whatsapp_channel(services, pnid="999", waba="888", name="Other")
    from centralino.app.unit_of_work import unit_of_work

    with unit_of_work(services.engine, services.bus) as uow:
        services.consent.record_in(uow, contact_id=contact_id, purpose=Purpose.UTILITY, action=Action.OPT_OUT,
                                   source=Source.API, occurred_at=datetime.now(UTC), actor="t", channel_id=other)
    services.outbound.do_send(conversation_id, template("utility"))
    with unit_of_work(services.engine, services.bus) as uow:
        services.consent.record_in(uow, contact_id=contact_id, purpose=Purpose.UTILITY, action=Action.OPT_OUT,
                                   source=Source.API, occurred_at=datetime.now(UTC), actor="t", channel_id=channel_id)
    with pytest.raises(ConsentRefused):
        services.outbound.do_send(conversation_id, template("utility"))


def test_states_for_many_contacts_in_one_query_per_chunk(services):
    whatsapp_channel(services)
    conversation_id = customer_wrote(services)
    giulia = contact_of(services, conversation_id)
    now = datetime.now(UTC)
    with services.engine.begin() as conn:
        ids = [int(i) for i in conn.execute(contacts.insert().returning(contacts.c.id),
                                            [{"created_at": now, "updated_at": now}] * 2500).scalars()]
    record(services, ids[0], Purpose.MARKETING, Action.OPT_IN)
    record(services, ids[1], Purpose.MARKETING, Action.OPT_IN, minutes_ago=20)
    record(services, ids[1], Purpose.MARKETING, Action.OPT_OUT)
    record(services, ids[2], Purpose.ALL, Action.OPT_OUT)
    record(services, ids[3], Purpose.UTILITY, Action.OPT_IN)  # not about marketing
    statements: list[str] = []

    def count_statement(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(services.engine, "before_cursor_execute", count_statement)
    try:
        with services.engine.connect() as conn:
            decisions = services.consent.states_for(conn, [*ids, giulia], None, Purpose.MARKETING)
    finally:
        event.remove(services.engine, "before_cursor_execute", count_statement)
    assert len(statements) == 2  # 2,501 contacts: two chunks of at most 2,000
    assert len(decisions) == 2501
    assert decisions[ids[0]].allowed
    assert not decisions[ids[1]].allowed and "opted out of marketing" in decisions[ids[1]].reason
    assert not decisions[ids[2]].allowed and "all messages" in decisions[ids[2]].reason
    assert not decisions[ids[3]].allowed and decisions[ids[3]].record is None
    assert not decisions[giulia].allowed
    with services.engine.connect() as conn:
        utility = services.consent.states_for(conn, ids[:3], None, Purpose.UTILITY)
    assert [d.allowed for d in utility.values()] == [True, True, False]


def test_do_record_checks_before_writing(services, recorder):
    whatsapp_channel(services)
    conversation_id = customer_wrote(services)
    contact_id = contact_of(services, conversation_id)
    agent = Principal(Role.AGENT, 99, via="session")  # in no department: sees nothing
    with pytest.raises(InvalidInput) as no_note:
        services.consent.do_record(agent, contact_id, purpose=Purpose.MARKETING, action=Action.OPT_IN)
    assert no_note.value.code == "consent.note_required"
    with pytest.raises(NotFound):
        services.consent.do_record(agent, contact_id, purpose=Purpose.MARKETING, action=Action.OPT_IN, note="asked")
    with pytest.raises(InvalidInput) as system:
        services.consent.do_record(ADMIN, contact_id, purpose=Purpose.MARKETING, action=Action.OPT_OUT,
                                   source=Source.KEYWORD)
    assert system.value.field == "source"
    with pytest.raises(InvalidInput) as future:
        services.consent.do_record(ADMIN, contact_id, purpose=Purpose.MARKETING, action=Action.OPT_OUT,
                                   occurred_at=datetime.now(UTC) + timedelta(days=1))
    assert future.value.code == "consent.future"
    with pytest.raises(InvalidInput):
        services.consent.do_record(ADMIN, contact_id, purpose=Purpose.MARKETING, action=Action.OPT_OUT,
                                   channel_id=12345)
    assert count(services, consent_records) == 0
    recorder.events.clear()
    first = services.consent.do_record(ADMIN, contact_id, purpose=Purpose.MARKETING, action=Action.OPT_IN,
                                       evidence={"form": "newsletter", "wording": "Sì, voglio le offerte"},
                                       dedupe_key="form-1")
    again = services.consent.do_record(ADMIN, contact_id, purpose=Purpose.MARKETING, action=Action.OPT_IN,
                                       evidence={"form": "newsletter"}, dedupe_key="form-1")
    assert first.created and not again.created
    [row] = rows(services, consent_records)
    assert (row["source"], row["actor"], row["evidence"]["form"]) == ("api", "integration", "newsletter")
    assert recorder.types() == ["consent.recorded"]
    assert recorder.events[0].payload["action"] == "opt_in"


def test_records_follow_a_merged_contact(services):
    from centralino.app.unit_of_work import unit_of_work
    from centralino.storage import contacts as contact_repo

    whatsapp_channel(services)
    conversation_id = customer_wrote(services, GIULIA)
    giulia = contact_of(services, conversation_id)
    now = datetime.now(UTC)
    with services.engine.begin() as conn:
        other = int(conn.execute(contacts.insert().values(created_at=now, updated_at=now)
                                 .returning(contacts.c.id)).scalar_one())
    record(services, other, Purpose.MARKETING, Action.OPT_OUT)
    with unit_of_work(services.engine, services.bus) as uow:
        contact_repo.merge(uow.conn, keep=giulia, drop=other, now=now)
        uow.emit("contact.merged", contact_id=giulia, merged_contact_id=other)
    with services.engine.connect() as conn:
        state = services.consent.state(conn, giulia)
    assert state[Purpose.MARKETING].action is Action.OPT_OUT
    assert state[Purpose.MARKETING].evidence["merged_from_contact_id"] == other
    assert count(services, consent_records) == 2  # the dropped contact's own record stays as it was


def test_the_ledger_has_no_update_or_delete_path():
    """Append-only: no module of the ledger can build an UPDATE or DELETE, and no route changes or removes."""
    import ast

    root = Path(__file__).resolve().parents[2] / "centralino"
    checked = 0
    for name in ("storage/consent.py", "app/consent.py", "app/consent_arrivals.py", "app/consent_io.py",
                 "web/consent.py", "web/desk/consent.py"):
        path = root / name
        if not path.exists():
            continue
        checked += 1
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("sqlalchemy"):
                assert not {a.name for a in node.names} & {"update", "delete"}, name
            if isinstance(node, ast.Attribute):
                assert node.attr not in {"update", "delete", "put", "patch"} or not (
                    isinstance(node.value, ast.Name) and node.value.id in {"consent_records", "router", "sa"}), name
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert not node.value.upper().lstrip().startswith(("UPDATE ", "DELETE ")), name
    assert checked >= 3


def test_a_record_a_little_ahead_of_our_clock_counts_one_far_ahead_does_not_yet(services):
    whatsapp_channel(services)
    conversation_id = customer_wrote(services)
    contact_id = contact_of(services, conversation_id)
    record(services, contact_id, Purpose.UTILITY, Action.OPT_OUT, minutes_ago=-1)  # the customer's clock is fast
    with pytest.raises(ConsentRefused):
        services.outbound.do_send(conversation_id, template("utility"))
    record(services, contact_id, Purpose.AUTHENTICATION, Action.OPT_OUT, minutes_ago=-24 * 60)
    services.outbound.do_send(conversation_id, template("authentication"))

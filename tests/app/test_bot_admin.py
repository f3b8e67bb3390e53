"""The bot's administration: intents (checked, errors naming the field), examples (split by a hash of the text),
the intents file import (all or nothing) and export, the per-intent report, flows and services (secret sealed,
never shown). Supervisors and administrators only."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy import func, select

from centralino.domain.bot_config import eval_split
from centralino.errors import Conflict, Forbidden, InvalidInput
from centralino.storage import bot_admin as repo
from centralino.storage.tables_bot import bot_examples, bot_flows, bot_intents, bot_services
from tests.bot_admin_helpers import ADMIN, AGENT, INTENTS_YAML, SUPERVISOR

ORDER_FLOW = (Path(__file__).parents[2] / "centralino" / "bot" / "demo" / "order_status.yaml").read_text()


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"bot_encoder": "tfidf"})


@pytest.fixture
def admin(services):
    return services.bot_admin.intents


def _count(services, table):
    with services.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_an_intent_is_created_checked_changed_and_deleted(admin, services, recorder):
    created = admin.do_save_intent(SUPERVISOR, {"name": "order_status", "automation": "auto", "threshold": 0.7,
                                                "answers": {"it": "Controllo subito", "en": "Checking", "de": ""}})
    assert (created["automation"], created["threshold"], created["answers"]) == (
        "auto", 0.7, {"it": "Controllo subito", "en": "Checking"})
    for body, field in (({"name": "Order Status"}, "name"), ({"name": "x", "automation": "always"}, "automation"),
                        ({"name": "x", "threshold": 1.5}, "threshold"), ({"name": "x", "answers": ["hi"]}, "answers"),
                        ({"name": "x", "flow": "missing"}, "flow"), ({"name": "x", "colour": "red"}, "colour"),
                        ({"description": "no name"}, "name")):
        with pytest.raises(InvalidInput) as err:
            admin.do_save_intent(SUPERVISOR, body)
        assert err.value.field == field
    with pytest.raises(Conflict) as taken:
        admin.do_save_intent(SUPERVISOR, {"name": "order_status"})
    assert taken.value.field == "name"
    assert _count(services, bot_intents) == 1
    changed = admin.do_save_intent(ADMIN, {"automation": "human", "enabled": False}, created["id"])
    assert (changed["automation"], changed["enabled"], changed["threshold"]) == ("human", False, 0.7)
    admin.do_delete_intent(SUPERVISOR, created["id"])
    assert _count(services, bot_intents) == 0
    assert "bot.config_changed" in recorder.types()


def test_agents_may_not_manage_the_bot(admin, services):
    for call in (lambda: admin.do_save_intent(AGENT, {"name": "x"}), lambda: admin.export(AGENT),
                 lambda: admin.do_import(AGENT, INTENTS_YAML), lambda: admin.report(AGENT),
                 lambda: services.bot_admin.flows.flows(AGENT), lambda: services.bot_admin.flows.services(AGENT),
                 lambda: services.bot_admin.learning.do_train_now(AGENT)):
        with pytest.raises(Forbidden):
            call()
    assert admin.intents(AGENT) == []  # they pick intents when labelling


def test_examples_are_split_by_a_hash_of_their_text(admin, services):
    intent = admin.do_save_intent(SUPERVISOR, {"name": "greeting"})["id"]
    example = admin.do_add_example(SUPERVISOR, intent, "  Buongiorno  ", "it")
    assert (example["text"], example["language"], example["source"]) == ("Buongiorno", "it", "ui")
    assert example["split"] == eval_split("buongiorno") == eval_split("BUONGIORNO ")
    with pytest.raises(Conflict):
        admin.do_add_example(SUPERVISOR, intent, "buongiorno")
    other = admin.do_save_intent(SUPERVISOR, {"name": "other"})["id"]
    with pytest.raises(Conflict) as elsewhere:
        admin.do_add_example(SUPERVISOR, other, "BUONGIORNO")
    assert "greeting" in elsewhere.value.message
    for text, language, field in (("", None, "text"), ("x" * 1001, None, "text"), ("ok", "italiano", "language")):
        with pytest.raises(InvalidInput) as err:
            admin.do_add_example(SUPERVISOR, intent, text, language)
        assert err.value.field == field
    admin.do_remove_example(SUPERVISOR, example["id"])
    assert _count(services, bot_examples) == 0
    held_back = sum(eval_split(f"frase di prova numero {n}") == "eval" for n in range(2000))
    assert 300 < held_back < 500  # ~20 %


def test_examples_page_newest_first(admin):
    intent = admin.do_save_intent(SUPERVISOR, {"name": "greeting"})["id"]
    for text in ("ciao", "salve", "buongiorno"):
        admin.do_add_example(SUPERVISOR, intent, text)
    first, cursor = admin.examples(SUPERVISOR, intent, limit=2)
    rest, end = admin.examples(SUPERVISOR, intent, limit=2, cursor=cursor)
    assert [e["text"] for e in first + rest] == ["buongiorno", "salve", "ciao"] and end is None


def test_import_creates_and_updates_by_name_and_skips_known_examples(admin, services):
    counts = admin.do_import(SUPERVISOR, INTENTS_YAML)
    assert counts["intents_created"] == 4 and counts["examples_added"] == 64 and counts["examples_skipped"] == 0
    with services.engine.connect() as conn:
        splits = dict(conn.execute(select(bot_examples.c.split, func.count()).group_by(bot_examples.c.split)).all())
        sources = set(conn.execute(select(bot_examples.c.source).distinct()).scalars())
    assert splits["eval"] > 5 and splits["train"] > 40 and sources == {"import"}
    again = admin.do_import(SUPERVISOR, '{"intents": [{"name": "refund", "automation": "human", '
                                        '"examples": ["voglio un rimborso", "rimborso subito"]}]}')
    assert again == {"intents_created": 0, "intents_updated": 1, "examples_added": 1, "examples_skipped": 1}
    refund = next(i for i in admin.intents(SUPERVISOR) if i["name"] == "refund")
    assert (refund["automation"], refund["threshold"], refund["examples"]) == ("human", 0.5, 17)


@pytest.mark.parametrize(("document", "field"), [
    ("intents: [{name: a, examples: [ciao]}, {name: b, examples: [salve, 42]}]", "intents[1].examples[1]"),
    ("intents: [{name: a, examples: [ciao]}, {name: b, examples: ['']}]", "intents[1].examples[0]"),
    ("intents: [{name: a, threshold: 3}]", "intents[0].threshold"),
    ("intents: [{name: a, automation: maybe}]", "intents[0].automation"),
    ("intents: [{name: a}, {name: Bad Name}]", "intents[1].name"),
    ("intents: [{name: a, flow: nowhere}]", "intents[0].flow"),
    ("intents: [{name: a, examples: [ciao]}, {name: b, examples: [ciao]}]", "intents[1].examples[0]"),
    ("intents: [{name: a, examples: [{text: ciao, language: 7}]}]", "intents[0].examples[0].language"),
    ("intents: {name: a}", "intents"),
    ("intents: [a: [", "file"),
])
def test_import_is_all_or_nothing_and_names_the_wrong_field(admin, services, document, field):
    admin.do_import(SUPERVISOR, "intents: [{name: existing, automation: human, examples: [prima]}]")
    with pytest.raises(InvalidInput) as err:
        admin.do_import(SUPERVISOR, document)
    assert err.value.field == field
    assert [(i["name"], i["automation"], i["examples"]) for i in admin.intents(SUPERVISOR)] == [
        ("existing", "human", 1)]


def test_export_reads_back_as_the_same_intents(admin, services):
    admin.do_import(SUPERVISOR, INTENTS_YAML)
    intent = next(i["id"] for i in admin.intents(SUPERVISOR) if i["name"] == "greeting")
    admin.do_add_example(SUPERVISOR, intent, "good afternoon", "en")
    exported = yaml.safe_load(admin.export(SUPERVISOR, "yaml"))
    assert exported["language"] == "it"
    greeting = next(i for i in exported["intents"] if i["name"] == "greeting")
    assert {"text": "good afternoon", "language": "en"} in greeting["examples"] and "ciao" in greeting["examples"]
    assert (greeting["automation"], greeting["threshold"], greeting["answers"]) == (
        "auto", 0.5, {"it": "Risposta", "en": "Answer"})
    as_json = admin.export(SUPERVISOR, "json")
    assert yaml.safe_load(as_json) == exported
    assert admin.do_import(SUPERVISOR, as_json)["examples_added"] == 0
    with pytest.raises(InvalidInput):
        admin.export(SUPERVISOR, "xml")


def test_report_gives_precision_coverage_and_thresholds_per_intent(admin, services):
    admin.do_import(SUPERVISOR, INTENTS_YAML)
    empty = admin.report(SUPERVISOR)
    assert empty["version"] is None and empty["intents"]["refund"]["precision"] is None
    services.bot_admin.models.do_train("user:1")
    report = admin.report(SUPERVISOR)
    assert report["version"] == 1 and report["eval_examples"] > 0
    held_back = {name: 0 for name in report["intents"]}
    with services.engine.connect() as conn:
        for name, count in conn.execute(select(bot_intents.c.name, func.count()).join(
                bot_examples, bot_examples.c.intent_id == bot_intents.c.id)
                .where(bot_examples.c.split == "eval").group_by(bot_intents.c.name)):
            held_back[name] = count
    for name, figures in report["intents"].items():
        assert figures["support"] == held_back[name]
        assert figures["threshold"] == 0.5
        if figures["precision"] is not None:
            assert 0 <= figures["precision"] <= 1 and 0 <= figures["coverage"] <= 1
    # the business lowers a threshold: at least as many requests are covered
    refund = next(i["id"] for i in admin.intents(SUPERVISOR) if i["name"] == "refund")
    admin.do_save_intent(SUPERVISOR, {"threshold": 0.0}, refund)
    lower = admin.report(SUPERVISOR)["intents"]["refund"]
    admin.do_save_intent(SUPERVISOR, {"threshold": 1.0}, refund)
    higher = admin.report(SUPERVISOR)["intents"]["refund"]
    assert lower["threshold"] == 0.0 and higher["threshold"] == 1.0
    assert (lower["coverage"] or 0) >= (higher["coverage"] or 0)
    # against the stored evaluation, counted here: at threshold 0 every prediction of refund is an answer
    rows = services.bot_admin.models.evaluation()["metrics"]["eval"]
    answered = [gold for gold, predicted, _ in rows if predicted == "refund"]
    assert lower["answered"] == len(answered) > 0
    assert lower["precision"] == round(answered.count("refund") / len(answered), 4)
    assert lower["coverage"] == round(answered.count("refund") / lower["support"], 4)
    if not any(predicted == "refund" and confidence >= 1.0 for _, predicted, confidence in rows):
        assert higher["answered"] == 0 and higher["precision"] is None and higher["coverage"] == 0


def test_flows_are_checked_stored_with_their_source_versioned_and_disabled(services):
    flows = services.bot_admin.flows
    saved = flows.do_save_flow(SUPERVISOR, ORDER_FLOW)
    assert saved["name"] == "order_status" and saved["source"] == ORDER_FLOW and saved["version"] == 1
    assert saved["definition"]["steps"][0]["id"] == "ask_number"
    broken = ORDER_FLOW.replace("kind: call", "kind: telephone", 1)
    with pytest.raises(InvalidInput) as err:
        flows.do_save_flow(SUPERVISOR, broken, flow_id=saved["id"])
    assert err.value.field.startswith("steps[1]")
    with pytest.raises(InvalidInput) as bad_yaml:
        flows.do_save_flow(SUPERVISOR, "name: x\nsteps: [\n")
    assert bad_yaml.value.field == "source"
    with pytest.raises(Conflict):
        flows.do_save_flow(SUPERVISOR, ORDER_FLOW)
    again = flows.do_save_flow(SUPERVISOR, ORDER_FLOW.replace("max_attempts: 3", "max_attempts: 2"),
                               flow_id=saved["id"])
    assert again["version"] == 2 and "max_attempts: 2" in again["source"]
    assert flows.do_set_flow_enabled(SUPERVISOR, saved["id"], False)["enabled"] is False
    services.bot_admin.intents.do_save_intent(SUPERVISOR, {"name": "order_status", "flow": "order_status"})
    assert flows.flows(SUPERVISOR)[0]["intents"] == 1
    flows.do_delete_flow(SUPERVISOR, saved["id"])
    assert _count(services, bot_flows) == 0
    assert services.bot_admin.intents.intents(SUPERVISOR)[0]["flow"] is None


def test_services_keep_their_secret_sealed_and_never_show_it(services):
    flows = services.bot_admin.flows
    body = {"name": "orders", "url": "https://shop.example/orders/{{ number }}", "auth_header": "Authorization",
            "auth_secret": "Bearer s3cr3t-value", "response_mapping": {"status": "order.status"}, "timeout_s": 3}
    created = flows.do_save_service(SUPERVISOR, body)
    assert "auth_secret" not in created and created["has_secret"] is True
    assert "s3cr3t" not in repr(flows.services(SUPERVISOR)) + repr(flows.service(SUPERVISOR, created["id"]))
    with services.engine.connect() as conn:
        stored = conn.execute(select(bot_services.c.auth_secret)).scalar_one()
    assert "s3cr3t" not in stored and repo.open_secret(services.box, stored) == "Bearer s3cr3t-value"
    kept = flows.do_save_service(SUPERVISOR, {"timeout_s": 4, "auth_secret": None}, created["id"])
    assert kept["has_secret"] is True and kept["timeout_s"] == 4
    cleared = flows.do_save_service(SUPERVISOR, {"auth_secret": ""}, created["id"])
    assert cleared["has_secret"] is False
    for bad, field in (({"url": "ftp://x"}, "url"), ({"url": "https://{{ host }}/x"}, "url"),
                       ({"method": "TRACE"}, "method"), ({"retries": 9}, "retries"),
                       ({"response_mapping": {"status": ""}}, "response_mapping.status"),
                       ({"auth_header": "Bad Header"}, "auth_header"), ({"password": "x"}, "password")):
        with pytest.raises(InvalidInput) as err:
            flows.do_save_service(SUPERVISOR, bad, created["id"])
        assert err.value.field == field
    with pytest.raises(InvalidInput) as missing:
        flows.do_save_service(SUPERVISOR, {"name": "no_url"})
    assert missing.value.field == "url"


def test_a_test_call_shows_what_the_mapping_extracts(services):
    flows = services.bot_admin.flows
    created = flows.do_save_service(SUPERVISOR, {
        "name": "orders", "url": "https://shop.example/orders/{{ number }}", "auth_header": "X-Api-Key",
        "auth_secret": "k-123", "response_mapping": {"status": "order.status"}, "retries": 0})
    seen = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"order": {"status": "shipped"}})

    with httpx.Client(transport=httpx.MockTransport(answer)) as client:
        result = flows.test_call(SUPERVISOR, created["id"], {"number": "100234"}, client=client)
    assert result["ok"] is True and result["status"] == 200 and result["data"] == {"status": "shipped"}
    assert str(seen[0].url) == "https://shop.example/orders/100234" and seen[0].headers["X-Api-Key"] == "k-123"
    assert "k-123" not in repr(result)
    with pytest.raises(InvalidInput) as err:
        flows.test_call(SUPERVISOR, created["id"], ["not", "a", "mapping"])
    assert err.value.field == "inputs"

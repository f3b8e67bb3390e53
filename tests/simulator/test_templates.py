"""Templates: Graph API management, Meta's review by rules with its webhooks, and template sends."""

from __future__ import annotations

import copy

import pytest

from centralino.channels.whatsapp.parser import parse_delivery
from tests.simulator.harness import WABA, graph_error, message, wait_for

SHIPPING = {
    "name": "shipping_update", "language": "it", "category": "UTILITY",
    "components": [
        {"type": "HEADER", "format": "TEXT", "text": "Ordine {{1}}", "example": {"header_text": ["4711"]}},
        {"type": "BODY", "text": "Ciao {{1}}, il tuo ordine {{2}} arriverà domani tra le 9 e le 13.",
         "example": {"body_text": [["Giulia", "4711"]]}},
        {"type": "FOOTER", "text": "Centralino Spedizioni"},
        {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Va bene"},
                                        {"type": "URL", "text": "Traccia", "url": "https://example.com/t/{{1}}",
                                         "example": ["https://example.com/t/4711"]}]},
    ],
}


def template_updates(sim, field_name: str = "message_template_status_update"):
    return sim.receiver.values(field_name)


def create(sim, body):
    return sim.graph("POST", f"/{WABA}/message_templates", json=body)


def wait_update(sim, name: str, field_name: str = "message_template_status_update", count: int = 1):
    found = wait_for(lambda: len([v for v in template_updates(sim, field_name)
                                  if v.get("message_template_name") == name]) >= count and
                     [v for v in template_updates(sim, field_name) if v.get("message_template_name") == name],
                     what=f"{field_name} for {name}")
    return found[-1]


def test_create_then_review_approves_with_the_status_webhook(sim):
    response = create(sim, SHIPPING)
    assert response.status_code == 200, response.text
    created = response.json()
    assert created["status"] == "PENDING" and created["category"] == "UTILITY" and created["id"].isdigit()
    update = wait_update(sim, "shipping_update")
    assert update == {"event": "APPROVED", "message_template_id": int(created["id"]),
                      "message_template_name": "shipping_update", "message_template_language": "it",
                      "reason": "NONE", "message_template_category": "UTILITY"}
    payload = next(p for p in sim.receiver.payloads()
                   if p["entry"][0]["changes"][0]["field"] == "message_template_status_update")
    assert payload["entry"][0]["id"] == WABA and isinstance(payload["entry"][0]["time"], int)
    [event] = parse_delivery(payload)
    assert event.status.value == "approved" and event.template_id == created["id"]
    one = sim.graph("GET", f"/{created['id']}", params={"fields": "status,name"}).json()
    assert one == {"status": "APPROVED", "name": "shipping_update", "id": created["id"]}


def _with_body(text: str, examples: list[str], category: str = "UTILITY", name: str = "probe") -> dict:
    body = copy.deepcopy(SHIPPING)
    body.update(name=name, category=category)
    body["components"][1] = {"type": "BODY", "text": text, "example": {"body_text": [examples]}}
    return body


REJECTIONS = [
    ("variable at start", _with_body("{{1}}, il tuo ordine è pronto per il ritiro in negozio.", ["Giulia"]),
     "INVALID_FORMAT"),
    ("variable at end", _with_body("Il tuo ordine è pronto per il ritiro in negozio {{1}}.", ["Milano"]),
     "INVALID_FORMAT"),
    ("variables out of order", _with_body("Ciao {{2}}, il tuo ordine {{1}} è pronto per il ritiro.", ["1", "G"]),
     "INVALID_FORMAT"),
    ("too many variables", _with_body("Ciao {{1}} {{2}} {{3}} ok.", ["a", "b", "c"]), "INVALID_FORMAT"),
    ("utility that sells", _with_body("Ciao {{1}}, solo oggi uno sconto del 20% su tutto il negozio!", ["G"]),
     "INCORRECT_CATEGORY"),
    ("authentication that sells", _with_body("Il tuo codice è pronto: usa la nostra promo di benvenuto.", [],
                                             category="AUTHENTICATION"), "PROMOTIONAL"),
    ("abusive", _with_body("Ciao {{1}}, sei un idiota se non paghi entro domani la fattura.", ["G"]),
     "ABUSIVE_CONTENT"),
]


@pytest.mark.parametrize(("name", "body", "reason"), REJECTIONS, ids=[r[0] for r in REJECTIONS])
def test_review_rejects_by_rules_with_the_reason(sim, name, body, reason):
    if not body["components"][1]["example"]["body_text"][0]:
        del body["components"][1]["example"]
    created = create(sim, body)
    assert created.status_code == 200, created.text
    update = wait_update(sim, "probe")
    assert update["event"] == "REJECTED" and update["reason"] == reason
    if reason == "INVALID_FORMAT":
        assert update["rejection_info"]["reason"] == "INVALID_FORMAT" and update["rejection_info"]["recommendation"]
    listed = sim.graph("GET", f"/{WABA}/message_templates", params={"name": "probe", "fields": "status"}).json()
    assert [t["status"] for t in listed["data"]] == ["REJECTED"]


INVALID = [
    ("uppercase name", {"name": "Shipping"}, "name"),
    ("long name", {"name": "x" * 513}, "name"),
    ("unknown category", {"category": "SERVICE"}, "category"),
    ("no body", {"components": [SHIPPING["components"][2]]}, "BODY"),
    ("body too long", {"components": [{"type": "BODY", "text": "x" * 1025}]}, "BODY"),
    ("header too long", {"components": [{"type": "HEADER", "format": "TEXT", "text": "x" * 61},
                                        {"type": "BODY", "text": "Testo"}]}, "HEADER"),
    ("two header variables", {"components": [
        {"type": "HEADER", "format": "TEXT", "text": "{{1}} {{2}}", "example": {"header_text": ["a", "b"]}},
        {"type": "BODY", "text": "Testo"}]}, "HEADER"),
    ("footer variable", {"components": [{"type": "BODY", "text": "Testo"},
                                        {"type": "FOOTER", "text": "Ciao {{1}}"}]}, "FOOTER"),
    ("missing examples", {"components": [{"type": "BODY", "text": "Ciao {{1}}, ecco il tuo ordine."}]}, "example"),
    ("non sequential", {"components": [{"type": "BODY", "text": "Ciao {{1}}, ordine {{3}} pronto.",
                                        "example": {"body_text": [["a", "b"]]}}]}, "sequential"),
    ("malformed variable", {"components": [{"type": "BODY", "text": "Ciao {{ nome }}, ordine pronto.",
                                            "example": {"body_text": [["a"]]}}]}, "variable"),
    ("named with uppercase", {"parameter_format": "named", "components": [
        {"type": "BODY", "text": "Ciao {{First}}, ordine pronto.",
         "example": {"body_text_named_params": [{"param_name": "First", "example": "G"}]}}]}, "variable"),
    ("quick replies not grouped", {"components": [{"type": "BODY", "text": "Testo"}, {"type": "BUTTONS", "buttons": [
        {"type": "QUICK_REPLY", "text": "A"}, {"type": "URL", "text": "B", "url": "https://e.com"},
        {"type": "QUICK_REPLY", "text": "C"}]}]}, "grouped"),
    ("button text too long", {"components": [{"type": "BODY", "text": "Testo"}, {"type": "BUTTONS", "buttons": [
        {"type": "QUICK_REPLY", "text": "x" * 26}]}]}, "25"),
    ("three url buttons", {"components": [{"type": "BODY", "text": "Testo"}, {"type": "BUTTONS", "buttons": [
        {"type": "URL", "text": str(i), "url": "https://e.com"} for i in range(3)]}]}, "URL"),
]


@pytest.mark.parametrize(("name", "change", "mentions"), INVALID, ids=[i[0] for i in INVALID])
def test_creation_is_validated_like_meta(sim, name, change, mentions):
    response = create(sim, {**SHIPPING, **change})
    assert response.status_code == 400
    error = graph_error(response)
    assert error["code"] in (100, 131008, 131009)
    assert mentions in error["error_data"]["details"]


def test_named_parameters_are_created_and_sent_by_name(sim):
    body = {"name": "named_update", "language": "en_US", "category": "UTILITY", "parameter_format": "named",
            "components": [{"type": "BODY", "text": "Hi {{first_name}}, order {{order_id}} ships today.",
                            "example": {"body_text_named_params": [{"param_name": "first_name", "example": "Ann"},
                                                                   {"param_name": "order_id", "example": "1"}]}}]}
    assert create(sim, body).status_code == 200
    wait_update(sim, "named_update")
    params = [{"type": "text", "parameter_name": "order_id", "text": "4711"},
              {"type": "text", "parameter_name": "first_name", "text": "Marco"}]
    sent = sim.send(message(kind="template", name="named_update", language={"code": "en_US"},
                            components=[{"type": "body", "parameters": params}]))
    assert sent.status_code == 200, sent.text
    view = sim.control("GET", f"/messages/{sent.json()['messages'][0]['id']}")
    assert view["text"] == "Hi Marco, order 4711 ships today."
    wrong = sim.send(message(kind="template", name="named_update", language={"code": "en_US"}, components=[
        {"type": "body", "parameters": [{"type": "text", "text": "Marco"}, {"type": "text", "text": "1"}]}]))
    assert graph_error(wrong)["code"] == 132012


def test_duplicate_name_and_language_is_refused_and_other_languages_are_fine(sim):
    assert create(sim, SHIPPING).status_code == 200
    again = create(sim, SHIPPING)
    assert graph_error(again)["code"] == 100 and "already exists" in again.json()["error"]["error_user_title"]
    assert create(sim, {**SHIPPING, "language": "en_US"}).status_code == 200


def test_listing_filters_fields_and_cursor_paging(sim):
    for i in range(5):
        assert create(sim, {**SHIPPING, "name": f"bulk_{i}"}).status_code == 200
    wait_for(lambda: len(template_updates(sim)) >= 5, what="reviews")
    seen, params = [], {"limit": "2", "name": "bulk", "fields": "name,status"}
    while True:
        page = sim.graph("GET", f"/{WABA}/message_templates", params=params).json()
        seen += [t["name"] for t in page["data"]]
        assert all(set(t) == {"name", "status", "id"} for t in page["data"])
        if "next" not in page.get("paging", {}):
            break
        assert page["paging"]["next"].startswith(sim.base)
        params = {**params, "after": page["paging"]["cursors"]["after"]}
    assert seen == [f"bulk_{i}" for i in range(5)]
    approved = sim.graph("GET", f"/{WABA}/message_templates", params={"status": "APPROVED", "limit": "100"}).json()
    assert {"hello_world", "order_update", "bulk_0"} <= {t["name"] for t in approved["data"]}
    assert all(t["status"] == "APPROVED" for t in approved["data"])


def test_delete_by_name_removes_every_language_or_one_by_hsm_id(sim):
    ids = [sim.control("POST", "/templates", {**SHIPPING, "language": lang})["id"] for lang in ("it", "en_US", "de")]
    one = sim.graph("DELETE", f"/{WABA}/message_templates", params={"name": "shipping_update", "hsm_id": ids[0]})
    assert one.json() == {"success": True}
    rest = sim.graph("DELETE", f"/{WABA}/message_templates", params={"name": "shipping_update"})
    assert rest.json() == {"success": True}
    listed = sim.graph("GET", f"/{WABA}/message_templates", params={"name": "shipping_update"}).json()
    assert listed["data"] == []
    assert graph_error(sim.graph("DELETE", f"/{WABA}/message_templates", params={"name": "nope"}))["code"] == 100
    blocked = create(sim, SHIPPING)
    assert graph_error(blocked)["code"] == 100 and "deleted" in blocked.json()["error"]["error_data"]["details"]


def test_unknown_waba_and_token_checks(sim):
    assert graph_error(sim.graph("GET", "/123456/message_templates"))["type"] == "GraphMethodException"
    assert sim.graph("GET", f"/{WABA}/message_templates", token="nope").status_code == 401


def test_template_sends_check_name_status_and_parameter_counts(sim):
    def send(name="order_update", language="it", parameters=None, **extra):
        components = [{"type": "body", "parameters": parameters if parameters is not None else [
            {"type": "text", "text": "Giulia"}, {"type": "text", "text": "4711"}]}]
        return sim.send(message(kind="template", name=name, language={"code": language}, components=components,
                                **extra))

    assert send().status_code == 200
    missing = send(name="does_not_exist")
    assert graph_error(missing)["code"] == 132001 and "does_not_exist" in missing.json()["error"]["error_data"]["details"]
    assert graph_error(send(language="fr"))["code"] == 132001
    wrong_count = send(parameters=[{"type": "text", "text": "Giulia"}])
    assert graph_error(wrong_count)["code"] == 132000 and "body" in wrong_count.json()["error"]["error_data"]["details"]
    header = sim.send(message(kind="template", name="order_update", language={"code": "it"}, components=[
        {"type": "header", "parameters": [{"type": "text", "text": "x"}]},
        {"type": "body", "parameters": [{"type": "text", "text": "G"}, {"type": "text", "text": "1"}]}]))
    assert graph_error(header)["code"] == 132000
    assert graph_error(send(parameters=[{"type": "text", "text": "x" * 1100}, {"type": "text", "text": "1"}]))[
        "code"] == 132005


def test_paused_and_disabled_templates_refuse_sends_and_quality_and_category_updates(sim):
    [order] = [t for t in sim.control("GET", "/templates") if t["name"] == "order_update" and t["language"] == "it"]
    components = [{"type": "body", "parameters": [{"type": "text", "text": "G"}, {"type": "text", "text": "1"}]}]
    send = lambda: sim.send(message(kind="template", name="order_update", language={"code": "it"},  # noqa: E731
                                    components=components))
    sim.control("POST", f"/templates/{order['id']}/quality", {"quality": "RED"})
    quality = wait_update(sim, "order_update", "message_template_quality_update")
    assert quality["new_quality_score"] == "RED" and quality["previous_quality_score"] == "GREEN"
    paused = wait_update(sim, "order_update")
    assert paused["event"] == "PAUSED" and paused["other_info"]["title"] == "FIRST_PAUSE"
    assert graph_error(send())["code"] == 132015
    sim.control("POST", f"/templates/{order['id']}/status", {"status": "APPROVED"})
    assert wait_update(sim, "order_update", count=2)["other_info"]["title"] == "UNPAUSE"
    assert send().status_code == 200
    sim.control("POST", f"/templates/{order['id']}/status", {"status": "DISABLED"})
    disabled = wait_update(sim, "order_update", count=3)
    assert disabled["event"] == "DISABLED" and "disable_date" in disabled["disable_info"]
    assert graph_error(send())["code"] == 132016
    sim.control("POST", f"/templates/{order['id']}/category", {"category": "MARKETING"})
    category = wait_update(sim, "order_update", "template_category_update")
    assert category["previous_category"] == "UTILITY" and category["new_category"] == "MARKETING"
    kinds = {e.kind for p in sim.receiver.payloads() for e in parse_delivery(p) if hasattr(e, "kind")}
    assert {"template_quality", "template_category"} <= kinds


def test_manual_review_when_no_review_delay(simulator):
    sim = simulator(template_review_delay=None)
    created = create(sim, SHIPPING).json()
    assert sim.graph("GET", f"/{created['id']}").json()["status"] == "PENDING"
    pending = sim.send(message(kind="template", name="shipping_update", language={"code": "it"}))
    assert graph_error(pending)["code"] == 132001 and "PENDING" in pending.json()["error"]["error_data"]["details"]
    assert sim.control("POST", f"/templates/{created['id']}/review")["status"] == "APPROVED"
    sim.control("POST", f"/templates/{created['id']}/status", {"status": "REJECTED", "reason": "SCAM"})
    assert wait_update(sim, "shipping_update", count=2)["reason"] == "SCAM"


def test_a_copy_code_button_needs_no_label_like_meta(sim):
    coupon = {"name": "coupon_autunno", "language": "it", "category": "MARKETING", "components": [
        {"type": "BODY", "text": "Ciao {{1}}, ecco il tuo sconto d'autunno sul prossimo ordine.",
         "example": {"body_text": [["Giulia"]]}},
        {"type": "BUTTONS", "buttons": [{"type": "COPY_CODE", "example": "AUTUNNO25"}]}]}
    response = create(sim, coupon)
    assert response.status_code == 200, response.text
    coupon["name"] = "coupon_senza_codice"
    coupon["components"][1]["buttons"] = [{"type": "COPY_CODE"}]
    assert create(sim, coupon).status_code == 400


def test_an_authentication_template_is_stored_with_metas_own_text_and_sends_with_the_code(sim):
    otp = {"name": "codice_accesso", "language": "it", "category": "AUTHENTICATION", "components": [
        {"type": "BODY", "add_security_recommendation": True},
        {"type": "FOOTER", "code_expiration_minutes": 10},
        {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE"}]}]}
    created = create(sim, otp)
    assert created.status_code == 200, created.text
    stored = sim.graph("GET", f"/{created.json()['id']}", params={"fields": "components"}).json()["components"]
    body = next(c for c in stored if c["type"] == "BODY")
    assert body["text"] == "*{{1}}* è il tuo codice di verifica. Per la tua sicurezza, non condividerlo."
    footer = next(c for c in stored if c["type"] == "FOOTER")
    assert footer["text"] == "Questo codice scade tra 10 minuti."
    assert next(c for c in stored if c["type"] == "BUTTONS")["buttons"][0]["text"] == "Copia codice"

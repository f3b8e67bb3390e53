"""The demo flows end to end: the engine, call_service and the demo services (over the app's test client)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from centralino.bot.actions.http import call_service
from centralino.bot.demo import DEMO_CASE_TYPE, demo_flows, demo_services
from centralino.bot.dialog.engine import StepResult, TurnInput, advance, resume, start
from centralino.bot.dialog.flow import Flow, load_flow
from centralino.bot.nlu.entities import extract_entities
from centralino.domain.cases import check_fields, parse_case_type
from centralino.web import demo_services as demo_service_routes


@dataclass(frozen=True)
class Ent:
    kind: str
    value: str


@pytest.fixture(scope="module")
def http() -> Iterator[TestClient]:
    app = FastAPI()
    app.include_router(demo_service_routes.router)
    with TestClient(app) as client:
        yield client


class Dialog:
    """What the runtime does: feed turns, run the services the engine asks for, collect what it says."""

    def __init__(self, name: str, http: TestClient) -> None:
        self.flow: Flow = load_flow(demo_flows()[name])
        self.specs = {spec.name: spec for spec in demo_services("http://testserver")}
        self.http = http
        self.said: list[str] = []
        self.documents: list[tuple[str, bytes]] = []
        self.result: StepResult | None = None

    def _settle(self, result: StepResult) -> StepResult:
        while True:
            for say in result.says:
                self.said.append(say.text)
                if say.document is not None:
                    self.documents.append((say.filename or "", say.document))
            if result.call is None:
                self.result = result
                return result
            answer = call_service(self.specs[result.call.service], result.call.inputs, client=self.http)
            result = resume(self.flow, result.state, answer)  # type: ignore[arg-type]

    def send(self, text: str, **kw: object) -> StepResult:
        turn = TurnInput(text=text, **kw)  # type: ignore[arg-type]
        return self._send(turn)

    def say(self, text: str, language: str = "it") -> StepResult:
        """A turn as the runtime builds it: entities from the NLU's own extractor."""
        return self._send(TurnInput(text=text, language=language,
                                    entities=extract_entities(text, language=language)))

    def _send(self, turn: TurnInput) -> StepResult:
        if self.result is None:
            return self._settle(start(self.flow, turn))
        assert self.result.state is not None and self.result.ending is None
        return self._settle(advance(self.flow, self.result.state, turn))


def test_order_status_in_italian_with_the_number_in_the_first_message(http: TestClient) -> None:
    dialog = Dialog("order_status", http)
    result = dialog.send("ciao, dov'è il mio ordine 100234?", entities=[Ent("order_number", "100234")])
    assert result.ending is not None and result.ending.kind == "answer"
    assert result.ending.text is not None and result.ending.text.startswith("L'ordine 100234 è in viaggio con BRT")


def test_order_status_unknown_number_is_asked_again_in_english(http: TestClient) -> None:
    dialog = Dialog("order_status", http)
    dialog.send("where is my order?", language="en")
    result = dialog.send("it's 424242")
    assert dialog.said[-2:] == ["I can't find order 424242.",
                                "What is your order number? You'll find it in the confirmation email (e.g. 100234)."]
    result = dialog.send("sorry, 100235")
    assert result.ending is not None and result.ending.text is not None
    assert result.ending.text.startswith("Order 100235 was delivered on")


def test_boarding_pass_sends_the_pdf(http: TestClient) -> None:
    dialog = Dialog("boarding_pass", http)
    dialog.send("mi mandi la carta d'imbarco?")
    dialog.send("abc123")
    result = dialog.send("Rossi")
    assert result.ending is not None and result.ending.kind == "answer"
    assert [name for name, _ in dialog.documents] == ["boarding-pass-ABC123.pdf"]
    assert dialog.documents[0][1].startswith(b"%PDF")
    assert "Ecco la carta d'imbarco per la prenotazione ABC123. Buon viaggio!" in dialog.said


def test_boarding_pass_wrong_surname_hands_off(http: TestClient) -> None:
    dialog = Dialog("boarding_pass", http)
    dialog.send("boarding pass please", language="en")
    dialog.send("XYZ789")
    result = dialog.send("Jones")
    assert result.ending is not None and result.ending.kind == "handoff"
    assert result.ending.reason == "booking_not_found" and dialog.documents == []


def test_change_delivery_date_confirmed_and_rescheduled(http: TestClient) -> None:
    wanted = (date.today() + timedelta(days=4)).isoformat()
    dialog = Dialog("change_delivery_date", http)
    dialog.send("voglio cambiare la data di consegna dell'ordine 100236",
                entities=[Ent("order_number", "100236")])
    result = dialog.send("venerdì", entities=[Ent("date", wanted)])
    assert result.says[-1].buttons == (("yes", "Sì"), ("no", "No"))
    result = dialog.send("", reply_id="yes")
    assert result.ending is not None and result.ending.kind == "answer"
    assert result.ending.text == f"Fatto! La consegna dell'ordine 100236 è ora prevista il {wanted}."


def test_change_delivery_date_refused_by_the_service_opens_a_case(http: TestClient) -> None:
    too_late = (date.today() + timedelta(days=90)).isoformat()
    dialog = Dialog("change_delivery_date", http)
    dialog.send("change my delivery date", language="en")
    dialog.send("order 100234")
    dialog.send(f"on {too_late}")
    result = dialog.send("yes")
    assert result.ending is not None and result.ending.kind == "open_case"
    assert result.ending.case is not None and result.ending.case["type"] == "delivery_change"
    assert result.ending.case["title"] == f"Change delivery of order 100234 to {too_late}"
    assert result.ending.case["fields"] == {"order_number": "100234", "requested_date": too_late}


def test_change_delivery_date_of_a_delivered_order_is_answered(http: TestClient) -> None:
    dialog = Dialog("change_delivery_date", http)
    result = dialog.send("cambio data consegna ordine 100235", entities=[Ent("order_number", "100235")])
    assert result.ending is not None and result.ending.kind == "answer"
    assert result.ending.text is not None and "è già stato consegnato" in result.ending.text


def test_the_demo_case_type_accepts_the_case_the_flow_opens(http: TestClient) -> None:
    wanted = (date.today() + timedelta(days=90)).isoformat()
    dialog = Dialog("change_delivery_date", http)
    dialog.send("cambiare data consegna ordine 100236", entities=[Ent("order_number", "100236")])
    dialog.send(wanted)
    result = dialog.send("sì")
    assert result.ending is not None and result.ending.case is not None
    case_type = parse_case_type(DEMO_CASE_TYPE)
    assert case_type.key == result.ending.case["type"]
    assert check_fields(case_type, result.ending.case["fields"], complete=True) == {
        "order_number": "100236", "requested_date": wanted}


def test_with_the_nlu_entities_order_status(http: TestClient) -> None:
    dialog = Dialog("order_status", http)
    result = dialog.say("ciao, dov'è il mio ordine 100237?")
    assert result.ending is not None and result.ending.text is not None
    assert result.ending.text.startswith("L'ordine 100237 è in viaggio con Poste Italiane")
    dialog = Dialog("order_status", http)
    dialog.say("where is my parcel?", "en")
    result = dialog.say("it's 100236", "en")  # a bare number: the flow's regex takes it
    assert result.ending is not None and result.ending.text is not None
    assert result.ending.text.startswith("Order 100236 is being prepared")


def test_with_the_nlu_entities_change_delivery_date(http: TestClient) -> None:
    dialog = Dialog("change_delivery_date", http)
    dialog.say("vorrei spostare la consegna dell'ordine 100236")
    dialog.say("tra 3 giorni")
    wanted = (date.today() + timedelta(days=3)).isoformat()
    assert dialog.said[-1] == f"Sposto la consegna dell'ordine 100236 al {wanted}. Confermi?"
    result = dialog.say("sì grazie")
    assert result.ending is not None
    assert result.ending.text == f"Fatto! La consegna dell'ordine 100236 è ora prevista il {wanted}."


def test_with_the_nlu_entities_boarding_pass(http: TestClient) -> None:
    dialog = Dialog("boarding_pass", http)
    dialog.say("mi mandi la carta d'imbarco della prenotazione abc123?")  # the code prefilled
    assert dialog.said == ["E il cognome del passeggero?"]
    result = dialog.say("Rossi")
    assert result.ending is not None and [name for name, _ in dialog.documents] == ["boarding-pass-ABC123.pdf"]

"""What Meta enforces: the 24-hour window, undeliverable numbers, throughput, pair rate, injected faults."""

from __future__ import annotations

from centralino.simulator.config import PairRate
from tests.simulator.harness import CUSTOMER, PNID, graph_error, message

HELLO = message(kind="template", name="hello_world", language={"code": "en_US"})


def failed_error(sim, message_id: str) -> dict:
    statuses = sim.receiver.wait_statuses(message_id, 1)
    assert [s["status"] for s in statuses] == ["failed"]
    [error] = statuses[0]["errors"]
    assert set(error) == {"code", "title", "message", "error_data", "href"}
    assert error["error_data"]["details"] and error["href"].startswith("https://")
    assert "pricing" not in statuses[0]
    return error


def test_free_form_to_a_customer_who_never_wrote_is_accepted_then_fails_with_131047(sim):
    response = sim.send(message())
    assert response.status_code == 200
    error = failed_error(sim, response.json()["messages"][0]["id"])
    assert error["code"] == 131047 and error["title"] == "Re-engagement message"


def test_window_closes_24_hours_after_the_customers_last_message(sim):
    sim.customer_says()
    inside = sim.send(message()).json()["messages"][0]["id"]
    assert [s["status"] for s in sim.receiver.wait_statuses(inside, 3)] == ["sent", "delivered", "read"]
    sim.clock.advance(24 * 3600 + 1)
    outside = sim.send(message()).json()["messages"][0]["id"]
    assert failed_error(sim, outside)["code"] == 131047
    # A template is allowed outside the window.
    template = sim.send(HELLO).json()["messages"][0]["id"]
    assert [s["status"] for s in sim.receiver.wait_statuses(template, 3)] == ["sent", "delivered", "read"]
    # The customer writes again (with their own, older timestamp: the window counts from it).
    sim.customer_says("eccomi", timestamp=int(sim.clock.now) - 3600)
    again = sim.send(message()).json()["messages"][0]["id"]
    assert [s["status"] for s in sim.receiver.wait_statuses(again, 3)] == ["sent", "delivered", "read"]


def test_undeliverable_numbers_are_accepted_then_fail_with_131026(simulator):
    sim = simulator(unreachable=frozenset({"447700900999"}))
    configured = sim.send(message(to="+447700900999", kind="template", name="hello_world",
                                  language={"code": "en_US"})).json()["messages"][0]["id"]
    assert failed_error(sim, configured)["code"] == 131026
    sim.control("POST", "/customers", {"wa_id": "393330000000", "name": "Offline", "reachable": False})
    created = sim.send(message(to="+393330000000", kind="template", name="hello_world",
                               language={"code": "en_US"})).json()["messages"][0]["id"]
    assert failed_error(sim, created)["code"] == 131026


def test_over_the_numbers_throughput_sends_are_refused_with_130429(simulator):
    sim = simulator(mps=3)
    answers = [sim.send(message(to=f"+3934700000{i:02d}", kind="template", name="hello_world",
                                language={"code": "en_US"})) for i in range(5)]
    assert [a.status_code for a in answers] == [200, 200, 200, 400, 400]
    assert {graph_error(a)["code"] for a in answers[3:]} == {130429}
    sim.clock.advance(1.0)
    assert sim.send(HELLO).status_code == 200
    stats = sim.control("GET", "/stats")["numbers"][PNID]
    assert stats["rate_violations"] == 2 and stats["refused"] == {"130429": 2} and stats["accepted"] == 4


def test_strict_pair_rate_refuses_a_second_message_to_the_same_customer_within_the_interval(simulator):
    sim = simulator(pair_rate=PairRate(interval=6, mode="strict"))
    sim.customer_says()
    assert sim.send(message()).status_code == 200
    refused = sim.send(message(body="ancora"))
    assert refused.status_code == 400 and graph_error(refused)["code"] == 131056
    assert sim.send(message(to="+447700900123", kind="template", name="hello_world",
                            language={"code": "en_US"})).status_code == 200  # another customer is fine
    sim.clock.advance(6)
    assert sim.send(message(body="dopo sei secondi")).status_code == 200
    stats = sim.control("GET", "/stats")["numbers"][PNID]
    assert stats["pair_violations"] == 1 and stats["refused"] == {"131056": 1}


def test_burst_pair_rate_borrows_like_meta_then_refuses(simulator):
    sim = simulator(pair_rate=PairRate(interval=6, mode="burst", burst=3))
    sim.customer_says()
    codes = [sim.send(message(body=f"n{i}")).status_code for i in range(4)]
    assert codes == [200, 200, 200, 400]
    assert sim.control("GET", "/stats")["numbers"][PNID]["pair_violations"] == 3


def test_record_pair_mode_only_counts_violations(sim):
    sim.customer_says()
    assert all(sim.send(message(body=f"n{i}")).status_code == 200 for i in range(3))
    assert sim.control("GET", "/stats")["numbers"][PNID]["pair_violations"] == 2


def test_injected_faults_fail_the_next_sends_synchronously_or_asynchronously(sim):
    sim.customer_says()
    sim.control("POST", "/faults", {"count": 2, "code": 131000, "mode": "sync"})
    sim.control("POST", "/faults", {"count": 1, "code": 131049, "mode": "async"})
    first, second = sim.send(message()), sim.send(message())
    assert [first.status_code, second.status_code] == [500, 500]
    assert graph_error(first)["code"] == 131000
    accepted = sim.send(message())
    assert accepted.status_code == 200
    assert failed_error(sim, accepted.json()["messages"][0]["id"])["code"] == 131049
    assert sim.send(message(body="di nuovo normale")).status_code == 200
    assert sim.control("GET", "/faults") == []


def test_graph_outage_injection_fails_any_graph_request(sim):
    sim.sim.state.fail_next = 1
    response = sim.send(HELLO)
    assert response.status_code == 500 and graph_error(response)["code"] == 2
    assert sim.send(HELLO).status_code == 200


def test_duplicate_callback_data_and_identical_bodies_are_recorded(sim):
    sim.customer_says()
    sim.send({**message(body="uno"), "biz_opaque_callback_data": "msg-1"})
    sim.send({**message(body="due"), "biz_opaque_callback_data": "msg-1"})
    sim.send({**message(body="tre"), "biz_opaque_callback_data": "msg-3"})
    sim.send({**message(body="tre"), "biz_opaque_callback_data": "msg-3"})
    stats = sim.control("GET", "/stats")
    assert stats["numbers"][PNID]["duplicates"] == {"callback_data": 2, "bodies": 1}
    assert {d["key"] for d in stats["duplicates"] if d["kind"] == "biz_opaque_callback_data"} == {"msg-1", "msg-3"}
    assert sim.control("GET", f"/customers/{CUSTOMER}/conversation")["messages"][-1]["callback_data"] == "msg-3"

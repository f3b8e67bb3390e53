"""Timeline and department work list on PostgreSQL (issue 7 item 10).

    python -m bench.timeline [--quick]

A fresh PostgreSQL database holds one customer with 10,000 interactions on three channels (messages in and
out, notes, assignments) and 200 cases of theirs (about ten case and task entries each, one case linked to a
conversation of 4,000 messages), among 2,000 other customers (60,000 messages, 100,000 events), and a
department with 100,000 open tasks (among 150,000). Then, each measured `--runs` times after a warm-up:

- `timeline_p99_ms`: the customer's first page (50 entries, newest first) through the real read
  (app/timeline_read.contact_timeline: visibility, the keyset page, the messages' text joined), as an admin;
  `timeline_agent_p99_ms` the same for an agent (hidden conversations computed); `timeline_api_p99_ms`
  through GET /api/v1/contacts/{id}/timeline (in-process HTTP client); `case_timeline_p99_ms` a case's page
  (its entries and its linked conversation's); `timeline_deep_p99_ms` the page 100 pages down (keyset).
- Baseline in the same run: no timeline table — the naive UNION over messages and events (the events found
  by their JSON payload) sorted and cut with LIMIT (`baseline_timeline_p99_ms`), and OFFSET paging 100 pages
  down on the timeline table itself (`baseline_deep_offset_p99_ms`).
- `write_1000_p50_ms`: the writer's one statement for a transaction's 1,000 entries (the inbound batch's
  cost), against one INSERT per entry (`baseline_write_1000_per_entry_p50_ms`).
- `dept_tasks_p99_ms`: the department's work list first page (50 items, earliest due first) through the cases
  area's real function (CaseViews.department_work); baseline: open tasks filtered by status and sorted by
  due time without the work index (`baseline_dept_tasks_p99_ms`).

Figures are printed, never judged; the last line is one JSON object. --quick: fewer runs (under a minute).
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, create_engine, text

from centralino.storage.db import upgrade

TARGETS = {"timeline_p99_ms": 50.0, "dept_tasks_p99_ms": 50.0}
TOTAL_INTERACTIONS = 10_000
CASES = 200
DEPT_TASKS = 100_000


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))] if ordered else 0.0


def timed(fn: Callable[[], Any], runs: int, warmup: int = 5) -> dict[str, float]:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - began) * 1000)
    return {"p50": round(percentile(samples, 0.5), 3), "p99": round(percentile(samples, 0.99), 3)}


SEED = [
    # channels: two WhatsApp numbers and a mailbox; departments 1 (the busy one), 2, 3
    """INSERT INTO channels (kind, name, address, config, created_at) VALUES
       ('whatsapp', 'WA 1', '1001', '{}', now()), ('whatsapp', 'WA 2', '1002', '{}', now()),
       ('email', 'Mail', 'support@example.com', '{}', now())""",
    """INSERT INTO departments (name, created_at, updated_at)
       SELECT 'Dept ' || g, now(), now() FROM generate_series(1, 3) g""",
    "INSERT INTO department_channels (department_id, channel_id) VALUES (1, 1), (2, 2), (3, 3)",
    # contact 1 is the customer; 2..2001 the others
    "INSERT INTO contacts (created_at, updated_at) SELECT now(), now() FROM generate_series(1, 2001)",
    # the customer's three conversations (ids 1-3), then one per other customer on WA 1 (ids 4..)
    """INSERT INTO conversations (contact_id, channel_id, status, created_at)
       SELECT 1, g, 'open', now() FROM generate_series(1, 3) g""",
    """INSERT INTO conversations (contact_id, channel_id, status, created_at)
       SELECT g, 1, 'open', now() FROM generate_series(2, 2001) g""",
    # the customer's messages: 4,000 on WA 1, 3,000 on WA 2, 1,500 emails (one a minute, over the last week)
    """INSERT INTO messages (conversation_id, channel_id, contact_id, direction, type, raw_type, text, content,
                             status, forwarded, frequently_forwarded, sent_at, created_at)
       SELECT c, c, 1, CASE WHEN g % 20 = 0 THEN 'int' WHEN g % 2 = 0 THEN 'out' ELSE 'in' END,
              CASE WHEN g % 20 = 0 THEN 'note' ELSE 'text' END, 'text', 'message ' || g, '{}', 'read', false, false,
              now() - (g * interval '1 minute'), now() - (g * interval '1 minute')
       FROM generate_series(1, 8500) g,
            LATERAL (SELECT CASE WHEN g <= 4000 THEN 1 WHEN g <= 7000 THEN 2 ELSE 3 END AS c) pick""",
    # everybody else's: 30 each
    """INSERT INTO messages (conversation_id, channel_id, contact_id, direction, type, raw_type, text, content,
                             status, forwarded, frequently_forwarded, sent_at, created_at)
       SELECT k + 2, 1, k, CASE WHEN g % 2 = 0 THEN 'out' ELSE 'in' END, 'text', 'text', 'other ' || g, '{}',
              'read', false, false, now() - (g * interval '7 minutes'), now() - (g * interval '7 minutes')
       FROM generate_series(2, 2001) k, generate_series(1, 30) g""",
    # timeline entries of every message (as the writer records them)
    """INSERT INTO timeline_entries (contact_id, conversation_id, message_id, occurred_at, kind, channel_kind,
                                     actor, summary, recorded_at)
       SELECT m.contact_id, m.conversation_id, m.id, m.created_at,
              CASE m.direction WHEN 'in' THEN 'message_in' WHEN 'out' THEN 'message_out' ELSE 'note' END,
              ch.kind, CASE m.direction WHEN 'in' THEN 'customer' ELSE 'user:1' END,
              jsonb_build_object('type', m.type), now()
       FROM messages m JOIN channels ch ON ch.id = m.channel_id ORDER BY m.id""",
    # 1,500 assignments and status changes of the customer's conversations
    """INSERT INTO timeline_entries (contact_id, conversation_id, occurred_at, kind, channel_kind, actor, summary,
                                     recorded_at)
       SELECT 1, 1 + g % 3, now() - (g * interval '331 seconds'),
              CASE WHEN g % 3 = 0 THEN 'conversation_resolved' ELSE 'conversation_assigned' END,
              CASE WHEN g % 3 = 2 THEN 'email' ELSE 'whatsapp' END, 'user:1', '{"from": null, "to": 1}', now()
       FROM generate_series(1, 1500) g""",
    """INSERT INTO events (type, occurred_at, payload)
       SELECT CASE WHEN g % 3 = 0 THEN 'conversation.status_changed' ELSE 'conversation.assigned' END,
              now() - (g * interval '331 seconds'),
              jsonb_build_object('conversation_id', 1 + g % 3, 'actor', 'user:1')
       FROM generate_series(1, 1500) g""",
    # background events: 100,000 message events of other customers
    """INSERT INTO events (type, occurred_at, payload)
       SELECT 'message.received', now() - (g * interval '5 seconds'),
              jsonb_build_object('message_id', g, 'contact_id', 2 + g % 2000, 'conversation_id', 4 + g % 2000)
       FROM generate_series(1, 100000) g""",
    # case types, the customer's 200 cases, 2,000 other cases (department 1) to hang the tasks on
    """INSERT INTO case_types (key, definition, active, created_at, updated_at)
       VALUES ('bench', '{}', true, now(), now())""",
    """INSERT INTO cases (number, case_type_id, status, priority, contact_id, department_id, open_department_id,
                          title, fields, tags, created_by, created_at, updated_at, work_due_at)
       SELECT 'C-2026-' || lpad(g::text, 6, '0'), 1, 'open', 'normal', CASE WHEN g <= 200 THEN 1 ELSE 2 + g % 2000 END,
              1, 1, 'case ' || g, '{}', '[]', 'user:1', now() - (g * interval '40 minutes'), now(),
              now() + (g * interval '13 minutes')
       FROM generate_series(1, 2200) g""",
    """INSERT INTO case_links (case_id, kind, ref_id, created_by, created_at)
       VALUES (1, 'conversation', 1, 'user:1', now())""",
    # ten entries per customer case (created, status, tasks, escalations) and their events
    """INSERT INTO timeline_entries (contact_id, case_id, occurred_at, kind, actor, summary, recorded_at)
       SELECT 1, c, now() - (c * interval '40 minutes') + (k * interval '3 minutes'),
              (ARRAY['case_created', 'case_linked', 'task_created', 'task_assigned', 'task_escalated',
                     'task_status_changed', 'case_status_changed', 'case_assigned', 'task_created',
                     'case_updated'])[k + 1],
              'user:1', jsonb_build_object('case_id', c), now()
       FROM generate_series(1, 200) c, generate_series(0, 9) k""",
    """INSERT INTO events (type, occurred_at, payload)
       SELECT 'case.updated', now() - (c * interval '40 minutes') + (k * interval '3 minutes'),
              jsonb_build_object('case_id', c, 'contact_id', 1)
       FROM generate_series(1, 200) c, generate_series(0, 9) k""",
    # 100,000 open tasks of department 1 (plus 50,000 of department 2, a third of them done)
    """INSERT INTO tasks (case_id, title, department_id, checklist, status, created_by, created_at, updated_at,
                          due_at, open_department_id, work_due_at)
       SELECT 201 + g % 2000, 'task ' || g, 1, '[]', 'open', 'user:1', now(), now(),
              now() + ((g * 7919) % 100000) * interval '1 minute', 1,
              now() + ((g * 7919) % 100000) * interval '1 minute'
       FROM generate_series(1, 100000) g""",
    """INSERT INTO tasks (case_id, title, department_id, checklist, status, created_by, created_at, updated_at,
                          due_at, open_department_id, work_due_at)
       SELECT 201 + g % 2000, 'task ' || g, 2, '[]', CASE WHEN g % 3 = 0 THEN 'done' ELSE 'open' END, 'user:1',
              now(), now(), now() + g * interval '1 minute', CASE WHEN g % 3 = 0 THEN NULL ELSE 2 END,
              now() + g * interval '1 minute'
       FROM generate_series(1, 50000) g""",
    "ANALYZE",
]

NAIVE_TIMELINE = text("""
    SELECT * FROM (
        SELECT 'message' AS src, m.id, m.created_at AS at, m.text FROM messages m WHERE m.contact_id = :contact
        UNION ALL
        SELECT e.type, e.id, e.occurred_at, NULL FROM events e
        WHERE (e.payload ->> 'contact_id')::bigint = :contact AND e.type LIKE 'case.%'
        UNION ALL
        SELECT e.type, e.id, e.occurred_at, NULL FROM events e
        WHERE e.type IN ('conversation.assigned', 'conversation.status_changed')
          AND (e.payload ->> 'conversation_id')::bigint IN (SELECT id FROM conversations WHERE contact_id = :contact)
    ) everything ORDER BY at DESC, id DESC LIMIT 50""")
DEEP_OFFSET = text("""SELECT * FROM timeline_entries WHERE contact_id = :contact
                      ORDER BY occurred_at DESC, id DESC LIMIT 50 OFFSET 5000""")
NAIVE_DEPT = text("""
    SELECT * FROM (
        SELECT 'task' AS kind, t.id, t.due_at FROM tasks t
        WHERE t.department_id = :dept AND t.status NOT IN ('done', 'cancelled')
        UNION ALL
        SELECT 'case', c.id, c.due_at FROM cases c WHERE c.department_id = :dept AND c.closed_at IS NULL
    ) work ORDER BY due_at NULLS LAST, id LIMIT 50""")


def seed(engine: Engine) -> dict[str, int]:
    with engine.begin() as conn:
        for statement in SEED:
            conn.execute(text(statement))
        counts = {name: int(conn.execute(text(query)).scalar_one()) for name, query in (
            ("customer_entries", "SELECT count(*) FROM timeline_entries WHERE contact_id = 1"),
            ("customer_cases", "SELECT count(*) FROM cases WHERE contact_id = 1"),
            ("all_entries", "SELECT count(*) FROM timeline_entries"),
            ("dept_open_tasks", "SELECT count(*) FROM tasks WHERE open_department_id = 1"),
            ("linked_conversation_entries", "SELECT count(*) FROM timeline_entries WHERE conversation_id = 1"))}
    return counts


def measure(url: str, runs: int) -> dict[str, Any]:
    from starlette.testclient import TestClient

    from centralino.app import timeline_read
    from centralino.config import Settings
    from centralino.domain.access import Principal, Role
    from centralino.services import build_services
    from centralino.storage.timeline_queries import Filters
    from centralino.web.app import create_app

    settings = Settings(_env_file=None, database_url=url, run_workers=False,  # type: ignore[call-arg]
                        migrate_on_start=False)
    services = build_services(settings, migrate=False)
    admin = Principal(role=Role.ADMIN, user_id=None, via="integration")
    agent = Principal(role=Role.AGENT, user_id=None, via="session", department_ids=frozenset({1, 2, 3}))
    engine = services.engine
    out: dict[str, Any] = {}

    def read(principal: Principal, cursor: str | None = None) -> tuple[list[Any], str | None]:
        with engine.connect() as conn:
            return timeline_read.contact_timeline(conn, principal, 1, Filters(), limit=50, cursor=cursor)

    page, _ = read(admin)
    assert len(page) == 50 and all(e["message"] is not None for e in page if e["kind"] == "message_in")
    out["timeline"] = timed(lambda: read(admin), runs)
    out["timeline_agent"] = timed(lambda: read(agent), runs)
    cursor = None
    for _ in range(100):
        _, cursor = read(admin, cursor)
    out["timeline_deep"] = timed(lambda: read(admin, cursor), runs)

    def case_page() -> Any:
        with engine.connect() as conn:
            return timeline_read.case_timeline(conn, admin, 1, Filters(), limit=50, cursor=None)

    try:
        out["case_timeline"] = timed(case_page, runs)
    except ImportError:  # the cases area is not in this tree
        out["case_timeline"] = None

    with TestClient(create_app(settings, services)) as client:
        headers = {"Authorization": f"Bearer {settings.api_token.get_secret_value()}"}

        def api() -> None:
            answer = client.get("/api/v1/contacts/1/timeline", params={"limit": 50}, headers=headers)
            assert answer.status_code == 200, answer.text

        out["timeline_api"] = timed(api, max(50, runs // 4))

    cases = getattr(services, "cases", None)
    if cases is not None:
        work = cases.views.department_work(admin, 1, limit=50)
        assert len(work["items"]) == 50
        out["dept_tasks"] = timed(lambda: cases.views.department_work(admin, 1, limit=50), runs)
    else:
        out["dept_tasks"] = None

    out |= write_figures(engine, max(10, runs // 20))
    with engine.connect() as conn:
        out["baseline_timeline"] = timed(lambda: conn.execute(NAIVE_TIMELINE, {"contact": 1}).all(),
                                         max(20, runs // 5), warmup=2)
        out["baseline_deep_offset"] = timed(lambda: conn.execute(DEEP_OFFSET, {"contact": 1}).all(), runs)
        out["baseline_dept_tasks"] = timed(lambda: conn.execute(NAIVE_DEPT, {"dept": 1}).all(),
                                           max(20, runs // 5), warmup=2)
    services.dispose()
    return out


def write_figures(engine: Engine, runs: int) -> dict[str, Any]:
    """The writer's cost on the inbound path: a transaction's 1,000 entries in its one statement
    (storage/timeline.insert_entries), against one INSERT per entry; rolled back each time."""
    from datetime import UTC, datetime

    from sqlalchemy import insert

    from centralino.storage import timeline as repo
    from centralino.storage.tables_timeline import timeline_entries

    now = datetime.now(UTC)
    rows = [{"contact_id": 2 + i % 2000, "case_id": None, "conversation_id": 4 + i % 2000, "message_id": i + 1,
             "occurred_at": now, "kind": "message_in", "channel_kind": "whatsapp", "actor": "customer", "ref": None,
             "summary": {"type": "text", "has_media": False}, "recorded_at": now} for i in range(1000)]

    def one_statement() -> None:
        with engine.connect() as conn:
            repo.insert_entries(conn, rows)
            conn.rollback()

    def per_entry() -> None:
        with engine.connect() as conn:
            for row in rows:
                conn.execute(insert(timeline_entries).values(row))
            conn.rollback()

    return {"write_1000": timed(one_statement, runs, warmup=2),
            "baseline_write_1000_per_entry": timed(per_entry, max(3, runs // 3), warmup=1)}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.timeline", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--runs", type=int, default=None, help="measured calls per figure (default 1000, quick 200)")
    p.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    a = p.parse_args(argv)
    runs = a.runs or (200 if a.quick else 1000)
    name = f"bench_timeline_{uuid.uuid4().hex[:8]}"
    admin = create_engine(a.pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = a.pg_url.rsplit("/", 1)[0] + "/" + name
    print(f"timeline bench on {name} ({platform.python_implementation()} {platform.python_version()}), "
          f"{runs} runs per figure", flush=True)
    try:
        upgrade(url)
        began = time.perf_counter()
        engine = create_engine(url)
        counts = seed(engine)
        engine.dispose()
        print(f"  seeded in {time.perf_counter() - began:.1f} s: {json.dumps(counts)}", flush=True)
        figures = measure(url, runs)
        for key, value in figures.items():
            print(f"  {key:22} {json.dumps(value)}", flush=True)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    def p99(key: str) -> float | None:
        value = figures.get(key)
        return None if value is None else float(value["p99"])

    result: dict[str, Any] = {f"{key}_p99_ms": p99(key) for key in figures}
    result |= {f"{key}_p50_ms": figures[key]["p50"] for key in figures if figures[key] is not None}
    result["timeline_vs_baseline"] = (round(result["baseline_timeline_p99_ms"] / result["timeline_p99_ms"], 1)
                                      if result["timeline_p99_ms"] else None)
    if result.get("dept_tasks_p99_ms"):
        result["dept_tasks_vs_baseline"] = round(result["baseline_dept_tasks_p99_ms"] / result["dept_tasks_p99_ms"], 1)
    result |= {"runs": runs, "quick": a.quick, **counts}
    result["targets_met"] = {f"{k}<{v:g}": (result.get(k) is not None and result[k] < v) for k, v in TARGETS.items()}
    print(json.dumps(result))


if __name__ == "__main__":
    main()

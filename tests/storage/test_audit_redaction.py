"""On PostgreSQL a GDPR redaction may rewrite audit_log details, and only in a transaction that declares it
(`SET LOCAL centralino.audit_redaction = 'on'`, migration 0014). SQLite has no such switch: its trigger guards
every column but details (tests/storage/test_timeline_immutable.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import text, update

from centralino.storage.tables import audit_log
from tests.helpers import rows
from tests.storage.test_timeline_immutable import _audit_row, refused


@pytest.fixture(params=[pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """PostgreSQL only: the redaction switch is a PostgreSQL setting."""
    from tests.conftest import _truncate_pg

    url: str = request.getfixturevalue("pg_database")
    _truncate_pg(url)
    return url


def test_on_postgresql_only_a_declared_redaction_may_rewrite_audit_details(services):
    audit_id = _audit_row(services)
    redact = update(audit_log).where(audit_log.c.id == audit_id).values(details={"redacted": True})
    assert "audit_log is append-only" in refused(services, redact)
    with services.engine.begin() as conn:
        conn.execute(text("SET LOCAL centralino.audit_redaction = 'on'"))
        conn.execute(redact)
    [row] = rows(services, audit_log, audit_log.c.id == audit_id)
    assert row["details"] == {"redacted": True}
    again = update(audit_log).where(audit_log.c.id == audit_id).values(details={"rewritten": True})
    assert "audit_log is append-only" in refused(services, again)  # the switch ended with its transaction

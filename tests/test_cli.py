"""The command line: database upgrade and channel administration."""

from __future__ import annotations

import subprocess
import sys

from sqlalchemy import create_engine, inspect


def run(args: list[str], db_url: str, tmp_path, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {"PATH": "/usr/bin:/bin", "CENTRALINO_DATABASE_URL": db_url, **env}
    return subprocess.run([sys.executable, "-m", "centralino.cli", *args], env=full_env, cwd=tmp_path,
                          capture_output=True, text=True, check=False)


def test_db_upgrade_creates_the_schema_on_a_new_sqlite_file(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    result = run(["db", "upgrade"], url, tmp_path)
    assert result.returncode == 0, result.stderr
    tables = set(inspect(create_engine(url)).get_table_names())
    assert {"contacts", "contact_identities", "channels", "conversations", "messages", "message_media",
            "status_history", "webhook_deliveries", "events", "alembic_version"} <= tables


def test_channel_add_reads_secrets_from_named_env_vars_and_never_prints_them(db_url, tmp_path):
    args = ["channel", "add-whatsapp", "--name", "Support", "--phone-number-id", "1065", "--waba-id", "1022",
            "--access-token-env", "WA_TOKEN", "--app-secret-env", "WA_SECRET", "--verify-token-env", "WA_VERIFY"]
    missing = run(args, db_url, tmp_path, WA_TOKEN="tok")
    assert missing.returncode == 2 and "WA_SECRET" in missing.stderr
    added = run(args, db_url, tmp_path, WA_TOKEN="tok-123", WA_SECRET="sec-456", WA_VERIFY="ver-789")
    assert added.returncode == 0, added.stderr
    again = run(args, db_url, tmp_path, WA_TOKEN="tok-123", WA_SECRET="sec-456", WA_VERIFY="ver-789")
    assert again.returncode == 2 and "already exists" in again.stderr
    listed = run(["channel", "list"], db_url, tmp_path)
    assert "1065" in listed.stdout and "Support" in listed.stdout
    assert "sec-456" not in listed.stdout + added.stdout
    # stored encrypted: the raw column does not contain the secret
    engine = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        raw = conn.exec_driver_sql("SELECT secrets FROM channels").scalar_one()
    assert b"sec-456" not in bytes(raw)


def test_channel_add_stores_the_graph_defaults_and_its_send_rate(db_url, tmp_path):
    import json

    base = ["channel", "add-whatsapp", "--name", "Sales", "--waba-id", "1022", "--access-token-env", "T",
            "--app-secret-env", "S", "--verify-token-env", "V"]
    secrets = {"T": "t", "S": "s", "V": "v"}
    assert run([*base, "--phone-number-id", "2001", "--messages-per-second", "250"], db_url, tmp_path,
               CENTRALINO_GRAPH_VERSION="v24.0", **secrets).returncode == 0
    refused = run([*base, "--phone-number-id", "2002", "--messages-per-second", "5000"], db_url, tmp_path, **secrets)
    assert refused.returncode == 2 and "at most 1000" in refused.stderr
    engine = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        config = conn.exec_driver_sql("SELECT config FROM channels").scalar_one()
    config = json.loads(config) if isinstance(config, str) else config
    assert config == {"graph_base_url": "https://graph.facebook.com", "graph_version": "v24.0",
                      "messages_per_second": 250.0}


def test_the_worker_keeps_full_garbage_collections_out_of_its_start_up_state():
    import gc

    from centralino import cli

    threshold = gc.get_threshold()
    try:
        cli._quiet_garbage_collector()
        assert gc.get_freeze_count() > 0  # modules and tables loaded so far are out of the collector's walk
        assert gc.get_threshold()[0] == cli.WORKER_GC_GEN0_THRESHOLD
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)

"""`centralino user add`: the first administrator of a production installation."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from tests.test_cli import run


def test_user_add_reads_the_password_from_a_named_env_var_and_stores_only_its_hash(db_url, tmp_path):
    cheap = {"CENTRALINO_PASSWORD_HASH_TIME_COST": "1", "CENTRALINO_PASSWORD_HASH_MEMORY_KIB": "1024"}
    args = ["user", "add", "--email", "Boss@Example.com", "--role", "admin", "--password-env", "BOSS_PW"]
    missing = run(args, db_url, tmp_path, **cheap)
    assert missing.returncode == 2 and "BOSS_PW" in missing.stderr
    short = run(args, db_url, tmp_path, BOSS_PW="short", **cheap)
    assert short.returncode == 2 and "password" in short.stderr
    added = run(args, db_url, tmp_path, BOSS_PW="a long enough password", **cheap)
    assert added.returncode == 0, added.stderr
    unknown_department = run([*args, "--department", "Nowhere"], db_url, tmp_path, BOSS_PW="another password", **cheap)
    assert unknown_department.returncode == 2 and "Nowhere" in unknown_department.stderr
    engine = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        email, role, password_hash = conn.execute(text("SELECT email, role, password_hash FROM users")).one()
    engine.dispose()
    assert (email, role) == ("boss@example.com", "admin") and password_hash.startswith("$argon2id$")
    assert "a long enough password" not in added.stdout + password_hash

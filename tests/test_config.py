"""Settings: env and .env, and the refusal to run in production on demo secrets."""

from __future__ import annotations

import subprocess
import sys

import pytest

from centralino.config import Mode, Settings
from centralino.web.app import create_app

STRONG_KEY = "k" * 40
STRONG_TOKEN = "t" * 32
STRONG_CALLBACK = "c" * 32


def make(**values) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_demo_and_dev_modes_accept_the_published_defaults():
    assert make().mode is Mode.DEMO and make().check_secrets() == []
    assert make(mode="dev").check_secrets() == []


def test_production_refuses_default_or_weak_secrets():
    problems = make(mode="production").check_secrets()
    assert len(problems) == 3
    assert any("CENTRALINO_SECRET_KEY" in p for p in problems) and any("CENTRALINO_API_TOKEN" in p for p in problems)
    assert any("CENTRALINO_CALLBACK_SECRET" in p for p in problems)
    assert len(make(mode="production", secret_key="short", api_token=STRONG_TOKEN,
                    callback_secret=STRONG_CALLBACK).check_secrets()) == 1
    assert make(mode="production", secret_key=STRONG_KEY, api_token=STRONG_TOKEN,
                callback_secret=STRONG_CALLBACK).check_secrets() == []
    with pytest.raises(SystemExit) as refused:
        create_app(make(mode="production"))
    assert "CENTRALINO_SECRET_KEY" in str(refused.value)


def test_settings_come_from_environment_and_dotenv(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("CENTRALINO_PORT=9123\nCENTRALINO_DATABASE_URL=postgresql://db/x\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CENTRALINO_PORT", "9000")
    settings = Settings()
    assert settings.port == 9000  # the environment wins over .env
    assert settings.database_url == "postgresql://db/x"


def test_cli_check_config_fails_loudly_in_production(tmp_path):
    env = {"CENTRALINO_MODE": "production", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-m", "centralino.cli", "check-config"], env=env, cwd=tmp_path,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 1 and "CENTRALINO_SECRET_KEY" in result.stderr
    ok = subprocess.run([sys.executable, "-m", "centralino.cli", "check-config"],
                        env={**env, "CENTRALINO_SECRET_KEY": STRONG_KEY, "CENTRALINO_API_TOKEN": STRONG_TOKEN,
                             "CENTRALINO_CALLBACK_SECRET": STRONG_CALLBACK},
                        cwd=tmp_path, capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr

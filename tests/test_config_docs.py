"""Every setting is documented in docs/configuration.md (config.py says to keep the two in agreement)."""

from __future__ import annotations

from pathlib import Path

from centralino.config import Settings

DOC = (Path(__file__).parent.parent / "docs" / "configuration.md").read_text()


def test_every_setting_is_in_the_configuration_page():
    missing = [name for name in Settings.model_fields if f"CENTRALINO_{name.upper()}" not in DOC]
    assert missing == []

"""The demo's case-update settings: every default case type, once."""

from __future__ import annotations

from centralino.demo_automation import CASE_TYPES, ensure_demo_case_updates


def test_seeded_once_for_every_default_type(services):
    assert ensure_demo_case_updates(services) == len(CASE_TYPES)
    assert ensure_demo_case_updates(services) == 0
    settings = {s["case_type"]: s for s in services.case_updates.settings()}
    assert sorted(settings) == sorted(CASE_TYPES)
    assert settings["refund"]["statuses"] == ["in_progress", "resolved"]
    assert settings["refund"]["template_name"] is None

"""Configuration: parsing, files, demo defaults, and the `centralino simulator` command's wiring."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from centralino.simulator import command, defaults
from centralino.simulator.config import PairRate, SimulatorConfig, StatusDelays


def test_status_delays_parse():
    assert StatusDelays.parse("0.05,0.2,0.5") == StatusDelays(0.05, 0.2, 0.5)
    assert StatusDelays.parse("0,0,-") == StatusDelays(0, 0, None)
    for bad in ("1,2", "a,b,c", "-1,0,0"):
        with pytest.raises(ValueError):
            StatusDelays.parse(bad)


def test_config_from_a_json_file_with_several_numbers(tmp_path):
    path = tmp_path / "sim.json"
    path.write_text(json.dumps({
        "numbers": [{"phone_number_id": "1", "waba_id": "10", "display_phone_number": "15550001", "access_token": "a",
                     "app_secret": "s", "webhook_url": "http://127.0.0.1:8000/webhooks/whatsapp"},
                    {"phone_number_id": "2", "waba_id": "10", "display_phone_number": "15550002", "access_token": "b",
                     "app_secret": "s", "mps": 20}],
        "delays": "0,0,-", "pair_rate": {"interval": 6, "mode": "strict"}, "unreachable": ["393330000000"],
        "mps": 1000,
    }))
    config = SimulatorConfig.from_file(path)
    assert [n.phone_number_id for n in config.numbers] == ["1", "2"]
    assert config.mps_of(config.numbers[0]) == 1000 and config.mps_of(config.numbers[1]) == 20
    assert config.delays == StatusDelays(0, 0, None) and config.pair_rate == PairRate(6, "strict")
    assert config.unreachable == frozenset({"393330000000"})
    with pytest.raises(ValueError, match="unknown simulator settings"):
        SimulatorConfig.from_mapping({"numbers": [], "speed": 3})


def test_command_defaults_are_the_demo_channel():
    parser = argparse.ArgumentParser()
    command.add_parser(parser.add_subparsers(dest="command"))
    config = command.build_config(parser.parse_args(["simulator"]))
    [number] = config.numbers
    assert (number.phone_number_id, number.waba_id, number.display_phone_number, number.access_token,
            number.app_secret) == (defaults.DEMO_PNID, defaults.DEMO_WABA, defaults.DEMO_DISPLAY,
                                   defaults.DEMO_ACCESS_TOKEN, defaults.DEMO_APP_SECRET)
    assert number.webhook_url == defaults.DEFAULT_WEBHOOK_URL and config.mps == 80
    assert config.delays == StatusDelays(*defaults.DEFAULT_STATUS_DELAYS)
    custom = command.build_config(parser.parse_args(
        ["simulator", "--mps", "5", "--status-delays", "0,0,0", "--pair-mode", "strict", "--webhook-url", "",
         "--unreachable", "1234567,7654321"]))
    assert custom.mps == 5 and custom.pair_rate.mode == "strict" and custom.numbers[0].webhook_url is None
    assert custom.unreachable == frozenset({"1234567", "7654321"})


def test_cli_lists_the_simulator_command():
    result = subprocess.run([sys.executable, "-m", "centralino.cli", "simulator", "--help"], capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0 and "--webhook-url" in result.stdout and "--status-delays" in result.stdout

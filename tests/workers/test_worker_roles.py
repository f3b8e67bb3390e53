"""`centralino worker --only/--skip`: a process runs the loops it is given (e.g. the sender alone, whose event
loop then shares its GIL with no other loop's database work), and refuses a role it does not know."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from centralino.workers.runtime import ROLES, WorkerRuntime, select_roles


def test_only_and_skip_select_the_roles():
    assert select_roles() == frozenset(ROLES)
    assert select_roles("sender") == {"sender"}
    assert select_roles(None, "sender") == set(ROLES) - {"sender"}
    assert select_roles("sender, deliveries", "deliveries") == {"sender"}


@pytest.mark.parametrize(("only", "skip", "message"), [
    ("sendr", None, "unknown worker role sendr"),
    (None, "sender,nope", "unknown worker role nope"),
    ("sender", "sender", "no worker role left"),
])
def test_an_unknown_or_empty_selection_is_refused_by_name(only, skip, message):
    with pytest.raises(ValueError, match=message):
        select_roles(only, skip)


def test_the_runtime_starts_only_its_roles(services):
    async def started(roles: frozenset[str]) -> set[str]:
        runtime = WorkerRuntime(services, roles=roles)
        runtime.start()
        try:
            return {task.get_name() for task in runtime._tasks}
        finally:
            await runtime.stop()

    assert asyncio.run(started(frozenset({"sender"}))) == {"sender"}
    everything_else = asyncio.run(started(select_roles(None, "sender")))
    assert "sender" not in everything_else and {"deliveries", "campaigns", "media"} <= everything_else


def test_the_command_refuses_an_unknown_role(tmp_path):
    done = subprocess.run([sys.executable, "-m", "centralino.cli", "worker", "--only", "sendr"],
                          capture_output=True, text=True, timeout=60,
                          env={"CENTRALINO_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 2
    assert "unknown worker role sendr" in done.stderr

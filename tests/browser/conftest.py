"""Browser tests: Debian's Chromium driven by Playwright (never `playwright install`: the browser is the
system package). Outside CI they skip when Chromium or Playwright is missing; in CI that is a failure, as
scripts/test installs Chromium first."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM = os.environ.get("CENTRALINO_TEST_CHROMIUM", "/usr/bin/chromium")

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - the dev extra installs it
    sync_playwright = None

MISSING = None
if sync_playwright is None:
    MISSING = "the playwright package is not installed (pip install -e '.[dev]')"
elif not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
    MISSING = f"Chromium is not at {CHROMIUM} (apt-get install chromium; scripts/test does it in CI)"

if os.environ.get("CI") and MISSING:
    raise RuntimeError("CI must run the browser tests, but " + MISSING)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)
            if MISSING:
                item.add_marker(pytest.mark.skip(reason=MISSING))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    assert sync_playwright is not None
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()

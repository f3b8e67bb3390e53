from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from centralino.web.app import create_app
from tests.access_helpers import Org, build_org


@pytest.fixture
def client(settings, services) -> Iterator[TestClient]:
    with TestClient(create_app(settings, services)) as test_client:
        yield test_client


@pytest.fixture
def org(services) -> Org:
    """The test organisation (tests/access_helpers.py): departments, agents, a supervisor, an admin."""
    return build_org(services)

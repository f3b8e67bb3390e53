from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from centralino.web.app import create_app


@pytest.fixture
def client(settings, services) -> Iterator[TestClient]:
    with TestClient(create_app(settings, services)) as test_client:
        yield test_client

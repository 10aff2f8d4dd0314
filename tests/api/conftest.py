"""Apps started with settings of a test's own (the limits are off in the shared ``settings``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.core.settings import Settings
from app.db.engine import Database
from app.main import create_app

StartApp = Callable[..., TestClient]


@pytest.fixture
def start_app(db: Database, settings: Settings) -> Iterator[StartApp]:
    """``start_app(rate_limit_per_minute=3, ...)``: a running app (one more process, as it
    were) on the test database with those settings; stopped when the test ends."""
    running: list[TestClient] = []

    def start(**overrides: Any) -> TestClient:
        client = TestClient(create_app(settings.model_copy(update=overrides), database=db))
        client.__enter__()
        running.append(client)
        return client

    yield start
    for client in running:
        client.__exit__(None, None, None)

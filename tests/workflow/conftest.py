"""Fixtures of the complaint workflow tests: a supervisor key, incidents ready for each step."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.db.engine import Database
from tests.factories import ApiClient, new_api_key


@pytest.fixture
def supervisor(client: TestClient, db: Database) -> ApiClient:
    """Another key of tenant 'acme' that may approve compensation, and only that (and read)."""
    return ApiClient(
        client,
        new_api_key(db, tenant="acme", name="supervisor-sam", scopes=("read", "incidents:approve")),
    )

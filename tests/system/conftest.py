"""System tests: the service as real processes (API replicas, schedulers) on PostgreSQL.

Each test gets a fresh, empty database on the test PostgreSQL (the processes migrate it
themselves, as replicas do when they start) and a ``Processes`` block that kills every child
when the test ends. These tests run only on PostgreSQL (``postgres_only``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.db.engine import Database
from tests.conftest import _postgres_database
from tests.system.processes import Processes

SECRET_KEY = "system-test-secret-key-0123456789abcdefghij"


@pytest.fixture
def fresh_database_url() -> Iterator[str]:
    """A new, empty PostgreSQL database, dropped (with its connections) after the test."""
    yield from _postgres_database()


@pytest.fixture
def fresh_db(fresh_database_url: str) -> Iterator[Database]:
    """The test's own connection to that database, for checking what the processes did."""
    database = Database(fresh_database_url)
    yield database
    database.dispose()


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    """Children of this test, all stopped when it ends (ask for it after ``fresh_db``, so
    they stop before their database is dropped)."""
    with Processes(tmp_path) as running:
        yield running

"""Shared set-up for the adapter tests."""

from __future__ import annotations

import pytest

from adapters import zones


@pytest.fixture(scope="session", autouse=True)
def _time_zone_tables_loaded() -> None:
    """Read the town and ZIP tables once, up front: the first read takes about a second,
    which property tests with a deadline would otherwise blame on whichever case came first."""
    zones.atlas()
    zones.zip_zone("10001")

"""Telling customers: sending is on (nothing is sent: the scheduler is off in tests)."""

from __future__ import annotations

import pytest

from app.core.settings import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The suite's settings with an SMTP server named, so messages are queued, not refused."""
    return settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": 2525})

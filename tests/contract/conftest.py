"""Contract tests: webhook URLs on 127.0.0.1 are allowed, so a subscription can be seeded."""

from __future__ import annotations

import os

import pytest

from app.core.settings import Settings


@pytest.fixture
def settings(tmp_path: os.PathLike[str]) -> Settings:
    return Settings(
        database_url="sqlite://",  # unused: tests hand the app their own Database
        auto_migrate=False,
        secret_key="test-secret-key-for-page-tokens-0123456789",
        data_dir=tmp_path,
        scheduler="off",
        webhook_allow_http=True,
        webhook_allow_private_networks=True,
        webhook_timeout_seconds=1.0,
        rate_limit_per_minute=0,  # one key makes every request: no per-key limit
        auth_failures_per_minute=0,
    )

"""Fixtures of the e-mail tests: a real SMTP server on 127.0.0.1 (``tests.mail_server``) and
settings that point the service at it (plain SMTP, a fake clock moving the retries on)."""

from __future__ import annotations

import os

import pytest

from app.core.settings import Settings
from tests.mail_server import MailServer, smtp_server

__all__ = ["smtp_server"]

RETRY_SCHEDULE = [60.0, 300.0]  # two retries: three attempts in all


@pytest.fixture
def settings(tmp_path: os.PathLike[str], smtp_server: MailServer) -> Settings:
    return Settings(
        database_url="sqlite://",
        auto_migrate=False,
        secret_key="test-secret-key-for-page-tokens-0123456789",
        data_dir=tmp_path,
        scheduler="off",
        rate_limit_per_minute=0,
        auth_failures_per_minute=0,
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        smtp_starttls=False,  # the test server speaks plain SMTP; tests/notify/test_smtp.py TLS
        smtp_from="Care Desk <care@tracker.example>",
        smtp_timeout_seconds=3.0,
        message_retry_schedule=RETRY_SCHEDULE,
        message_lease_seconds=60,
    )

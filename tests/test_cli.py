"""The operator CLI creates tenants and keys that the API then accepts."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import pytest
import structlog
from fastapi.testclient import TestClient

from app import cli
from app.core.settings import get_settings
from app.db.engine import Database
from tests.factories import ApiClient


@pytest.fixture(autouse=True)
def keep_logging() -> Iterator[None]:
    """cli.main configures logging for the process: give the next test pytest's back."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level
    structlog.reset_defaults()


@pytest.fixture
def cli_env(db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("DATABASE_URL", db.url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.usefixtures("cli_env")
def test_keys_create_list_revoke(capsys: pytest.CaptureFixture[str], client: TestClient) -> None:
    assert cli.main(["keys", "create", "--tenant", "acme", "--scopes", "read", "--name", "bi"]) == 0
    out = capsys.readouterr().out
    secret = re.search(r"API key: (\S+)", out).group(1)  # type: ignore[union-attr]
    key_id = re.search(r"key id:\s+(\S+)", out).group(1)  # type: ignore[union-attr]
    reader = ApiClient(client, secret)
    assert reader.get("/v1/incidents").status_code == 200
    assert reader.post("/v1/incidents", json={}).status_code == 403

    assert cli.main(["keys", "list", "--tenant", "acme"]) == 0
    listing = capsys.readouterr().out
    assert "bi" in listing
    assert secret not in listing

    assert cli.main(["keys", "revoke", key_id]) == 0
    assert reader.get("/v1/incidents").status_code == 401


@pytest.mark.usefixtures("cli_env")
def test_unknown_scope_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["keys", "create", "--tenant", "acme", "--scopes", "read,root"]) == 2
    assert "unknown or empty scopes ['root']" in capsys.readouterr().err

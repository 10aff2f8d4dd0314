"""The operator CLI creates tenants and keys that the API then accepts."""

from __future__ import annotations

import argparse
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
import uvicorn
from fastapi.testclient import TestClient

from app import cli
from app.core.settings import get_settings
from app.db.engine import Database
from app.webhooks.dispatch.payloads import api_base_url
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


def test_help_lists_every_command_with_what_it_does(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["--help"])

    assert exited.value.code == 0
    out = capsys.readouterr().out
    for command in ("serve", "migrate", "tenants", "keys"):
        assert re.search(rf"^\s+{command}\s+\w+", out, re.MULTILINE), f"{command} has no help"
    # and so does every sub-command, at every level
    unexplained = []
    pending = [("python -m app", cli._parser())]
    while pending:
        name, parser = pending.pop()
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                helped = {choice.dest for choice in action._choices_actions if choice.help}
                unexplained += [f"{name} {sub}" for sub in action.choices if sub not in helped]
                pending += [(f"{name} {sub}", child) for sub, child in action.choices.items()]
    assert unexplained == []


@pytest.mark.usefixtures("cli_env")
@pytest.mark.parametrize(
    ("argv", "env", "host", "port"),
    [
        (["serve", "--port", "9123"], {}, "127.0.0.1", 9123),
        (["serve"], {"RT_PORT": "9124", "RT_HOST": "localhost"}, "localhost", 9124),
        (
            ["serve", "--host", "127.0.0.1", "--port", "9125"],
            {"RT_HOST": "localhost"},
            "127.0.0.1",
            9125,
        ),
    ],
)
def test_serve_binds_and_announces_the_address_it_really_uses(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    env: dict[str, str],
    host: str,
    port: int,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    runs: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: runs.append((app, kw)))

    assert cli.main(argv) == 0

    [(app, options)] = runs
    assert (options["host"], options["port"]) == (host, port)
    # the app's own settings say the same: webhook payload links point at this address
    assert (app.state.settings.host, app.state.settings.port) == (host, port)
    assert api_base_url(app.state.settings) == f"http://{host}:{port}"
    banner = capsys.readouterr().err
    assert f"http://{host}:{port}/docs" in banner
    assert "8000" not in banner

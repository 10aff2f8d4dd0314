"""The operator CLI creates tenants and keys that the API then accepts."""

from __future__ import annotations

import argparse
import io
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
import uvicorn
from fastapi.testclient import TestClient

from app import cli
from app.core.settings import Settings, get_settings
from app.db.engine import Database
from app.db.types import utcnow
from app.people.models import User
from app.people.sign_in import sign_in
from app.webhooks.dispatch.payloads import api_base_url
from tests.factories import ApiClient, FakeClock


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
def test_keys_create_list_revoke(
    capsys: pytest.CaptureFixture[str], client: TestClient, clock: FakeClock, settings: Settings
) -> None:
    """A key revoked with the CLI (another process) is refused once the service's processes
    stop remembering it: RT_API_KEY_CACHE_SECONDS at most."""
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
    clock.advance(seconds=settings.api_key_cache_seconds)
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
    for command in ("serve", "migrate", "tenants", "keys", "users"):
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


# --- users ----------------------------------------------------------------------------------


def users(monkeypatch: pytest.MonkeyPatch, *argv: str, stdin: str = "") -> int:
    """``python -m app users ...`` with ``stdin`` piped in."""
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return cli.main(["users", *argv])


def signs_in(db: Database, email: str, password: str, tenant: str | None = None) -> bool:
    with db.unit_of_work() as session:
        result = sign_in(
            session,
            settings=get_settings(),
            email=email,
            password=password,
            client_address="127.0.0.1",
            now=utcnow(),
            tenant=tenant,
        )
        return isinstance(result, User)


@pytest.mark.usefixtures("cli_env")
def test_users_create_list_reset_and_disable(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, db: Database
) -> None:
    assert cli.main(["tenants", "create", "acme"]) == 0
    create = ["create", "--tenant", "acme", "--email", "Anna@Acme.example", "--name", "Anna Agent"]
    assert users(monkeypatch, *create, "--role", "agent", "--password-stdin",
                 stdin="correct horse battery\n") == 0  # fmt: skip
    assert "created anna@acme.example (agent) in tenant acme" in capsys.readouterr().out
    assert signs_in(db, "anna@acme.example", "correct horse battery")  # the newline is not in it

    assert users(monkeypatch, "list", "--tenant", "acme") == 0
    listing = capsys.readouterr().out
    assert listing.startswith("anna@acme.example\tAnna Agent\tagent\tactive\t")
    assert "argon2" not in listing

    assert users(monkeypatch, "reset-password", "anna@acme.example", "--password-stdin",
                 stdin="a whole new passphrase") == 0  # fmt: skip
    assert "their other sessions have ended" in capsys.readouterr().out
    assert signs_in(db, "anna@acme.example", "a whole new passphrase")
    assert not signs_in(db, "anna@acme.example", "correct horse battery")

    assert users(monkeypatch, "disable", "ANNA@acme.example") == 0
    assert "disabled anna@acme.example" in capsys.readouterr().out
    assert not signs_in(db, "anna@acme.example", "a whole new passphrase")
    assert users(monkeypatch, "list", "--tenant", "acme") == 0
    assert "\tdisabled " in capsys.readouterr().out


@pytest.mark.usefixtures("cli_env")
def test_a_password_is_never_taken_from_the_command_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli.main(["tenants", "create", "acme"]) == 0
    create = ["create", "--tenant", "acme", "--email", "a@acme.example", "--name", "A"]
    for argv in (
        [*create, "--role", "agent", "--password", "correct horse battery", "--password-stdin"],
        ["reset-password", "a@acme.example", "--password=correct horse battery"],
        ["reset-password", "a@acme.example", "--password", "correct horse battery"],
    ):
        assert users(monkeypatch, *argv, stdin="another passphrase") == 2
        err = capsys.readouterr().err
        assert "never on the command line" in err
        assert "pipe it to --password-stdin" in err
        assert "correct horse" not in err  # not echoed back either

    assert users(monkeypatch, "reset-password", "a@acme.example", stdin="x" * 12) == 2
    assert "add --password-stdin and pipe it in" in capsys.readouterr().err

    # nor is "--password" read as an abbreviation of --password-stdin
    with pytest.raises(SystemExit) as exited:
        users(monkeypatch, "reset-password", "a@acme.example", "--passw", "x" * 12)
    assert exited.value.code == 2


@pytest.mark.usefixtures("cli_env")
@pytest.mark.parametrize(
    ("argv", "stdin", "message"),
    [
        (["--tenant", "initech"], "correct horse battery", "there is no tenant 'initech'"),
        ([], "", "password: nothing on standard input"),
        ([], "short\n", "password: must be at least 12 characters (it has 5)"),
        ([], "first line here\nsecond line\n", "standard input has several lines"),
        (["--email", "nobody"], "correct horse battery", "'nobody' is not an e-mail address"),
    ],
)
def test_users_create_says_what_is_wrong_and_exits_non_zero(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    stdin: str,
    message: str,
) -> None:
    assert cli.main(["tenants", "create", "acme"]) == 0
    options = {"--tenant": "acme", "--email": "anna@acme.example", "--name": "Anna"}
    options.update(dict(zip(argv[::2], argv[1::2], strict=True)))
    flat = [part for pair in options.items() for part in pair]

    assert users(monkeypatch, "create", *flat, "--role", "agent", "--password-stdin",
                 stdin=stdin) == 2  # fmt: skip

    assert message in capsys.readouterr().err


@pytest.mark.usefixtures("cli_env")
def test_an_e_mail_taken_in_the_tenant_is_refused(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli.main(["tenants", "create", "acme"]) == 0
    create = ["create", "--tenant", "acme", "--email", "anna@acme.example", "--name", "Anna"]
    password = "correct horse battery"
    assert users(monkeypatch, *create, "--role", "agent", "--password-stdin", stdin=password) == 0
    assert users(monkeypatch, *create, "--role", "admin", "--password-stdin", stdin=password) == 2
    assert "error: anna@acme.example is already a user of tenant acme" in capsys.readouterr().err


@pytest.mark.usefixtures("cli_env")
def test_an_e_mail_of_two_tenants_needs_tenant_to_disable(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, db: Database
) -> None:
    for tenant, password in (("acme", "the acme passphrase"), ("globex", "the globex passphrase")):
        assert cli.main(["tenants", "create", tenant]) == 0
        assert users(monkeypatch, "create", "--tenant", tenant, "--email", "sam@example.com",
                     "--name", "Sam", "--role", "supervisor", "--password-stdin",
                     stdin=password) == 0  # fmt: skip
    capsys.readouterr()

    assert users(monkeypatch, "disable", "sam@example.com") == 2
    assert (
        "error: sam@example.com is a user of several tenants (acme, globex): "
        "add --tenant <slug> to say which"
    ) in capsys.readouterr().err
    assert signs_in(db, "sam@example.com", "the acme passphrase")  # nothing was disabled

    assert users(monkeypatch, "disable", "sam@example.com", "--tenant", "globex") == 0
    assert not signs_in(db, "sam@example.com", "the globex passphrase")
    assert signs_in(db, "sam@example.com", "the acme passphrase")


@pytest.mark.usefixtures("cli_env")
def test_disabling_someone_unknown_says_so(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert users(monkeypatch, "disable", "ghost@acme.example") == 2
    assert "error: ghost@acme.example is not a user of any tenant" in capsys.readouterr().err

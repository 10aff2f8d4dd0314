"""RT_BOOTSTRAP_SUPERVISOR_*: the service starts with a supervisor a newcomer can sign in as."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr, ValidationError
from structlog.testing import capture_logs

from app.core.settings import Settings
from app.db.engine import Database
from app.main import create_app
from app.people.passwords import verify_password
from app.people.service import disable_user, find_user, reset_password
from tests.factories import FakeClock

EMAIL, PASSWORD = "dev@example.com", "rt-dev-local-only"


def start(db: Database, clock: FakeClock, settings: Settings, password: str = PASSWORD) -> None:
    configured = settings.model_copy(
        update={
            "bootstrap_supervisor_email": EMAIL,
            "bootstrap_supervisor_password": SecretStr(password),
        }
    )
    with TestClient(create_app(configured, database=db, clock=clock)):
        pass


def test_start_up_creates_the_supervisor_in_the_default_tenant(
    db: Database, clock: FakeClock, settings: Settings
) -> None:
    start(db, clock, settings)

    with db.session() as session:
        dev = find_user(session, email=EMAIL, tenant_slug="default")
        assert (dev.role, dev.display_name, dev.created_at) == (
            "supervisor",
            "Development supervisor",
            clock(),
        )
        assert verify_password(dev.password_hash, PASSWORD)


def test_a_restart_never_undoes_what_people_did_to_the_supervisor(
    db: Database, clock: FakeClock, settings: Settings
) -> None:
    """The bootstrap key's lesson: a setting that re-creates on every start revives what an
    admin disabled. The supervisor is created once; a disabled one stays disabled, a reset
    password stays reset, and the start-up log says the configured person is disabled."""
    start(db, clock, settings)
    with db.unit_of_work() as work:
        dev = find_user(work, email=EMAIL)
        reset_password(
            work, dev, password="a password reset by the CLI", password_min_length=12, now=clock()
        )
        disable_user(work, dev, now=clock())

    with capture_logs() as logs:
        start(db, clock, settings)

    with db.session() as session:
        dev = find_user(session, email=EMAIL)
        assert dev.disabled_at is not None
        assert verify_password(dev.password_hash, "a password reset by the CLI")
    assert any(entry["event"] == "bootstrap supervisor disabled" for entry in logs)


def test_a_second_start_up_with_the_same_settings_changes_nothing(
    db: Database, clock: FakeClock, settings: Settings
) -> None:
    start(db, clock, settings)
    with db.session() as session:
        first = find_user(session, email=EMAIL)
    clock.advance(hours=1)

    start(db, clock, settings)

    with db.session() as session:
        again = find_user(session, email=EMAIL)
        assert (again.id, again.password_hash, again.password_changed_at) == (
            first.id,
            first.password_hash,
            first.password_changed_at,
        )


def test_the_e_mail_without_the_password_is_a_settings_error() -> None:
    with pytest.raises(ValidationError, match="RT_BOOTSTRAP_SUPERVISOR_PASSWORD together"):
        Settings(bootstrap_supervisor_email=EMAIL)

"""Desk tests: people of tenant 'acme' signed in through the sign-in form, on both databases.

Argon2 runs at a test-sized cost here (as in tests/people): the desk's stories sign in
dozens of times, and the real cost is tested in tests/people/test_passwords.py.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from app.core.tenancy import ensure_tenant
from app.db.engine import Database
from app.people import passwords
from app.people.models import User
from app.people.service import create_user
from tests.factories import START

PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(autouse=True)
def quick_hasher(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        passwords, "HASHER", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )


def add_person(
    db: Database,
    *,
    email: str,
    name: str,
    role: str = "agent",
    tenant: str = "acme",
    now: datetime = START,
) -> User:
    with db.session() as session:
        user = create_user(
            session,
            tenant=ensure_tenant(session, slug=tenant),
            email=email,
            display_name=name,
            role=role,
            password=PASSWORD,
            password_min_length=12,
            now=now,
        )
        session.commit()
        session.refresh(user)
        session.expunge(user)
        return user


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


class DeskClient:
    """A browser-like client: its own cookies, signs in through the form, posts with CSRF."""

    def __init__(self, app: Any) -> None:
        self.client = TestClient(app, base_url="http://testserver", follow_redirects=False)
        self.csrf = ""

    def sign_in(self, email: str, password: str = PASSWORD) -> httpx.Response:
        form = self.client.get("/desk/login")
        response: httpx.Response = self.client.post(
            "/desk/login",
            data={"email": email, "password": password, "csrf_token": csrf_of(form.text)},
        )
        if response.status_code == 303:
            self.csrf = csrf_of(self.get("/desk/").text)
        return response

    def get(self, url: str, **kw: Any) -> httpx.Response:
        response: httpx.Response = self.client.get(url, **kw)
        return response

    def post(self, url: str, data: dict[str, Any] | None = None, **kw: Any) -> httpx.Response:
        form = {"csrf_token": self.csrf, **(data or {})}
        response: httpx.Response = self.client.post(url, data=form, **kw)
        return response


@pytest.fixture
def agent(db: Database) -> User:
    return add_person(db, email="anna@acme.example", name="Anna Agent")


@pytest.fixture
def supervisor(db: Database) -> User:
    return add_person(db, email="sven@acme.example", name="Sven Supervisor", role="supervisor")


@pytest.fixture
def desk(app: Any, client: TestClient, agent: User) -> DeskClient:
    """Anna, an agent of 'acme', signed in (``client`` runs the app's lifespan)."""
    signed = DeskClient(app)
    assert signed.sign_in(agent.email).status_code == 303
    return signed


@pytest.fixture
def supervisor_desk(app: Any, client: TestClient, supervisor: User) -> DeskClient:
    signed = DeskClient(app)
    assert signed.sign_in(supervisor.email).status_code == 303
    return signed


# --- the browser: Debian's Chromium driven by Playwright (no browser download, ever) ---------

IN_CI = os.environ.get("CI", "").lower() == "true"
OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "desk"


def chromium_path() -> str | None:
    return shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )


@pytest.fixture
def browser() -> Iterator[Any]:
    """Headless Chromium; skipped (in one line) where it is not installed, failed in CI."""
    path = chromium_path()
    if path is None:
        message = "Chromium not found: apt-get install -y chromium to run the browser tests"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def screenshots(request: pytest.FixtureRequest) -> Path:
    """test-output/desk/<test>/ (gitignored): each step of a browser test leaves a picture."""
    folder = OUTPUT / re.sub(r"[^\w.-]+", "_", request.node.name)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    return folder

"""People tests: real databases, and Argon2 at a test-sized cost.

Argon2id with argon2-cffi's defaults takes about half a second per hash on a busy CI core;
a suite that signs in a few hundred times would spend minutes hashing. So these tests swap in
a hasher with the same algorithm at the smallest cost, which also counts its verifications
and hashes (the unknown-e-mail tests read them). ``test_passwords.py`` checks the real defaults.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Literal

import pytest
from argon2 import PasswordHasher
from sqlmodel import Session

from app.core.settings import Settings
from app.core.tenancy import ensure_tenant
from app.db.engine import Database
from app.people import passwords
from app.people.models import User
from app.people.service import create_user
from tests.factories import START

PASSWORD = "correct horse battery staple"


class CountingHasher(PasswordHasher):
    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.verifications = 0
        self.hashes = 0

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        self.hashes += 1
        return super().hash(password, salt=salt)

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        self.verifications += 1
        return super().verify(hash, password)


@pytest.fixture(autouse=True)
def hasher(monkeypatch: pytest.MonkeyPatch) -> CountingHasher:
    counting = CountingHasher()
    monkeypatch.setattr(passwords, "HASHER", counting)
    return counting


@pytest.fixture
def people_settings(settings: Settings) -> Settings:
    """Small limits, so a throttling story takes a few attempts, not thirty."""
    return settings.model_copy(
        update={
            "sign_in_failures_per_15_minutes": 3,
            "sign_in_address_failures_per_15_minutes": 5,
        }
    )


@pytest.fixture
def session(db: Database) -> Iterator[Session]:
    """One unit of work for the whole test: what the services flush, the test reads back."""
    with db.session() as open_session:
        yield open_session


def add_person(
    session: Session,
    *,
    email: str = "anna@acme.example",
    tenant: str = "acme",
    role: str = "agent",
    name: str = "Anna Agent",
    password: str = PASSWORD,
    now: datetime = START,
) -> User:
    return create_user(
        session,
        tenant=ensure_tenant(session, slug=tenant),
        email=email,
        display_name=name,
        role=role,
        password=password,
        password_min_length=12,
        now=now,
    )

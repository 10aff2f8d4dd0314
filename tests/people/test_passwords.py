"""Passwords are stored as Argon2id at argon2-cffi's defaults, never as themselves."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from app.core.errors import ValidationFailed
from app.people import passwords
from app.people.passwords import (
    check_new_password,
    generate_password,
    hash_password,
    needs_rehash,
    verify_password,
)

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def hasher() -> None:
    """Not the cheap test hasher of conftest: these tests are about the real one."""


def test_the_hasher_is_argon2_cffi_at_its_defaults() -> None:
    defaults = PasswordHasher()
    assert passwords.HASHER.time_cost == defaults.time_cost
    assert passwords.HASHER.memory_cost == defaults.memory_cost
    assert passwords.HASHER.parallelism == defaults.parallelism


def test_a_hash_is_argon2id_salted_and_never_the_password() -> None:
    first, second = hash_password(PASSWORD), hash_password(PASSWORD)

    assert first.startswith("$argon2id$v=19$")
    assert PASSWORD not in first
    assert first != second  # a fresh salt each time
    assert verify_password(first, PASSWORD)
    assert not verify_password(first, PASSWORD + "!")
    assert not needs_rehash(first)


def test_a_hash_made_with_weaker_parameters_asks_to_be_redone() -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)

    assert verify_password(weak, PASSWORD)  # still signs in
    assert needs_rehash(weak)


@pytest.mark.parametrize("damaged", ["", "plain text", "$argon2id$v=19$m=1$broken"])
def test_a_damaged_hash_is_a_mismatch_not_a_crash(damaged: str) -> None:
    assert not verify_password(damaged, PASSWORD)
    assert needs_rehash(damaged)


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "password: must be at least 12 characters (it has 5)"),
        ("            ", "password: must not be only spaces"),
        ("Anna@Acme.example", "password: must not be the e-mail address"),
        ("x" * 1025, "password: must be at most 1024 characters"),
    ],
)
def test_a_new_password_is_refused_with_a_reason(password: str, message: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_new_password(password, email="anna@acme.example", min_length=12)

    assert refused.value.detail == message
    assert refused.value.extensions["errors"][0]["field"] == "password"


def test_the_minimum_length_is_the_settings_not_a_constant() -> None:
    check_new_password("twelve chars", email="anna@acme.example", min_length=12)
    with pytest.raises(ValidationFailed, match="at least 16"):
        check_new_password("twelve chars", email="anna@acme.example", min_length=16)


@pytest.mark.parametrize("min_length", [8, 12, 20, 64, 128])
def test_a_generated_password_meets_the_rules_and_is_never_the_same(min_length: int) -> None:
    made = {generate_password(min_length) for _ in range(20)}

    assert len(made) == 20
    assert {len(p) for p in made} == {max(min_length, 20)}
    for password in made:
        check_new_password(password, email="anna@acme.example", min_length=min_length)

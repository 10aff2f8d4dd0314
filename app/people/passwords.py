"""Passwords: Argon2id through argon2-cffi with its maintained defaults, and the rules a new
password must meet.

Only the PHC string (``$argon2id$v=19$m=...,t=...,p=...$salt$hash``) is stored; it names its
own parameters, so raising them later (a newer argon2-cffi) rehashes each password at its
owner's next sign-in (``needs_rehash``).
"""

from __future__ import annotations

import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.core.errors import ValidationFailed

HASHER = PasswordHasher()
MAX_LENGTH = 1024  # Argon2 takes any length; a megabyte "password" in a form is abuse


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when ``password`` is the one hashed; a damaged hash is a mismatch, not a crash."""
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Hashed with other parameters than today's defaults (or unreadable): hash it again."""
    try:
        return HASHER.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


@cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    """Made once per hasher, with its parameters: the check costs what a real one does."""
    return hasher.hash(secrets.token_urlsafe(16))


def prepare_dummy() -> None:
    """Make the dummy hash now, before any e-mail is looked up: made on the first unknown
    e-mail instead, that one answer would take twice as long as a known e-mail's."""
    _dummy_hash(HASHER)


def verify_against_nobody(password: str) -> None:
    """Spend the time a real check takes, so an unknown e-mail answers as slowly as a known one."""
    verify_password(_dummy_hash(HASHER), password)


def generate_password(min_length: int) -> str:
    """A random password of at least ``min_length`` (and 20) URL-safe characters, for an admin
    to hand over once: about 6 bits a character, so 20 carry some 120 bits."""
    length = max(min_length, 20)
    return secrets.token_urlsafe(length)[:length]


def check_new_password(password: str, *, email: str, min_length: int) -> None:
    """Refuse (``ValidationFailed``) a password too short, too long, blank or the e-mail."""
    if len(password) < min_length:
        raise ValidationFailed(
            "password", f"must be at least {min_length} characters (it has {len(password)})"
        )
    if len(password) > MAX_LENGTH:
        raise ValidationFailed("password", f"must be at most {MAX_LENGTH} characters")
    if not password.strip():
        raise ValidationFailed("password", "must not be only spaces")
    if password.strip().casefold() == email.casefold():
        raise ValidationFailed("password", "must not be the e-mail address")

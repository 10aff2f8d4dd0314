"""Authenticated encryption at rest, with a key derived from ``RT_SECRET_KEY`` per purpose.

Fernet (AES-128-CBC plus HMAC-SHA256, from ``cryptography``) gives authenticated encryption,
so a row copied from a backup is useless without the server key, and a tampered one fails to
open instead of yielding garbage. Each purpose (webhook signing secrets, stored idempotent
answers) derives its own Fernet key with HKDF under its own label, so no two purposes, nor the
page-token signing key, ever share a key.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class Unsealable(Exception):
    """The token does not open with this server key and label (was RT_SECRET_KEY changed?)."""


@lru_cache(maxsize=16)
def _fernet(server_key: bytes, label: bytes) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(server_key)
    return Fernet(base64.urlsafe_b64encode(derived))


def seal(server_key: bytes, *, label: bytes, plaintext: bytes) -> bytes:
    return _fernet(server_key, label).encrypt(plaintext)


def unseal(server_key: bytes, *, label: bytes, token: bytes) -> bytes:
    try:
        return _fernet(server_key, label).decrypt(token)
    except InvalidToken as exc:
        raise Unsealable("the stored value does not decrypt with RT_SECRET_KEY") from exc

"""Endpoint signing secrets, encrypted at rest with a key derived from ``RT_SECRET_KEY``.

Fernet (AES-128-CBC plus HMAC-SHA256, from ``cryptography``) gives authenticated encryption,
so a row copied from a backup is useless without the server key, and a tampered one fails to
decrypt instead of signing with garbage. The Fernet key is derived with HKDF under its own
label, so the page-token signing key and this one never coincide.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_LABEL = b"resolution-tracker:webhook-signing-secrets:v1"


class SecretUnreadable(Exception):
    """The stored secret does not decrypt with this server key (was RT_SECRET_KEY changed?)."""


@lru_cache(maxsize=8)
def _fernet(server_key: bytes) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_LABEL).derive(server_key)
    return Fernet(base64.urlsafe_b64encode(derived))


def encrypt(server_key: bytes, secret: str) -> str:
    return _fernet(server_key).encrypt(secret.encode()).decode()


def decrypt(server_key: bytes, token: str) -> str:
    try:
        return _fernet(server_key).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable("the webhook secret does not decrypt with RT_SECRET_KEY") from exc

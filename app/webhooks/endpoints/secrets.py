"""Endpoint signing secrets, encrypted at rest (``app.core.sealing``) under their own label."""

from __future__ import annotations

from app.core.sealing import Unsealable, seal, unseal

_LABEL = b"resolution-tracker:webhook-signing-secrets:v1"


class SecretUnreadable(Exception):
    """The stored secret does not decrypt with this server key (was RT_SECRET_KEY changed?)."""


def encrypt(server_key: bytes, secret: str) -> str:
    return seal(server_key, label=_LABEL, plaintext=secret.encode()).decode()


def decrypt(server_key: bytes, token: str) -> str:
    try:
        return unseal(server_key, label=_LABEL, token=token.encode()).decode()
    except Unsealable as exc:
        raise SecretUnreadable("the webhook secret does not decrypt with RT_SECRET_KEY") from exc

"""Signing secrets at rest: encrypted with the server key, useless without it."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from app.db.types import utcnow
from app.webhooks.dispatch.sign import generate_secret
from app.webhooks.endpoints.secrets import SecretUnreadable, decrypt, encrypt
from app.webhooks.endpoints.service import live_secrets
from app.webhooks.models import WebhookEndpoint

KEY = b"server-key-one-0123456789-0123456789"
OTHER_KEY = b"server-key-two-0123456789-0123456789"


def test_a_secret_round_trips_and_is_not_stored_as_is() -> None:
    secret = generate_secret()

    token = encrypt(KEY, secret)

    assert secret not in token
    assert secret.removeprefix("whsec_") not in token
    assert encrypt(KEY, secret) != token  # a fresh nonce every time
    assert decrypt(KEY, token) == secret


def test_another_server_key_or_a_tampered_token_does_not_decrypt() -> None:
    token = encrypt(KEY, generate_secret())

    with pytest.raises(SecretUnreadable):
        decrypt(OTHER_KEY, token)
    with pytest.raises(SecretUnreadable):
        decrypt(KEY, token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"))


def test_after_a_server_key_change_and_a_rotation_the_new_secret_signs_alone() -> None:
    now = utcnow()
    new = generate_secret()
    endpoint = WebhookEndpoint(
        tenant_id=uuid.uuid4(),
        url="https://hooks.example.com/",
        event_types="*",
        secret_encrypted=encrypt(OTHER_KEY, new),
        previous_secret_encrypted=encrypt(KEY, generate_secret()),  # the old server key's
        previous_secret_expires_at=now + timedelta(hours=1),
    )

    assert live_secrets(endpoint, server_key=OTHER_KEY, now=now) == [new]
    with pytest.raises(SecretUnreadable):
        live_secrets(endpoint, server_key=KEY, now=now)

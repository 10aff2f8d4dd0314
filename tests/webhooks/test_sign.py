"""Our signatures against the Standard Webhooks reference library and its published vector."""

from __future__ import annotations

import base64
import time

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from app.webhooks.dispatch.sign import generate_secret, secret_key, signature, signed_headers

# from the standardwebhooks library's own tests (reliability.md §1.1)
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_published_vector_is_reproduced_byte_for_byte() -> None:
    produced = signature(
        VECTOR_SECRET, msg_id=VECTOR_ID, timestamp=VECTOR_TIMESTAMP, body=VECTOR_BODY
    )

    assert produced == VECTOR_SIGNATURE


def test_the_secret_works_with_and_without_its_prefix() -> None:
    bare = VECTOR_SECRET.removeprefix("whsec_")

    assert signature(bare, msg_id=VECTOR_ID, timestamp=VECTOR_TIMESTAMP, body=VECTOR_BODY) == (
        VECTOR_SIGNATURE
    )


def test_a_generated_secret_is_whsec_and_24_to_64_random_bytes() -> None:
    secrets = {generate_secret() for _ in range(20)}

    assert len(secrets) == 20
    for secret in secrets:
        assert secret.startswith("whsec_")
        assert 24 <= len(base64.b64decode(secret.removeprefix("whsec_"))) <= 64
        assert secret_key(secret) == base64.b64decode(secret.removeprefix("whsec_"))


@pytest.mark.parametrize("bad", ["whsec_", "whsec_c2hvcnQ=", "whsec_not base64!"])
def test_a_malformed_secret_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="webhook secret"):
        secret_key(bad)


def test_the_reference_library_verifies_what_we_sign() -> None:
    secret = generate_secret()
    body = b'{"type":"incident.opened","data":{"x":"\xc3\xa9"}}'
    headers = signed_headers([secret], msg_id="evt_1", timestamp=int(time.time()), body=body)

    assert Webhook(secret).verify(body, headers) == {"type": "incident.opened", "data": {"x": "é"}}


def test_during_a_rotation_either_secret_verifies() -> None:
    old, new = generate_secret(), generate_secret()
    body = b'{"type":"webhook.test"}'
    headers = signed_headers([new, old], msg_id="evt_2", timestamp=int(time.time()), body=body)

    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(body, headers)
    Webhook(new).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(generate_secret()).verify(body, headers)


def test_a_changed_body_or_id_no_longer_verifies() -> None:
    secret = generate_secret()
    body = b'{"type":"incident.resolved"}'
    headers = signed_headers([secret], msg_id="evt_3", timestamp=int(time.time()), body=body)

    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body + b" ", headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, {**headers, "webhook-id": "evt_4"})

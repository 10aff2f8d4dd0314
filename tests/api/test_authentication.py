"""A key found active is remembered for a few seconds, so most requests need no lookup; only
active keys are remembered, and never past the bound (``app.api.authentication``)."""

from __future__ import annotations

import anyio

from app.api.authentication import Authenticator
from app.core.tenancy import Principal, hash_key
from app.db.engine import Database
from tests.factories import FakeClock, new_api_key, revoke_api_key
from tests.statements import statements_sent


def principal_of(authenticator: Authenticator, secret: str) -> Principal | None:
    return anyio.run(authenticator.principal, secret)


def test_a_key_is_looked_up_once_then_remembered_until_the_bound(
    db: Database, clock: FakeClock
) -> None:
    secret = new_api_key(db, tenant="acme", name="storefront")
    authenticator = Authenticator(db, remember_seconds=5, clock=clock)

    with statements_sent(db, containing="api_keys") as lookups:
        first = principal_of(authenticator, secret)
        clock.advance(seconds=4.9)
        again = principal_of(authenticator, secret)
        assert len(lookups) == 1
        clock.advance(seconds=0.1)
        after_the_bound = principal_of(authenticator, secret)
        assert len(lookups) == 2

    assert first is not None
    assert first.key_name == "storefront"
    assert again == first == after_the_bound


def test_a_revoked_key_stops_working_within_the_bound(db: Database, clock: FakeClock) -> None:
    secret = new_api_key(db, tenant="acme")
    authenticator = Authenticator(db, remember_seconds=5, clock=clock)
    assert principal_of(authenticator, secret) is not None

    revoke_api_key(db, secret)
    clock.advance(seconds=5)

    assert principal_of(authenticator, secret) is None


def test_unknown_and_revoked_keys_are_never_remembered(db: Database, clock: FakeClock) -> None:
    """A key that did not exist yet works the moment it is created; a stranger's guesses are
    each a lookup (the gate's failure throttle bounds those), never an entry in memory."""
    secret = new_api_key(db, tenant="acme")
    revoke_api_key(db, secret)
    authenticator = Authenticator(db, remember_seconds=5, clock=clock)

    with statements_sent(db, containing="api_keys") as lookups:
        assert principal_of(authenticator, secret) is None
        assert principal_of(authenticator, "rt_" + "x" * 43) is None
        assert principal_of(authenticator, "rt_" + "x" * 43) is None

    assert len(lookups) == 3
    assert authenticator.remembered(hash_key(secret)) is None


def test_zero_seconds_looks_every_request_up(db: Database, clock: FakeClock) -> None:
    secret = new_api_key(db, tenant="acme")
    authenticator = Authenticator(db, remember_seconds=0, clock=clock)

    with statements_sent(db, containing="api_keys") as lookups:
        principal_of(authenticator, secret)
        principal_of(authenticator, secret)

    assert len(lookups) == 2


def test_memory_holds_at_most_the_most_recently_used_keys(db: Database, clock: FakeClock) -> None:
    secrets = [new_api_key(db, tenant="acme", name=f"key-{n}") for n in range(3)]
    authenticator = Authenticator(db, remember_seconds=60, clock=clock, max_remembered=2)

    for secret in secrets:
        principal_of(authenticator, secret)

    assert authenticator.remembered(hash_key(secrets[0])) is None
    assert authenticator.remembered(hash_key(secrets[1])) is not None
    assert authenticator.remembered(hash_key(secrets[2])) is not None

"""Signing in: the right person, or a refusal that gives nothing away, throttled when guessed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlmodel import Session, func, select

from app.core.settings import Settings
from app.people.models import SignInFailure, User
from app.people.passwords import verify_password
from app.people.service import disable_user
from app.people.sign_in import SignInRefused, sign_in
from app.people.throttle import address_key
from tests.factories import START, FakeClock
from tests.people.conftest import PASSWORD, CountingHasher, add_person

OFFICE = "203.0.113.7"


def attempt(
    session: Session,
    settings: Settings,
    clock: FakeClock,
    *,
    email: str = "anna@acme.example",
    password: str = PASSWORD,
    address: str | None = OFFICE,
    tenant: str | None = None,
) -> User | SignInRefused:
    return sign_in(
        session,
        settings=settings,
        email=email,
        password=password,
        client_address=address,
        now=clock(),
        tenant=tenant,
    )


def outcome(result: User | SignInRefused) -> str:
    return "signed in" if isinstance(result, User) else result.reason


def test_the_right_password_signs_the_person_in(
    session: Session, people_settings: Settings, clock: FakeClock
) -> None:
    anna = add_person(session)

    assert attempt(session, people_settings, clock, email=" ANNA@acme.example") == anna


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("anna@acme.example", "not the password at all"),
        ("ben@acme.example", PASSWORD),  # nobody has this address
        ("not an address", PASSWORD),
    ],
)
def test_wrong_credentials_are_one_refusal_whatever_was_wrong(
    session: Session,
    people_settings: Settings,
    clock: FakeClock,
    hasher: CountingHasher,
    email: str,
    password: str,
) -> None:
    add_person(session)
    hasher.verifications = 0

    refused = attempt(session, people_settings, clock, email=email, password=password)

    assert refused == SignInRefused("bad_credentials")
    # an unknown e-mail costs the same hash check as a known one: the time tells nothing
    assert hasher.verifications == 1


@pytest.mark.parametrize("email", ["anna@acme.example", "ben@acme.example"])
def test_the_first_sign_in_of_a_process_costs_the_same_known_or_not(
    session: Session,
    people_settings: Settings,
    clock: FakeClock,
    hasher: CountingHasher,
    email: str,
) -> None:
    add_person(session)
    hasher.hashes = hasher.verifications = 0

    attempt(session, people_settings, clock, email=email, password="not the password at all")

    # the dummy hash is made on the first sign-in whoever it names, not on the first unknown
    assert (hasher.hashes, hasher.verifications) == (1, 1)


def test_a_disabled_person_cannot_sign_in_even_with_the_right_password(
    session: Session, people_settings: Settings, clock: FakeClock
) -> None:
    anna = add_person(session)
    disable_user(session, anna, now=START)

    assert attempt(session, people_settings, clock) == SignInRefused("bad_credentials")


def test_a_hash_with_old_parameters_is_redone_at_sign_in(
    session: Session, people_settings: Settings, clock: FakeClock
) -> None:
    anna = add_person(session)
    old = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1).hash(PASSWORD)
    anna.password_hash = old

    assert attempt(session, people_settings, clock) == anna

    assert anna.password_hash != old
    assert "m=8,t=1,p=1" in anna.password_hash  # the current hasher's parameters
    assert verify_password(anna.password_hash, PASSWORD)


def test_a_current_hash_is_left_alone(
    session: Session, people_settings: Settings, clock: FakeClock
) -> None:
    anna = add_person(session)
    before = anna.password_hash

    attempt(session, people_settings, clock)

    assert anna.password_hash == before


def test_an_account_guessed_at_is_refused_even_with_the_right_password_until_the_window_passes(
    session: Session, people_settings: Settings, clock: FakeClock
) -> None:
    anna = add_person(session)
    for minute in range(3):  # the limit is 3 in 15 minutes
        clock.now = START + timedelta(minutes=minute)
        guess = attempt(session, people_settings, clock, password="guess " * 3)
        assert outcome(guess) == "bad_credentials"

    clock.now = START + timedelta(minutes=5)
    refused = attempt(session, people_settings, clock)  # the right password, too late
    assert refused == SignInRefused("throttled", retry_after=timedelta(minutes=10))
    assert isinstance(refused, SignInRefused)
    assert refused.retry_after_seconds == 600

    # from another address, the account is still refused: it is the account being guessed
    assert outcome(attempt(session, people_settings, clock, address="198.51.100.9")) == "throttled"

    clock.now = START + timedelta(minutes=15)  # the first failure has left the window
    assert attempt(session, people_settings, clock) == anna


def test_a_throttled_attempt_is_not_counted_so_the_wait_does_not_grow(
    session: Session, people_settings: Settings, clock: FakeClock
) -> None:
    add_person(session)
    for _ in range(3):
        attempt(session, people_settings, clock, password="wrong password!")
    for _ in range(5):
        clock.advance(minutes=1)
        refused = attempt(session, people_settings, clock, password="wrong password!")
    assert refused == SignInRefused("throttled", retry_after=timedelta(minutes=10))


def test_one_address_guessing_many_accounts_is_throttled_across_them(
    session: Session, people_settings: Settings, clock: FakeClock
) -> None:
    add_person(session, email="zoe@acme.example", name="Zoe")
    for n in range(5):  # the address limit is 5; each account sees one failure
        attempt(session, people_settings, clock, email=f"user{n}@acme.example")
    clock.advance(minutes=2)

    refused = attempt(session, people_settings, clock, email="zoe@acme.example")
    assert refused == SignInRefused("throttled", retry_after=timedelta(minutes=13))

    # Zoe at home, on another address, is not held back by the office's guesser
    zoe = attempt(session, people_settings, clock, email="zoe@acme.example", address="192.0.2.1")
    assert isinstance(zoe, User)


def test_signing_in_clears_the_accounts_count_but_not_the_addresses(
    session: Session, people_settings: Settings, clock: FakeClock
) -> None:
    add_person(session)
    add_person(session, email="zoe@acme.example", name="Zoe")
    for _ in range(2):
        attempt(session, people_settings, clock, password="fumbled the keys")
    assert isinstance(attempt(session, people_settings, clock), User)
    for _ in range(2):  # two more fumbles: 2 again, not 4, for the account
        attempt(session, people_settings, clock, password="fumbled the keys")
    assert isinstance(attempt(session, people_settings, clock), User)

    # the address has 4 failures: one more from it, on any account, reaches its limit of 5
    attempt(session, people_settings, clock, email="zoe@acme.example", password="wrong zoe pw!")
    assert outcome(attempt(session, people_settings, clock)) == "throttled"


def test_an_ipv6_client_counts_by_its_64_and_a_mapped_ipv4_as_the_ipv4(
    session: Session, people_settings: Settings, clock: FakeClock
) -> None:
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:DB8:1:2:ffff::9")
    assert address_key("2001:db8:1:2::1") != address_key("2001:db8:1:3::1")
    assert address_key("::ffff:203.0.113.7") == "203.0.113.7"
    assert address_key(None) == "unknown"

    add_person(session)
    for n in range(5):
        attempt(session, people_settings, clock, email=f"u{n}@x.example", address=f"2001:db8::{n}")
    assert outcome(attempt(session, people_settings, clock, address="2001:db8::99")) == "throttled"


def test_failures_from_long_ago_are_dropped_from_the_table(
    session: Session, people_settings: Settings, clock: FakeClock
) -> None:
    attempt(session, people_settings, clock, email="a@x.example")
    clock.advance(minutes=20)
    attempt(session, people_settings, clock, email="b@x.example")

    count = session.exec(select(func.count()).select_from(SignInFailure)).one()
    assert count == 2  # b's account and address; a's two rows are gone


def test_one_e_mail_in_two_tenants_is_told_apart_by_its_password(
    session: Session, people_settings: Settings, clock: FakeClock
) -> None:
    in_acme = add_person(session, tenant="acme")
    in_globex = add_person(session, tenant="globex", password="the globex passphrase")

    assert attempt(session, people_settings, clock) == in_acme
    assert attempt(session, people_settings, clock, password="the globex passphrase") == in_globex


def test_the_same_password_in_two_tenants_asks_which_tenant(
    session: Session, people_settings: Settings, clock: FakeClock
) -> None:
    add_person(session, tenant="globex")
    in_acme = add_person(session, tenant="acme")

    assert attempt(session, people_settings, clock) == SignInRefused(
        "choose_tenant", tenants=("acme", "globex")
    )
    assert attempt(session, people_settings, clock, tenant="acme") == in_acme
    # naming a tenant the person is not in is simply wrong credentials
    add_person(session, email="ben@initech.example", tenant="initech", name="Ben")
    assert outcome(attempt(session, people_settings, clock, tenant="initech")) == "bad_credentials"

"""Desk sessions: a signed cookie that ends when idle, too old, tampered with, or when the
person is disabled or given a new password; and a CSRF token bound to the session."""

from __future__ import annotations

from datetime import timedelta

import pytest
from itsdangerous import URLSafeSerializer
from pydantic import SecretStr
from sqlmodel import Session

from app.core.settings import Settings
from app.core.tenancy import ensure_tenant
from app.people.service import disable_user, reset_password
from app.people.sessions import SessionTokens, current_user, resume, session_secret
from tests.factories import START, FakeClock
from tests.people.conftest import add_person


@pytest.fixture
def tokens(settings: Settings) -> SessionTokens:
    return SessionTokens.from_settings(settings)


def test_a_new_session_signs_its_person_in(
    session: Session, tokens: SessionTokens, clock: FakeClock
) -> None:
    anna = add_person(session)
    cookie = tokens.issue(anna, now=clock())

    assert current_user(session, tokens, cookie, now=clock()) == anna
    assert anna.password_hash not in cookie


@pytest.mark.parametrize("cookie", [None, "", "garbage", "a.b.c"])
def test_no_cookie_or_a_meaningless_one_is_nobody(
    session: Session, tokens: SessionTokens, clock: FakeClock, cookie: str | None
) -> None:
    assert current_user(session, tokens, cookie, now=clock()) is None


def test_a_session_unused_longer_than_the_idle_time_has_ended(
    session: Session, tokens: SessionTokens, clock: FakeClock
) -> None:
    anna = add_person(session)
    cookie = tokens.issue(anna, now=clock())

    clock.advance(minutes=480)  # RT_SESSION_IDLE_MINUTES's default: still in
    assert current_user(session, tokens, cookie, now=clock()) == anna
    clock.advance(seconds=1)
    assert current_user(session, tokens, cookie, now=clock()) is None


def test_using_a_session_keeps_it_alive_until_its_maximum_age(
    session: Session, tokens: SessionTokens, clock: FakeClock
) -> None:
    anna = add_person(session)
    cookie = tokens.issue(anna, now=clock())
    for _ in range(6 * 7):  # every four hours, for a week: never idle for long
        clock.advance(hours=4)
        signed_in = resume(session, tokens, cookie, now=clock())
        assert signed_in is not None, clock()
        cookie = tokens.touch(signed_in.claims, now=clock())

    assert clock() - START == timedelta(hours=168)  # RT_SESSION_MAX_HOURS's default
    clock.advance(seconds=1)
    assert current_user(session, tokens, cookie, now=clock()) is None


def test_the_idle_time_is_a_setting(session: Session, settings: Settings, clock: FakeClock) -> None:
    anna = add_person(session)
    tokens = SessionTokens.from_settings(settings.model_copy(update={"session_idle_minutes": 5}))
    cookie = tokens.issue(anna, now=clock())

    clock.advance(minutes=6)
    assert current_user(session, tokens, cookie, now=clock()) is None


def test_disabling_a_person_ends_their_sessions_at_once(
    session: Session, tokens: SessionTokens, clock: FakeClock
) -> None:
    anna = add_person(session)
    on_laptop, on_tablet = tokens.issue(anna, now=clock()), tokens.issue(anna, now=clock())

    disable_user(session, anna, now=clock())

    assert current_user(session, tokens, on_laptop, now=clock()) is None
    assert current_user(session, tokens, on_tablet, now=clock()) is None
    # enabled again later, the old cookies stay dead: the epoch has moved on
    anna.disabled_at = None
    assert current_user(session, tokens, on_laptop, now=clock()) is None


def test_a_password_reset_ends_every_older_session(
    session: Session, tokens: SessionTokens, clock: FakeClock
) -> None:
    anna = add_person(session)
    before = tokens.issue(anna, now=clock())

    reset_password(
        session, anna, password="a brand new passphrase", password_min_length=12, now=clock()
    )
    after = tokens.issue(anna, now=clock())

    assert current_user(session, tokens, before, now=clock()) is None
    assert current_user(session, tokens, after, now=clock()) == anna


# itsdangerous's own encoding (URL-safe base64 of JSON, zlib-compressed when shorter), with
# whatever key: only the payload part is used, glued to the original signature
_CODEC = URLSafeSerializer(b"unused")


def _payload(cookie: str) -> dict[str, object]:
    payload, _signature = cookie.rsplit(".", 1)
    decoded: dict[str, object] = _CODEC.load_payload(payload.encode())
    return decoded


def _with_payload(cookie: str, payload: dict[str, object]) -> str:
    return _CODEC.dump_payload(payload).decode() + "." + cookie.rsplit(".", 1)[1]


def test_a_cookie_whose_payload_was_changed_is_nobody(
    session: Session, tokens: SessionTokens, clock: FakeClock
) -> None:
    anna = add_person(session)
    ben = add_person(session, email="ben@acme.example", name="Ben", role="admin")
    cookie = tokens.issue(anna, now=clock())
    assert _payload(cookie)["u"] == str(anna.id)  # the test edits what it thinks it edits

    as_ben = _with_payload(cookie, {**_payload(cookie), "u": str(ben.id)})
    never_idle = _with_payload(cookie, {**_payload(cookie), "l": 2_000_000_000})
    # a letter inside the signature: the last base64 letter carries two unused bits, so
    # changing only those ("A" for "B") decodes to the same signature
    body, signature = cookie.rsplit(".", 1)
    flipped = f"{body}.{signature[:5]}{'A' if signature[5] != 'A' else 'Q'}{signature[6:]}"

    for forged in (as_ben, never_idle, flipped):
        assert current_user(session, tokens, forged, now=clock()) is None


def test_a_cookie_signed_with_another_secret_is_nobody(
    session: Session, settings: Settings, tokens: SessionTokens, clock: FakeClock
) -> None:
    anna = add_person(session)
    elsewhere = SessionTokens.from_settings(
        settings.model_copy(update={"session_secret": SecretStr("another deployment's secret")})
    )

    assert current_user(session, tokens, elsewhere.issue(anna, now=clock()), now=clock()) is None


def test_a_cookie_of_a_person_moved_to_another_tenant_is_nobody(
    session: Session, tokens: SessionTokens, clock: FakeClock
) -> None:
    anna = add_person(session)
    cookie = tokens.issue(anna, now=clock())
    anna.tenant_id = ensure_tenant(session, slug="globex").id

    assert current_user(session, tokens, cookie, now=clock()) is None


def test_the_csrf_token_belongs_to_one_session_and_survives_its_refreshes(
    session: Session, tokens: SessionTokens, clock: FakeClock
) -> None:
    anna = add_person(session)
    first = resume(session, tokens, tokens.issue(anna, now=clock()), now=clock())
    other = resume(session, tokens, tokens.issue(anna, now=clock()), now=clock())
    assert first is not None
    assert other is not None
    token = tokens.csrf_token(first.claims)

    clock.advance(minutes=10)
    refreshed = resume(session, tokens, tokens.touch(first.claims, now=clock()), now=clock())
    assert refreshed is not None

    assert tokens.csrf_ok(refreshed.claims, token)
    assert not tokens.csrf_ok(other.claims, token)  # another session of the same person
    assert not tokens.csrf_ok(first.claims, token[:-1] + ("0" if token[-1] != "0" else "1"))
    assert not tokens.csrf_ok(first.claims, None)
    assert not tokens.csrf_ok(first.claims, "")


def test_the_session_secret_is_its_setting_or_derived_from_the_secret_key(
    settings: Settings,
) -> None:
    derived = session_secret(settings)
    assert derived != settings.resolved_secret_key()  # a key of its own, not the page-token one
    assert session_secret(settings) == derived  # stable: sessions survive a restart
    other_key = settings.model_copy(update={"secret_key": SecretStr("x" * 40)})
    assert session_secret(other_key) != derived

    explicit = settings.model_copy(update={"session_secret": SecretStr("the sessions' own key")})
    assert session_secret(explicit) == b"the sessions' own key"


def test_without_any_secret_set_the_generated_key_file_keeps_sessions_across_restarts(
    settings: Settings,
) -> None:
    unset = settings.model_copy(update={"secret_key": None})
    first = session_secret(unset)

    assert session_secret(unset.model_copy()) == first  # read back from RT_DATA_DIR/secret_key
    assert (unset.data_dir / "secret_key").exists()

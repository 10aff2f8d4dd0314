"""The desk's session cookie and CSRF tokens.

The cookie holds a signed (not encrypted) JSON payload: user id, tenant id, the user's
``session_epoch``, a random session id, and when it was issued and last used. Nothing is kept
on the server; instead every request checks the payload against the user's row, so disabling
a person or resetting a password (both bump the epoch) ends every session at once. A session
ends after ``RT_SESSION_IDLE_MINUTES`` unused or ``RT_SESSION_MAX_HOURS`` after sign-in; the
desk re-issues the cookie (``touch``) as it is used.

Signing uses itsdangerous with HMAC-SHA256 and a salt of its own; the CSRF token is an HMAC of
the session id under a key derived for that purpose only, so it is the same on every form of
one session and worthless in another.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from sqlmodel import Session

from app.core.settings import Settings
from app.people.models import User

COOKIE_NAME = "rt_session"
CSRF_FIELD = "csrf_token"
_DERIVE_LABEL = b"resolution-tracker desk sessions v1"


@dataclass(frozen=True, slots=True)
class SessionClaims:
    user_id: uuid.UUID
    tenant_id: uuid.UUID
    epoch: int
    session_id: str  # random, kept for the session's life: the CSRF token derives from it
    issued_at: datetime
    last_seen: datetime


@dataclass(frozen=True, slots=True)
class SignedIn:
    user: User
    claims: SessionClaims


def session_secret(settings: Settings) -> bytes:
    """RT_SESSION_SECRET, else a key derived from RT_SECRET_KEY (or the generated one)."""
    if settings.session_secret is not None:
        return settings.session_secret.get_secret_value().encode()
    return hmac.new(settings.resolved_secret_key(), _DERIVE_LABEL, hashlib.sha256).digest()


class SessionTokens:
    """Issues and reads session cookies, and the CSRF tokens of their sessions."""

    def __init__(self, secret: bytes, *, idle: timedelta, max_age: timedelta) -> None:
        self._serializer = URLSafeSerializer(
            secret, salt="desk-session", signer_kwargs={"digest_method": hashlib.sha256}
        )
        self._csrf_key = hmac.new(secret, b"desk-csrf", hashlib.sha256).digest()
        self.idle = idle
        self.max_age = max_age

    @classmethod
    def from_settings(cls, settings: Settings) -> SessionTokens:
        return cls(
            session_secret(settings),
            idle=timedelta(minutes=settings.session_idle_minutes),
            max_age=timedelta(hours=settings.session_max_hours),
        )

    def issue(self, user: User, *, now: datetime) -> str:
        """The cookie value of a new session for ``user``."""
        claims = SessionClaims(
            user_id=user.id,
            tenant_id=user.tenant_id,
            epoch=user.session_epoch,
            session_id=secrets.token_urlsafe(16),
            issued_at=now,
            last_seen=now,
        )
        return self._dump(claims)

    def touch(self, claims: SessionClaims, *, now: datetime) -> str:
        """The same session, used now: its idle time starts again."""
        return self._dump(replace(claims, last_seen=now))

    def read(self, token: str, *, now: datetime) -> SessionClaims | None:
        """The claims of a well-signed session that has not expired; None otherwise."""
        try:
            payload = self._serializer.loads(token)
        except BadSignature:
            return None
        claims = _claims(payload)
        if claims is None:
            return None
        if now - claims.last_seen > self.idle or now - claims.issued_at > self.max_age:
            return None
        return claims

    def csrf_token(self, claims: SessionClaims) -> str:
        return hmac.new(self._csrf_key, claims.session_id.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, claims: SessionClaims, sent: str | None) -> bool:
        """Whether a form's token belongs to this session (compared in constant time)."""
        return sent is not None and hmac.compare_digest(self.csrf_token(claims), sent)

    def _dump(self, claims: SessionClaims) -> str:
        payload = {
            "u": str(claims.user_id),
            "t": str(claims.tenant_id),
            "e": claims.epoch,
            "s": claims.session_id,
            "i": int(claims.issued_at.timestamp()),
            "l": int(claims.last_seen.timestamp()),
        }
        return self._serializer.dumps(payload)


def resume(
    session: Session, tokens: SessionTokens, token: str | None, *, now: datetime
) -> SignedIn | None:
    """The person a session cookie signs in, with its claims; None if it has ended.

    Ended: a bad signature, idle too long or too old, a person gone, disabled, or whose
    epoch moved on (disabled and enabled again, or a password reset).
    """
    if not token:
        return None
    claims = tokens.read(token, now=now)
    if claims is None:
        return None
    user = session.get(User, claims.user_id)
    if (
        user is None
        or user.tenant_id != claims.tenant_id
        or not user.is_active
        or user.session_epoch != claims.epoch
    ):
        return None
    return SignedIn(user=user, claims=claims)


def current_user(
    session: Session, tokens: SessionTokens, token: str | None, *, now: datetime
) -> User | None:
    signed_in = resume(session, tokens, token, now=now)
    return signed_in.user if signed_in is not None else None


def _claims(payload: Any) -> SessionClaims | None:
    """The payload's claims if it has the shape we sign; anything else is no session."""
    try:
        return SessionClaims(
            user_id=uuid.UUID(payload["u"]),
            tenant_id=uuid.UUID(payload["t"]),
            epoch=int(payload["e"]),
            session_id=str(payload["s"]),
            issued_at=datetime.fromtimestamp(int(payload["i"]), UTC),
            last_seen=datetime.fromtimestamp(int(payload["l"]), UTC),
        )
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        return None

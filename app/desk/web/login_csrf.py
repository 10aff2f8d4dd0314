"""The sign-in form's CSRF token, before anyone has a session: a signed double submit.

The browser gets a random nonce in an HttpOnly cookie scoped to the sign-in page; the form
carries an HMAC of that nonce. A forged cross-site form has neither the cookie's value nor the
key, so its token cannot match, and a stolen token is worthless with another browser's cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from app.core.settings import Settings
from app.people.sessions import session_secret

COOKIE_NAME = "rt_signin_nonce"
COOKIE_PATH = "/desk/login"


def _key(settings: Settings) -> bytes:
    return hmac.new(session_secret(settings), b"desk-sign-in-csrf", hashlib.sha256).digest()


def new_nonce() -> str:
    return secrets.token_urlsafe(24)


def token_for(settings: Settings, nonce: str) -> str:
    return hmac.new(_key(settings), nonce.encode(), hashlib.sha256).hexdigest()


def token_ok(settings: Settings, nonce: str | None, sent: str | None) -> bool:
    if not nonce or not sent:
        return False
    return hmac.compare_digest(token_for(settings, nonce), sent)

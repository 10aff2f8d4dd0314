"""Signing in: e-mail and password to a person, or a refusal that says only what it may.

A refusal is returned, not raised, so the failure it recorded is committed with the request.
Wrong password, unknown e-mail and disabled account all read the same ("bad_credentials") and
take about the same time (an unknown e-mail is checked against a dummy hash), so the answer
does not tell whether an address has an account. Throttling is checked first: a throttled
attempt is refused without looking at the password, and is not itself counted.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from sqlmodel import Session

from app.core.errors import ValidationFailed
from app.core.models import Tenant
from app.core.settings import Settings
from app.people import throttle
from app.people.models import User
from app.people.passwords import (
    hash_password,
    needs_rehash,
    prepare_dummy,
    verify_against_nobody,
    verify_password,
)
from app.people.service import normalize_email, users_with_email

Reason = Literal["bad_credentials", "throttled", "choose_tenant"]


@dataclass(frozen=True, slots=True)
class SignInRefused:
    """Why a sign-in failed. ``retry_after`` only when throttled; ``tenants`` only when the
    right password fits people of several tenants and none was named."""

    reason: Reason
    retry_after: timedelta | None = None
    tenants: tuple[str, ...] = field(default=())

    @property
    def retry_after_seconds(self) -> int | None:
        """Whole seconds, rounded up, for a ``Retry-After`` header."""
        if self.retry_after is None:
            return None
        return max(1, math.ceil(self.retry_after.total_seconds()))


def sign_in(
    session: Session,
    *,
    settings: Settings,
    email: str,
    password: str,
    client_address: str | None,
    now: datetime,
    tenant: str | None = None,
) -> User | SignInRefused:
    """The person these credentials belong to, or why not.

    ``tenant`` (a slug) is needed only when one e-mail has accounts in several tenants with
    the same password; otherwise the password tells them apart.
    """
    prepare_dummy()
    normalized = _normalized(email)
    account = throttle.account_scope(
        normalized or email, limit=settings.sign_in_failures_per_15_minutes
    )
    address = throttle.address_scope(
        client_address, limit=settings.sign_in_address_failures_per_15_minutes
    )
    wait = throttle.retry_after(session, [account, address], now=now)
    if wait is not None:
        return SignInRefused("throttled", retry_after=wait)

    matches = _matching(session, normalized, password, tenant=tenant)
    active = [(user, slug) for user, slug in matches if user.is_active]
    if len(active) != 1:
        if len(active) > 1:  # the password is right: naming the tenants tells nothing new
            return SignInRefused("choose_tenant", tenants=tuple(sorted(s for _, s in active)))
        throttle.record_failure(session, [account, address], now=now)
        return SignInRefused("bad_credentials")

    user = active[0][0]
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        session.add(user)
    throttle.forget(session, account)
    session.flush()
    return user


def _normalized(email: str) -> str | None:
    try:
        return normalize_email(email)
    except ValidationFailed:
        return None  # no account has it; the attempt still costs a hash and counts


def _matching(
    session: Session, email: str | None, password: str, *, tenant: str | None
) -> list[tuple[User, str]]:
    """The people (with their tenant's slug) this e-mail names whose password this is."""
    candidates = users_with_email(session, email) if email is not None else []
    slugs = {t.id: t.slug for t in _tenants(session, {u.tenant_id for u in candidates})}
    if tenant is not None:
        candidates = [u for u in candidates if slugs.get(u.tenant_id) == tenant]
    if not candidates:
        verify_against_nobody(password)
        return []
    # every candidate is checked, disabled or not: the time does not tell them apart
    return [
        (u, slugs[u.tenant_id]) for u in candidates if verify_password(u.password_hash, password)
    ]


def _tenants(session: Session, ids: set[uuid.UUID]) -> list[Tenant]:
    return [t for i in ids if (t := session.get(Tenant, i)) is not None]

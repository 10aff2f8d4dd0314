"""Sign-in throttling: failures counted per account and per client address, in the database.

A scope (an e-mail, or a client address) with ``limit`` failures in the last 15 minutes is
refused, even with the right password, until enough of those failures are 15 minutes old to
bring it under the limit. The rows live in the database so every replica counts the same
failures. Two replicas checking the same scope at the same moment may each let one more
attempt through: a bound of a few guesses, not a hole.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import Session, col, select

from app.people.models import SignInFailure

WINDOW = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class Scope:
    """One thing failures are counted against, and how many it may have in the window."""

    key: str  # SHA-256 of "account:<e-mail>" or "address:<address>"
    limit: int


def account_scope(email: str, *, limit: int) -> Scope:
    return Scope(_digest(f"account:{email.strip().lower()}"), limit)


def address_scope(client_address: str | None, *, limit: int) -> Scope:
    return Scope(_digest(f"address:{address_key(client_address)}"), limit)


def address_key(client_address: str | None) -> str:
    """An IPv4 address as it is; an IPv6 client by its /64 (one host usually holds all of it)."""
    raw = (client_address or "unknown").strip().lower()
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return raw
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def retry_after(session: Session, scopes: list[Scope], *, now: datetime) -> timedelta | None:
    """How long until every scope is under its limit again; None when they all are now."""
    waits = [wait for scope in scopes if (wait := _wait(session, scope, now=now)) is not None]
    return max(waits) if waits else None


def record_failure(session: Session, scopes: list[Scope], *, now: datetime) -> None:
    """Count one failure against each scope, and drop failures that no longer count."""
    session.execute(delete(SignInFailure).where(col(SignInFailure.failed_at) <= now - WINDOW))
    for scope in scopes:
        session.add(SignInFailure(scope=scope.key, failed_at=now))
    session.flush()


def forget(session: Session, scope: Scope) -> None:
    """A successful sign-in clears its account's count (never its address's)."""
    session.execute(delete(SignInFailure).where(col(SignInFailure.scope) == scope.key))


def _wait(session: Session, scope: Scope, *, now: datetime) -> timedelta | None:
    times = list(
        session.exec(
            select(SignInFailure.failed_at)
            .where(SignInFailure.scope == scope.key, col(SignInFailure.failed_at) > now - WINDOW)
            .order_by(col(SignInFailure.failed_at))
        )
    )
    if len(times) < scope.limit:
        return None
    # under the limit again once this one (and every older one) is out of the window
    return times[len(times) - scope.limit] + WINDOW - now


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()

"""The development supervisor ``python3 dev.py serve`` asks for (RT_BOOTSTRAP_SUPERVISOR_*).

Like the bootstrap API key: at start-up the person exists in tenant ``default``, enabled, a
supervisor at least, with the configured password. Replicas starting together on a new
database all run this; the one that loses the race for a row finds it on its second pass.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from app.core.errors import Conflict
from app.core.tenancy import ensure_tenant
from app.people.models import User
from app.people.passwords import verify_password
from app.people.service import create_user, normalize_email, reset_password, users_with_email

DISPLAY_NAME = "Development supervisor"


def ensure_bootstrap_supervisor(
    session: Session, *, email: str, password: str, password_min_length: int, now: datetime
) -> User:
    try:
        with session.begin_nested():
            return _ensure(
                session, email=email, password=password, min_length=password_min_length, now=now
            )
    except (IntegrityError, Conflict):
        return _ensure(
            session, email=email, password=password, min_length=password_min_length, now=now
        )


def _ensure(session: Session, *, email: str, password: str, min_length: int, now: datetime) -> User:
    tenant = ensure_tenant(session, slug="default", name="Default tenant")
    email = normalize_email(email)
    user = next((u for u in users_with_email(session, email) if u.tenant_id == tenant.id), None)
    if user is None:
        return create_user(
            session,
            tenant=tenant,
            email=email,
            display_name=DISPLAY_NAME,
            role="supervisor",
            password=password,
            password_min_length=min_length,
            now=now,
        )
    user.disabled_at = None
    if user.role == "agent":
        user.role = "supervisor"
    if not verify_password(user.password_hash, password):
        reset_password(session, user, password=password, password_min_length=min_length, now=now)
    session.add(user)
    session.flush()
    return user

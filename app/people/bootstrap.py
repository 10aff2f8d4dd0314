"""The development supervisor ``python3 dev.py serve`` asks for (RT_BOOTSTRAP_SUPERVISOR_*).

Like the bootstrap API key: the setting creates the person in tenant ``default`` as a
supervisor with the configured password, and never changes them afterwards. Someone an admin
disabled stays disabled, and a password reset through the CLI is not undone by the next
restart (the start-up log says when the configured person is disabled). Replicas starting
together on a new database all run this; the one that loses the race for a row finds it on
its second pass.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from app.core.errors import Conflict
from app.core.tenancy import ensure_tenant
from app.people.models import User
from app.people.service import create_user, normalize_email, users_with_email

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
    return user

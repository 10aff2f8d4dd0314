"""A tenant's people: create, list, find, change a role, disable, reset a password. Flushes,
never commits.

Errors: ``ValidationFailed`` (a bad e-mail, name, role or password), ``Conflict`` (the e-mail
is taken in that tenant), ``NotFound`` (no such tenant or person) and ``AmbiguousUser`` (an
e-mail of several tenants, given without one).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import datetime

from email_validator import EmailNotValidError, validate_email
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.core.errors import Conflict, NotFound, ValidationFailed
from app.core.models import Tenant
from app.people.models import User
from app.people.passwords import check_new_password, hash_password
from app.people.roles import ROLES

NAME_MAX = 200
# control characters, and bidirectional overrides and isolates: a name shown in every timeline
# must read as it is ("Anna\u202eRT" would show reversed)
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


class AmbiguousUser(Conflict):
    """The e-mail belongs to people of several tenants and no tenant was named."""

    def __init__(self, email: str, tenants: Sequence[str]) -> None:
        super().__init__(
            f"{email} is a user of several tenants ({', '.join(tenants)}): name the tenant",
            tenants=list(tenants),
        )
        self.tenants = list(tenants)


def normalize_email(raw: str) -> str:
    """The address as stored and compared: checked by email-validator, then lower-cased."""
    try:
        checked = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationFailed("email", f"{raw.strip()!r} is not an e-mail address: {exc}") from exc
    return checked.normalized.lower()


def tenant_named(session: Session, slug: str) -> Tenant:
    tenant = session.exec(select(Tenant).where(Tenant.slug == slug)).first()
    if tenant is None:
        raise NotFound(f"there is no tenant {slug!r} (create it with: tenants create {slug})")
    return tenant


def create_user(
    session: Session,
    *,
    tenant: Tenant,
    email: str,
    display_name: str,
    role: str,
    password: str,
    password_min_length: int,
    now: datetime,
) -> User:
    email = normalize_email(email)
    display_name = _display_name(display_name)
    _check_role(role)
    check_new_password(password, email=email, min_length=password_min_length)
    if _in_tenant(session, tenant_id=tenant.id, email=email) is not None:
        raise Conflict(f"{email} is already a user of tenant {tenant.slug}")
    user = User(
        tenant_id=tenant.id,
        email=email,
        display_name=display_name,
        role=role,
        password_hash=hash_password(password),
        created_at=now,
        password_changed_at=now,
    )
    try:
        with session.begin_nested():  # a concurrent create of the same e-mail loses here
            session.add(user)
    except IntegrityError as exc:
        raise Conflict(f"{email} is already a user of tenant {tenant.slug}") from exc
    return user


def list_users(session: Session, *, tenant: Tenant) -> list[User]:
    return list(
        session.exec(select(User).where(User.tenant_id == tenant.id).order_by(col(User.email)))
    )


def find_user(session: Session, *, email: str, tenant_slug: str | None = None) -> User:
    """The person with this e-mail, in the tenant named or in the only tenant that has it."""
    email = normalize_email(email)
    if tenant_slug is not None:
        user = _in_tenant(session, tenant_id=tenant_named(session, tenant_slug).id, email=email)
        if user is None:
            raise NotFound(f"{email} is not a user of tenant {tenant_slug}")
        return user
    found = list(
        session.exec(
            select(User, Tenant.slug)
            .join(Tenant, col(Tenant.id) == col(User.tenant_id))
            .where(User.email == email)
            .order_by(col(Tenant.slug))
        )
    )
    if not found:
        raise NotFound(f"{email} is not a user of any tenant")
    if len(found) > 1:
        raise AmbiguousUser(email, [slug for _, slug in found])
    return found[0][0]


def disable_user(session: Session, user: User, *, now: datetime) -> User:
    """Disabled at once: sign-in is refused and every open session ends (a new epoch)."""
    if user.disabled_at is None:
        user.disabled_at = now
        user.session_epoch += 1
        session.add(user)
        session.flush()
    return user


def change_role(session: Session, user: User, *, role: str) -> User:
    """A new role, in force from the person's next request (each request reads the role)."""
    _check_role(role)
    if user.role != role:
        user.role = role
        session.add(user)
        session.flush()
    return user


def reset_password(
    session: Session, user: User, *, password: str, password_min_length: int, now: datetime
) -> User:
    """A new password; every session signed in with the old one ends."""
    check_new_password(password, email=user.email, min_length=password_min_length)
    user.password_hash = hash_password(password)
    user.password_changed_at = now
    user.session_epoch += 1
    session.add(user)
    session.flush()
    return user


def users_with_email(session: Session, email: str) -> list[User]:
    """Every person with this (normalized) e-mail, in any tenant, oldest first."""
    return list(
        session.exec(select(User).where(User.email == email).order_by(col(User.created_at)))
    )


def _in_tenant(session: Session, *, tenant_id: uuid.UUID, email: str) -> User | None:
    return session.exec(
        select(User).where(User.tenant_id == tenant_id, User.email == email)
    ).first()


def _display_name(raw: str) -> str:
    name = " ".join(_UNPRINTABLE.sub(" ", raw).split())
    if not name:
        raise ValidationFailed("name", "must not be empty")
    if len(name) > NAME_MAX:
        raise ValidationFailed("name", f"must be at most {NAME_MAX} characters")
    return name


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ValidationFailed("role", f"{role!r} is not a role; choose from {list(ROLES)}")

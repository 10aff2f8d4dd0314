"""Who the desk says did something: the one place a signed-in person becomes an actor.

Every desk action passes ``desk_actor(user)`` to the service it calls. Today a timeline entry
names its actor by a display name; when actors become structured (a person, an API key or
the system) only this module changes.

The compensation proposals of the workflow still record the API key that proposed or decided
(``proposed_by_key_id``: the four-eyes rule compares keys). Until they record people, a person
acts there through ``desk_principal``: a key of their own that was revoked the moment it was
made, so it never authenticates anything, and that only holds their place in a proposal.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlmodel import Session, select

from app.core.models import ApiKey, Tenant
from app.core.tenancy import Principal
from app.people.models import User
from app.people.roles import Permission, can

_KEY_NAME_MAX = 100


def desk_actor(user: User) -> str:
    """The actor a desk action is recorded under."""
    return user.display_name


def desk_principal(session: Session, user: User, *, now: datetime) -> Principal:
    """The person as the workflow's approvals know callers (see the module docstring)."""
    tenant = session.get(Tenant, user.tenant_id)
    assert tenant is not None  # a user's tenant is a foreign key
    key_hash = hashlib.sha256(f"desk-person:{user.id}".encode()).hexdigest()
    key = session.exec(select(ApiKey).where(ApiKey.key_hash == key_hash)).first()
    if key is None:
        key = ApiKey(
            tenant_id=user.tenant_id,
            name=f"desk: {user.display_name}"[:_KEY_NAME_MAX],
            prefix="desk",
            last4="user",
            key_hash=key_hash,
            scopes="read",
            created_at=now,
            revoked_at=now,  # never authenticates: authenticate() reads unrevoked keys only
        )
        session.add(key)
        session.flush()
    scopes = {"read", "incidents:write"}
    if can(user.role, Permission.APPROVE_COMPENSATION):
        scopes.add("incidents:approve")
    return Principal(
        tenant_id=tenant.id,
        tenant_slug=tenant.slug,
        api_key_id=key.id,
        key_name=desk_actor(user),
        key_hash=key_hash,
        scopes=frozenset(scopes),
    )

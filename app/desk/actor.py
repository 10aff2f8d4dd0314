"""Who the desk says did something: the one place a signed-in person becomes an actor.

Every desk action passes ``desk_actor(user)`` to the service it calls, so the API's timeline,
messages, evidence, claims and proposals name the person (``{"type": "user", ...}``), and the
four-eyes rule on compensation compares people as it compares API keys.
"""

from __future__ import annotations

from sqlmodel import Session

from app.core.actors import Actor
from app.core.models import Tenant
from app.people.models import User


def desk_actor(user: User) -> Actor:
    """The actor a desk action is recorded under."""
    return Actor.user(user)


def tenant_slug(session: Session, user: User) -> str:
    """The person's tenant's slug (proposals name the tenant's approval threshold by it)."""
    tenant = session.get(Tenant, user.tenant_id)
    assert tenant is not None  # a user's tenant is a foreign key
    return tenant.slug
